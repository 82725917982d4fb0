import type { Logger } from '../log.js';

export interface OutputQueueOptions {
  send: (channel: string, ts: string, payload: Record<string, unknown>) => Promise<void>;
  log: Logger;
  /** Minimum gap between two updates of one message. */
  perMessageIntervalMs?: number;
  /** chat.update is Tier 3: about 50 a minute per workspace. */
  perMinute?: number;
  clock?: () => number;
}

interface Pending {
  payload: Record<string, unknown>;
  waiters: Array<() => void>;
}

/**
 * One throttled queue of message updates per workspace. Updates to the same message are
 * coalesced (latest wins), each message is updated at most every ~2 s, the workspace as a
 * whole stays under the tier's rate, and a Retry-After from Slack pauses everything.
 */
export class OutputQueue {
  private readonly pending = new Map<string, Pending>();
  private readonly lastSent = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  private readonly perMessageIntervalMs: number;
  private readonly intervalMs: number;
  private readonly clock: () => number;
  private nextSlotAt = 0;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OutputQueueOptions) {
    this.perMessageIntervalMs = options.perMessageIntervalMs ?? 2_000;
    this.intervalMs = 60_000 / (options.perMinute ?? 50);
    this.clock = options.clock ?? Date.now;
  }

  /** Resolves once this payload, or a later one for the same message, has been sent. */
  update(channel: string, ts: string, payload: Record<string, unknown>): Promise<void> {
    const key = `${channel}:${ts}`;
    return new Promise((resolve) => {
      const existing = this.pending.get(key);
      if (existing) {
        existing.payload = payload;
        existing.waiters.push(resolve);
      } else {
        this.pending.set(key, { payload, waiters: [resolve] });
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
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
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
      const readyAt = Math.max((this.lastSent.get(key) ?? 0) + this.perMessageIntervalMs, this.nextSlotAt);
      if (readyAt > now) {
        wait = Math.min(wait, readyAt - now);
        continue;
      }
      this.pending.delete(key);
      this.nextSlotAt = now + this.intervalMs;
      this.lastSent.set(key, now);
      this.inFlight.add(key);
      void this.sendOne(key, entry);
      wait = Math.min(wait, this.intervalMs);
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
