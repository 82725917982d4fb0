import type { RepoConfig } from '../config.js';
import type { Reply, ThreadRef } from '../jobs/ports.js';
import type { ScriptRecord } from './script-store.js';

/** One text input of a modal form. */
export interface ModalField {
  id: string;
  label: string;
  initial: string;
  multiline: boolean;
  optional?: boolean;
}

/** A form described without any Slack wire format; src/slack/ turns it into views.open. */
export interface ModalForm {
  callbackId: string;
  title: string;
  submitLabel?: string;
  fields: ModalField[];
  /** Returned untouched with the submission (IncomingViewSubmission.privateMetadata). */
  privateMetadata: string;
}

/** Opens a modal for the person who clicked. Implemented by src/slack/ (views.open). */
export interface ModalOpener {
  open(triggerId: string, form: ModalForm): Promise<void>;
}

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
