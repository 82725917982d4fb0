import { z } from 'zod';

/**
 * The port through which a thread's worktree outlives the process that made it (#14): a
 * worktree on local disk is a cache; what a thread is lives in the database, so any process
 * can rebuild it and continue. Implemented by src/storage's SqlThreadWorkspaceStore.
 */
export interface ThreadState {
  repo: string;
  threadKey: string;
  branch: string;
  baseCommit: string;
  head: string;
  /** A git bundle of baseCommit..head made by host git from the thread repository (base64), or null. */
  commits: string | null;
  /**
   * The uncommitted working change as the sandbox exported it: base64 of a binary patch against
   * `head`, '' when clean, or an `omitted:` note when it could not be kept (too large, unreadable).
   * Data only: it is applied inside the sandbox and never read by host git.
   */
  patch: string;
  /** The process that saved the state (it holds the worktree on its own disk). */
  holder: string | null;
}

export interface StoredThreadState extends ThreadState {
  /** Grows with every save of the thread's row, whichever process saves it. */
  updatedAt: number;
}

export interface ThreadStateStore {
  load(repo: string, threadKey: string): Promise<StoredThreadState | undefined>;
  /** Who saved the thread last, and when: the cheap look before loading the whole state. */
  stamp(repo: string, threadKey: string): Promise<ThreadStamp | undefined>;
  /** Returns the row's new `updatedAt`. */
  save(state: ThreadState): Promise<number>;
}

export type ThreadStamp = Pick<StoredThreadState, 'updatedAt' | 'holder'>;

/**
 * What `acquire` could give back of the thread's earlier state: 'ok' (the worktree as the
 * thread left it, from local disk or rebuilt from the database), 'fresh' (a thread with
 * nothing to restore) or 'failed' (there was a state but its uncommitted change, or all of
 * it, could not be restored: the user should be told).
 */
export type RestoreOutcome = 'ok' | 'fresh' | 'failed';

/** Base64 never holds a colon, so a note can never be mistaken for a patch. */
const omittedPrefix = 'omitted:';

export function omittedPatch(reason: string): string {
  return `${omittedPrefix}${reason.replace(/\s+/g, ' ').slice(0, 300)}`;
}

/** Why the saved patch was not kept, or undefined when it is a patch (or clean). */
export function patchOmission(patch: string): string | undefined {
  return patch.startsWith(omittedPrefix) ? patch.slice(omittedPrefix.length) : undefined;
}

const sha = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/);
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

/**
 * A row read back is checked before any of it reaches git: full object names only, a branch
 * git will take (checked again with check-ref-format), base64 for the bundle and the patch.
 */
export const threadStateSchema = z.object({
  branch: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._/-]+$/)
    .refine((name) => !name.startsWith('-') && !name.includes('..')),
  baseCommit: sha,
  head: sha,
  commits: base64.nullable(),
  patch: z.union([base64, z.string().startsWith(omittedPrefix)]),
});
