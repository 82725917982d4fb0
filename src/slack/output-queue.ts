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
}

interface Pending {
  payload: Record<string, unknown>;
  tier: TierName;
  waiters: Array<() => void>;
}

interface Bucket extends OutputTier {
  tokens: number;
  refilledAt: number;
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
  private readonly tiers: Record<TierName, Bucket>;
  private readonly clock: () => number;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(private readonly options: OutputQueueOptions) {
    this.clock = options.clock ?? Date.now;
    const bucket = (tier: OutputTier): Bucket => ({ ...tier, tokens: tier.burst, refilledAt: this.clock() });
    this.tiers = {
      update: bucket({
        perMinute: options.perMinute ?? 50,
        burst: 1,
        perMessageIntervalMs: options.perMessageIntervalMs ?? 2_000,
      }),
      stream: bucket({ perMinute: 100, burst: 5, perMessageIntervalMs: 300, ...options.stream }),
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

  /** When the tier has a token to spend: now, or the time until the next one. */
  private tokenWait(bucket: Bucket, now: number): number {
    const interval = 60_000 / bucket.perMinute;
    const refill = (now - bucket.refilledAt) / interval;
    if (refill > 0) {
      bucket.tokens = Math.min(bucket.burst, bucket.tokens + refill);
      bucket.refilledAt = now;
    }
    return bucket.tokens >= 1 ? 0 : Math.ceil((1 - bucket.tokens) * interval);
  }

  private pump(): void {
    const now = this.clock();
    if (now < this.pausedUntil) {
      this.schedule(this.pausedUntil - now);
      return;
    }
    let wait = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.pending) {
      if (this.inFlight.has(key)) continue;
      const bucket = this.tiers[entry.tier];
      const last = this.lastSent.get(key);
      const messageReady = last === undefined ? 0 : last + bucket.perMessageIntervalMs - now;
      const ready = Math.max(messageReady, this.tokenWait(bucket, now));
      if (ready > 0) {
        wait = Math.min(wait, ready);
        continue;
      }
      bucket.tokens -= 1;
      this.pending.delete(key);
      this.lastSent.set(key, now);
      this.inFlight.add(key);
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
