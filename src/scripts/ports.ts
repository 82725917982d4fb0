import type { RepoConfig } from '../config.js';
import type { ModalForm, Reply, ThreadRef } from '../jobs/ports.js';

export type { ModalField, ModalForm } from '../jobs/ports.js';

/** A form that is open in front of the person; its fields can still change. */
export interface OpenedModal {
  update(form: ModalForm): Promise<void>;
}

/**
 * Opens a modal for the person who clicked (src/slack/ implements it with views.open and
 * views.update). A click's trigger is short-lived, so `open` comes first and anything slow
 * goes into `update` afterwards; an opener that cannot update returns nothing.
 */
export interface ModalOpener {
  open(triggerId: string, form: ModalForm): Promise<OpenedModal | undefined>;
}

import type { ScriptRecord } from './script-store.js';

/** Opens a pull request that adds the script's file to the repository. Implemented by src/forge/. */
export interface ScriptProposer {
  propose(
    repo: RepoConfig & { defaultBranch: string },
    script: ScriptRecord & { file: { path: string; content: string } },
    userId: string,
    thread: ThreadRef,
  ): Promise<Reply>;
}

/** Posts into a thread (button and form paths have no job to reply through). Implemented by src/slack/. */
export interface ThreadReplier {
  reply(thread: ThreadRef, reply: Reply): Promise<unknown>;
}

/** The repository a thread works on (as the agent would pick it), with its default branch; undefined when unclear. */
export type ResolveRepo = (
  channel: string,
  threadTs: string,
) =>
  | (RepoConfig & { defaultBranch: string })
  | undefined
  | Promise<(RepoConfig & { defaultBranch: string }) | undefined>;
