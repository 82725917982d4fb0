import type { Database } from '../storage/database.js';

export interface ThreadRecord {
  channel: string;
  threadTs: string;
  repo: string | undefined;
  quiet: boolean;
  createdAt: number;
  lastActiveAt: number;
}

/** Threads shipmate takes part in: followed for un-mentioned replies unless told to be quiet. */
export class ThreadStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  get(channel: string, threadTs: string): ThreadRecord | undefined {
    const row = this.db
      .prepare('SELECT * FROM threads WHERE channel = ? AND thread_ts = ?')
      .get(channel, threadTs) as
      | {
          channel: string;
          thread_ts: string;
          repo: string | null;
          quiet: number;
          created_at: number;
          last_active_at: number;
        }
      | undefined;
    if (!row) return undefined;
    return {
      channel: row.channel,
      threadTs: row.thread_ts,
      repo: row.repo ?? undefined,
      quiet: row.quiet === 1,
      createdAt: row.created_at,
      lastActiveAt: row.last_active_at,
    };
  }

  /** Creates or refreshes the thread; shipmate follows it from now on. */
  touch(channel: string, threadTs: string): void {
    const now = this.clock();
    this.db
      .prepare(
        `INSERT INTO threads (channel, thread_ts, created_at, last_active_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (channel, thread_ts) DO UPDATE SET last_active_at = excluded.last_active_at`,
      )
      .run(channel, threadTs, now, now);
  }

  setQuiet(channel: string, threadTs: string, quiet: boolean): void {
    this.touch(channel, threadTs);
    this.db
      .prepare('UPDATE threads SET quiet = ? WHERE channel = ? AND thread_ts = ?')
      .run(quiet ? 1 : 0, channel, threadTs);
  }

  setRepo(channel: string, threadTs: string, repo: string): void {
    this.touch(channel, threadTs);
    this.db
      .prepare('UPDATE threads SET repo = ? WHERE channel = ? AND thread_ts = ?')
      .run(repo, channel, threadTs);
  }
}
