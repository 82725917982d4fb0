import type { ImportPolicy, StagedChange } from './change-import.js';
import type { RestoreOutcome } from './thread-state.js';

/**
 * The port the agent works through (declared for src/agent/, implemented here):
 * one worktree per Slack thread, commands run inside the sandbox.
 */
export interface CommandResult {
  exitCode: number | null; // null when killed
  signal: string | null;
  stdout: string; // already capped (head + tail kept, cut marked "… [N bytes cut] …")
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  sandboxViolation?: string; // human sentence when the sandbox blocked something (e.g. network to a domain not allowed, write outside the worktree)
  /** A plain sentence when the command was stopped by a limit (timeout, cancel, output, file size, memory). */
  limitNote?: string;
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  stdin?: string;
  cwd?: string /* relative to root, confined */;
  argv?: string[] /* extra positional args passed safely */;
  /** Domains this one command may reach beyond the process-wide allowlist (a writer's grant). */
  extraDomains?: string[];
}

export type { ChangedFile, ImportPolicy, StagedChange } from './change-import.js';
export type { RestoreOutcome, StoredThreadState, ThreadState, ThreadStateStore } from './thread-state.js';

export interface Workspace {
  readonly root: string; // absolute worktree path
  readonly branch: string; // the thread's branch name
  readonly baseCommit: string; // default-branch head sha it started from
  run(command: string, options?: RunOptions): Promise<CommandResult>; // bash -c command, inside the sandbox, cwd root
  resolvePath(relative: string): string; // confined: throws WorkspaceError('path-escape', …) for '..', absolute paths, or symlinks leading outside root
  readFile(relative: string): Promise<string>;
  writeFile(relative: string, content: string): Promise<void>; // confined, creates parent dirs, refuses writing through a symlink out
  /** The thread's change since its head, exported by the sandbox as a patch and checked on the host. */
  stage(policy: ImportPolicy): Promise<StagedChange>;
  /** A change of just these files (content shipmate holds) on the thread's head; the checkout is not read. */
  stageFiles(files: Array<{ path: string; content: string }>, policy: ImportPolicy): Promise<StagedChange>;
  /** Commits a staged change on the thread branch (host repository only); returns the commit sha. */
  commit(
    staged: Pick<StagedChange, 'parent' | 'tree'>,
    message: string,
    author: { name: string; email: string },
  ): Promise<string>;
  /** The thread branch's head as shipmate committed it. */
  head(): string;
  /** The host-owned bare repository holding the thread branch: the only place pushes run from. */
  readonly hostRepo: string;
  /** Drops every uncommitted change: the checkout is rebuilt from the thread branch's head. */
  discard(): Promise<void>;
  /**
   * Saves the thread's durable state (branch, base, head, commits, the uncommitted change) to
   * the state store so any process can continue the thread; a no-op without a store. A change
   * past the size cap (or one the export refuses) is saved as "not kept", with a warning in the
   * log. Throws when nothing could be saved (store or sandbox unavailable): the previous saved
   * state then stands.
   */
  checkpoint(): Promise<void>;
  /**
   * What acquire gave back of the thread's earlier state: 'failed' means there was an earlier
   * uncommitted change (or commits) that could not be restored, and the user should be told.
   */
  readonly restored: RestoreOutcome;
}

export interface SandboxStatus {
  mode: 'bubblewrap' | 'off' | 'unavailable';
  detail: string;
  /** The resource limits in force, e.g. "pids: cgroup v2 (512), memory: cgroup v2 (4 GiB), …" (also in `detail`). */
  limits?: string;
}

/** A repository shipmate works on; `url` is a local path or a git URL (credentials in it stay on the host). */
export interface RepoSpec {
  name: string;
  url: string;
  defaultBranch: string;
}
