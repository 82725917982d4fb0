import type { Database } from '../storage/database.js';

export interface UsageRecord {
  jobId: string;
  channel: string;
  userId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cost: number | undefined;
  steps: number;
  durationMs: number;
}

export class UsageStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  record(usage: UsageRecord): void {
    this.db
      .prepare(
        `INSERT INTO usage (job_id, channel, user_id, model, prompt_tokens, completion_tokens, cost, steps, duration_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        usage.jobId,
        usage.channel,
        usage.userId,
        usage.model,
        usage.promptTokens,
        usage.completionTokens,
        usage.cost ?? null,
        usage.steps,
        usage.durationMs,
        this.clock(),
      );
  }

  /** Tokens a channel used in the last 24 hours. */
  channelTokensToday(channel: string): number {
    const row = this.db
      .prepare(
        'SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE channel = ? AND created_at >= ?',
      )
      .get(channel, this.clock() - 24 * 3600_000) as { n: number };
    return row.n;
  }

  /** A writer's override of the configured daily budget for one channel. */
  channelBudget(channel: string): number | undefined {
    const row = this.db.prepare('SELECT daily_tokens FROM channel_budgets WHERE channel = ?').get(channel) as
      | { daily_tokens: number }
      | undefined;
    return row?.daily_tokens;
  }

  setChannelBudget(channel: string, dailyTokens: number, setBy: string): void {
    this.db
      .prepare(
        `INSERT INTO channel_budgets (channel, daily_tokens, set_by, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET daily_tokens = excluded.daily_tokens, set_by = excluded.set_by,
           updated_at = excluded.updated_at`,
      )
      .run(channel, dailyTokens, setBy, this.clock());
  }
}
