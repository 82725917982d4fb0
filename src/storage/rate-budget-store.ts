import type { Sql } from './sql.js';

/**
 * A token bucket per key in the database, shared by every process (Slack's rate limits are
 * per app and workspace: docs.slack.dev/apis/web-api/rate-limits). One conditional UPDATE
 * refills and spends atomically, so two processes cannot spend the same token. Clocks of
 * different machines may disagree a little: a refill never goes negative.
 */
export class SqlRateBudget {
  constructor(
    private readonly db: Sql,
    private readonly clock: () => number = Date.now,
  ) {}

  async take(key: string, tier: { perMinute: number; burst: number }): Promise<number> {
    const now = this.clock();
    const interval = 60_000 / tier.perMinute;
    await this.db.run(
      'INSERT INTO rate_budgets (key, tokens, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING',
      key,
      tier.burst,
      now,
    );
    // tokens + elapsed / interval, capped at burst; elapsed never negative. Casts keep the
    // arithmetic in floating point on both dialects (bigint / bigint truncates).
    const real = 'CAST(? AS DOUBLE PRECISION)';
    const elapsed = `(CASE WHEN ${real} > updated_at THEN ${real} - updated_at ELSE 0 END)`;
    const refilled = `(CASE WHEN tokens + ${elapsed} / ${real} > ${real} THEN ${real} ELSE tokens + ${elapsed} / ${real} END)`;
    const refillParams = [now, now, interval, tier.burst, tier.burst, now, now, interval];
    const spent = await this.db.run(
      `UPDATE rate_budgets SET tokens = ${refilled} - 1,
         updated_at = CASE WHEN ? > updated_at THEN ? ELSE updated_at END
       WHERE key = ? AND ${refilled} >= 1`,
      ...refillParams,
      now,
      now,
      key,
      ...refillParams,
    );
    if (spent.changes === 1) return 0;
    const row = await this.db.get<{ tokens: number; updated_at: number }>(
      'SELECT tokens, updated_at FROM rate_budgets WHERE key = ?',
      key,
    );
    const tokens = Math.min(
      tier.burst,
      (row?.tokens ?? 0) + Math.max(0, now - (row?.updated_at ?? now)) / interval,
    );
    return Math.max(1, Math.ceil((1 - tokens) * interval));
  }
}
