import type { RepoConfig } from '../config.js';
import type { Reply, ThreadRef } from '../jobs/ports.js';

export type { ModalField, ModalForm, ModalOpener } from '../jobs/ports.js';

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
