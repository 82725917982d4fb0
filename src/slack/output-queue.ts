import type { Logger } from '../log.js';

/**
 * Each Web API method has its own rate limit per workspace: chat.update is Tier 3 (about 50
 * a minute), chat.appendStream Tier 4 (100+ a minute), both allowing short bursts
 * (https://docs.slack.dev/apis/web-api/rate-limits). A tier here is one method's budget.
 */
export interface OutputTier {
  perMinute: number;
  /** Sends allowed back to back before the rate applies. */
  burst: number;
  /** Minimum gap between two sends to one message. */
  perMessageIntervalMs: number;
}

export type TierName = 'update' | 'stream';

/**
 * Where a tier's tokens live. Slack counts per app and workspace, not per process: one
 * process keeps the bucket in memory; several processes on one database share it there
 * (src/storage/rate-budget-store.ts), so three processes never send three times the rate.
 */
export interface RateBudget {
  /** Takes one token from `key`'s bucket: 0 when taken, else the milliseconds until one will be there. */
  take(key: string, tier: Pick<OutputTier, 'perMinute' | 'burst'>): Promise<number>;
}

/** The budget of a single process: a token bucket per key, in memory. */
export function localRateBudget(clock: () => number = Date.now): RateBudget {
  const buckets = new Map<string, { tokens: number; refilledAt: number }>();
  return {
    async take(key, tier) {
      const now = clock();
      const bucket = buckets.get(key) ?? { tokens: tier.burst, refilledAt: now };
      buckets.set(key, bucket);
      const interval = 60_000 / tier.perMinute;
      const refill = (now - bucket.refilledAt) / interval;
      if (refill > 0) {
        bucket.tokens = Math.min(tier.burst, bucket.tokens + refill);
        bucket.refilledAt = now;
      }
      if (bucket.tokens < 1) return Math.ceil((1 - bucket.tokens) * interval);
      bucket.tokens -= 1;
      return 0;
    },
  };
}

export interface OutputQueueOptions {
  send: (channel: string, ts: string, payload: Record<string, unknown>) => Promise<void>;
  log: Logger;
  /** Minimum gap between two updates of one message (the `update` tier). */
  perMessageIntervalMs?: number;
  /** chat.update is Tier 3: about 50 a minute per workspace. */
  perMinute?: number;
  /** The streaming tier (chat.appendStream / stopStream). */
  stream?: Partial<OutputTier>;
  clock?: () => number;
  /** Shared across processes when several run; in memory otherwise. */
  budget?: RateBudget;
}

interface Pending {
  payload: Record<string, unknown>;
  tier: TierName;
  waiters: Array<() => void>;
}

/**
 * One throttled queue of message updates per workspace. Updates to the same message are
 * coalesced (latest wins: a status view is whole, and a stream's sender sends what changed
 * since its last send), each message is updated at most every `perMessageIntervalMs`, each
 * method stays under its tier's rate, and a Retry-After from Slack pauses everything.
 */
export class OutputQueue {
  private readonly pending = new Map<string, Pending>();
  private readonly lastSent = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  private readonly tiers: Record<TierName, OutputTier>;
  private readonly clock: () => number;
  private readonly budget: RateBudget;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly options: OutputQueueOptions) {
    this.clock = options.clock ?? Date.now;
    this.budget = options.budget ?? localRateBudget(this.clock);
    this.tiers = {
      update: {
        perMinute: options.perMinute ?? 50,
        burst: 1,
        perMessageIntervalMs: options.perMessageIntervalMs ?? 2_000,
      },
      stream: { perMinute: 100, burst: 5, perMessageIntervalMs: 300, ...options.stream },
    };
  }

  /** Resolves once this payload, or a later one for the same message, has been sent. */
  update(
    channel: string,
    ts: string,
    payload: Record<string, unknown>,
    tier: TierName = 'update',
  ): Promise<void> {
    const key = `${channel}:${ts}`;
    return new Promise((resolve) => {
      const existing = this.pending.get(key);
      if (existing) {
        existing.payload = payload;
        existing.tier = tier;
        existing.waiters.push(resolve);
      } else {
        this.pending.set(key, { payload, tier, waiters: [resolve] });
      }
      this.schedule(0);
    });
  }

  /** Called when Slack answers 429: nothing is sent before the Retry-After has passed. */
  pause(seconds: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock() + seconds * 1000);
    this.schedule(seconds * 1000);
  }

  get size(): number {
    return this.pending.size;
  }

  private schedule(delayMs: number): void {
    const at = this.clock() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
  }

  /** One pass at a time: a budget shared through the database answers asynchronously. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpOnce()
      .catch((error: unknown) => {
        // The shared budget is unreachable (database restarting): wait a little, then try again.
        this.options.log.warn({ err: error }, 'rate-budget-unavailable');
        this.schedule(1_000);
      })
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.schedule(0);
        }
      });
  }

  private async pumpOnce(): Promise<void> {
    const now = this.clock();
    if (now < this.pausedUntil) {
      this.schedule(this.pausedUntil - now);
      return;
    }
    let wait = Number.POSITIVE_INFINITY;
    const exhausted = new Map<TierName, number>();
    for (const [key, entry] of [...this.pending]) {
      if (this.inFlight.has(key) || this.pending.get(key) !== entry) continue;
      const tier = this.tiers[entry.tier];
      const last = this.lastSent.get(key);
      const messageReady = last === undefined ? 0 : last + tier.perMessageIntervalMs - now;
      const tierWait = exhausted.get(entry.tier);
      if (messageReady > 0 || tierWait !== undefined) {
        wait = Math.min(wait, Math.max(messageReady, tierWait ?? 0));
        continue;
      }
      const tokenWait = await this.budget.take(`slack:${entry.tier}`, tier);
      if (tokenWait > 0) {
        exhausted.set(entry.tier, tokenWait);
        wait = Math.min(wait, tokenWait);
        continue;
      }
      this.pending.delete(key);
      this.lastSent.set(key, now);
      this.inFlight.add(key);
      // `update` replaces the payload in place, so what was queued while the token came is sent.
      void this.sendOne(key, entry);
    }
    if (this.pending.size > 0 && Number.isFinite(wait)) this.schedule(wait);
  }

  private async sendOne(key: string, entry: Pending): Promise<void> {
    const separator = key.indexOf(':');
    const channel = key.slice(0, separator);
    const ts = key.slice(separator + 1);
    try {
      await this.options.send(channel, ts, entry.payload);
    } catch (error) {
      // A failed status update is not worth failing a job for; the next update or the answer follows.
      this.options.log.warn({ err: error, channel, ts }, 'status-update-failed');
    } finally {
      this.inFlight.delete(key);
      this.lastSent.set(key, this.clock());
      for (const resolve of entry.waiters) resolve();
      if (this.pending.size > 0) this.schedule(0);
    }
  }
}
