import type { Database } from '../storage/database.js';

export interface ThreadRecord {
  channel: string;
  threadTs: string;
  repo: string | undefined;
  quiet: boolean;
  createdAt: number;
  lastActiveAt: number;
}

interface ThreadRow {
  channel: string;
  thread_ts: string;
  repo: string | null;
  quiet: number;
  created_at: number;
  last_active_at: number;
}

/** Threads shipmate takes part in: followed for un-mentioned replies unless told to be quiet. */
export class ThreadStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(channel: string, threadTs: string): Promise<ThreadRecord | undefined> {
    const row = await this.db.get<ThreadRow>(
      'SELECT * FROM threads WHERE channel = ? AND thread_ts = ?',
      channel,
      threadTs,
    );
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
  async touch(channel: string, threadTs: string): Promise<void> {
    const now = this.clock();
    await this.db.run(
      `INSERT INTO threads (channel, thread_ts, created_at, last_active_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (channel, thread_ts) DO UPDATE SET last_active_at = excluded.last_active_at`,
      channel,
      threadTs,
      now,
      now,
    );
  }

  async setQuiet(channel: string, threadTs: string, quiet: boolean): Promise<void> {
    await this.touch(channel, threadTs);
    await this.db.run(
      'UPDATE threads SET quiet = ? WHERE channel = ? AND thread_ts = ?',
      quiet ? 1 : 0,
      channel,
      threadTs,
    );
  }

  async setRepo(channel: string, threadTs: string, repo: string): Promise<void> {
    await this.touch(channel, threadTs);
    await this.db.run(
      'UPDATE threads SET repo = ? WHERE channel = ? AND thread_ts = ?',
      repo,
      channel,
      threadTs,
    );
  }
}
