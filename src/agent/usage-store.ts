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

  async record(usage: UsageRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO usage (job_id, channel, user_id, model, prompt_tokens, completion_tokens, cost, steps, duration_ms, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
  async channelTokensToday(channel: string): Promise<number> {
    const row = await this.db.get<{ n: number }>(
      'SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE channel = ? AND created_at >= ?',
      channel,
      this.clock() - 24 * 3600_000,
    );
    return row?.n ?? 0;
  }

  /** A writer's override of the configured daily budget for one channel. */
  async channelBudget(channel: string): Promise<number | undefined> {
    const row = await this.db.get<{ daily_tokens: number }>(
      'SELECT daily_tokens FROM channel_budgets WHERE channel = ?',
      channel,
    );
    return row?.daily_tokens;
  }

  async setChannelBudget(channel: string, dailyTokens: number, setBy: string): Promise<void> {
    await this.db.run(
      `INSERT INTO channel_budgets (channel, daily_tokens, set_by, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET daily_tokens = excluded.daily_tokens, set_by = excluded.set_by,
         updated_at = excluded.updated_at`,
      channel,
      dailyTokens,
      setBy,
      this.clock(),
    );
  }
}
