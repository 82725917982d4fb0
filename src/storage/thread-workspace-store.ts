import type { Sql } from './sql.js';

/**
 * The durable state of one thread's workspace (#14): what any process needs to rebuild the
 * worktree and continue. `commits` is a git bundle of baseCommit..head made by host git from
 * the thread's host repository (base64, null when head is the base); `patch` is the
 * uncommitted working change as the sandbox exported it (base64 of a binary patch relative to
 * head, '' when clean) — data only, never interpreted on the host.
 */
export interface ThreadWorkspaceRow {
  repo: string;
  threadKey: string;
  branch: string;
  baseCommit: string;
  head: string;
  commits: string | null;
  patch: string;
  /** The process that wrote the state last (and holds the worktree on its disk). */
  holder: string | null;
}

export interface StoredThreadWorkspace extends ThreadWorkspaceRow {
  /** Strictly increases with every save of the row, whatever the writers' clocks say. */
  updatedAt: number;
}

interface Row {
  repo: string;
  thread_key: string;
  branch: string;
  base_commit: string;
  head: string;
  commits: string | null;
  patch: string;
  holder: string | null;
  updated_at: number;
}

/**
 * `thread_workspaces`, one row per (repo, thread). A save returns the row's new `updated_at`,
 * which a process remembers to tell later whether another process has moved the thread on
 * since: the value only grows (a writer whose clock is behind still writes one more than the
 * last value), so a plain comparison decides.
 */
export class SqlThreadWorkspaceStore {
  constructor(
    private readonly db: Sql,
    private readonly clock: () => number = Date.now,
  ) {}

  async load(repo: string, threadKey: string): Promise<StoredThreadWorkspace | undefined> {
    const row = await this.db.get<Row>(
      `SELECT repo, thread_key, branch, base_commit, head, commits, patch, holder, updated_at
       FROM thread_workspaces WHERE repo = ? AND thread_key = ?`,
      repo,
      threadKey,
    );
    return row ? fromRow(row) : undefined;
  }

  /** Only who saved the row and when: no patch, no bundle (those can be megabytes). */
  async stamp(
    repo: string,
    threadKey: string,
  ): Promise<{ updatedAt: number; holder: string | null } | undefined> {
    const row = await this.db.get<{ updated_at: number; holder: string | null }>(
      'SELECT updated_at, holder FROM thread_workspaces WHERE repo = ? AND thread_key = ?',
      repo,
      threadKey,
    );
    return row ? { updatedAt: Number(row.updated_at), holder: row.holder } : undefined;
  }

  async save(state: ThreadWorkspaceRow): Promise<number> {
    const row = await this.db.get<{ updated_at: number }>(
      `INSERT INTO thread_workspaces
         (repo, thread_key, branch, base_commit, head, commits, patch, holder, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (repo, thread_key) DO UPDATE SET
         branch = excluded.branch, base_commit = excluded.base_commit, head = excluded.head,
         commits = excluded.commits, patch = excluded.patch, holder = excluded.holder,
         updated_at = CASE WHEN excluded.updated_at > thread_workspaces.updated_at
           THEN excluded.updated_at ELSE thread_workspaces.updated_at + 1 END
       RETURNING updated_at`,
      state.repo,
      state.threadKey,
      state.branch,
      state.baseCommit,
      state.head,
      state.commits,
      state.patch,
      state.holder,
      this.clock(),
    );
    return Number(row?.updated_at ?? 0);
  }
}

function fromRow(row: Row): StoredThreadWorkspace {
  return {
    repo: row.repo,
    threadKey: row.thread_key,
    branch: row.branch,
    baseCommit: row.base_commit,
    head: row.head,
    commits: row.commits,
    patch: row.patch,
    holder: row.holder,
    updatedAt: Number(row.updated_at),
  };
}
