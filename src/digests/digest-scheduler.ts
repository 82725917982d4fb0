import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AppError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DigestScheduleRecord, DigestStore } from './digest-store.js';
import type { PostToChannel } from './ports.js';
import type { DigestRequest, PublishOutcome } from './publish-digest.js';
import { nextRunAfter, previousRunBefore } from './schedule-spec.js';

/** Failed runs in a row after which a schedule pauses itself and says so in the channel. */
export const maxConsecutiveFailures = 3;
/** A failed scheduled digest is tried again this much later (or at the next slot, if sooner). */
export const retryDelayMs = 10 * 60_000;
/**
 * A run still 'running' after this long was left behind by a process that stopped: any process
 * may take it over (fail it and post the digest it owed). Far beyond a publish's own time
 * limits (git and the model answer within a minute or two), so a live claimer is never overtaken.
 */
export const abandonedAfterMs = 30 * 60_000;
/** Without any earlier digest or schedule, `digest now` covers this much. */
const defaultPeriodMs = 24 * 3600_000;

export interface SchedulerDeps {
  store: DigestStore;
  publish: (request: DigestRequest) => Promise<PublishOutcome>;
  /** For the pause notice. */
  post: PostToChannel;
  clock: () => number;
  log: Logger;
  /** Who claims runs; unique per process. */
  owner?: string;
  /** How often start() ticks. */
  intervalMs?: number;
}

export type RunResult =
  | { status: 'posted'; runId: number; messageTs: string | undefined; from: number; quiet: boolean }
  | { status: 'skipped'; runId: number; from: number }
  | { status: 'failed'; runId: number; error: string; paused: boolean }
  /** Another process (or an earlier tick) has this slot. */
  | { status: 'taken' };

/**
 * Runs due digests; every process on the database runs one. `tick(now)` does the work for
 * one moment: each due slot is claimed by inserting its run row (unique per slot, so one
 * process wins), the schedule moves to the first slot after `now` (a long downtime gives one
 * catch-up digest, not one per missed slot), and only the winner posts.
 */
export class DigestScheduler {
  private readonly owner: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RunResult[]> | undefined;

  constructor(private readonly deps: SchedulerDeps) {
    this.owner = deps.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** Catches up at once, then ticks on an unref'd interval. */
  start(): void {
    if (this.timer) return;
    void this.safeTick();
    this.timer = setInterval(() => void this.safeTick(), this.deps.intervalMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Posts every digest due at `now`. One tick at a time per process. */
  async tick(now: number = this.deps.clock()): Promise<RunResult[]> {
    while (this.running) await this.running;
    const work = this.dueWork(now);
    this.running = work;
    try {
      return await work;
    } finally {
      this.running = undefined;
    }
  }

  /** `digest now`: one digest covering the time since the last one; does not move the schedule. */
  async postNow(channel: string, now: number = this.deps.clock()): Promise<RunResult> {
    const schedule = await this.deps.store.get(channel);
    const from = await this.periodStart(channel, schedule, now);
    const run = await this.deps.store.startRun({
      scheduleId: schedule?.id,
      channel,
      trigger: 'manual',
      slot: now,
      periodFrom: from,
      periodTo: now,
      claimedBy: this.owner,
    });
    if (!run) return { status: 'taken' };
    return this.publish(run.id, channel, from, now, schedule);
  }

  private async dueWork(now: number): Promise<RunResult[]> {
    const abandoned = await this.deps.store.failAbandonedRuns(now - abandonedAfterMs);
    for (const run of abandoned) this.deps.log.warn(run, 'digest-run-abandoned');
    const results: RunResult[] = [];
    for (const schedule of await this.deps.store.due(now)) {
      results.push(await this.runScheduled(schedule, now));
    }
    return results;
  }

  private async runScheduled(schedule: DigestScheduleRecord, now: number): Promise<RunResult> {
    const { store, log } = this.deps;
    const next = await this.nextSlot(schedule, now);
    if (next === undefined) return { status: 'taken' };
    const from = await this.periodStart(schedule.channel, schedule, schedule.nextRunAt);
    const run = await store.claimScheduled({
      scheduleId: schedule.id,
      channel: schedule.channel,
      slot: schedule.nextRunAt,
      nextRunAt: next,
      periodFrom: from,
      periodTo: now,
      claimedBy: this.owner,
    });
    if (!run) {
      log.debug({ channel: schedule.channel, slot: schedule.nextRunAt }, 'digest-claimed-elsewhere');
      return { status: 'taken' };
    }
    const result = await this.publish(run.id, schedule.channel, from, now, schedule);
    if (result.status !== 'failed') {
      await store.recordSuccess(schedule.id);
      return result;
    }
    const failures = await store.recordFailure(schedule.id, result.error, now + retryDelayMs, this.owner);
    if (failures < maxConsecutiveFailures) return result;
    await store.pause(schedule.id);
    await this.announcePause(schedule, failures, result.error);
    return { ...result, paused: true };
  }

  private async publish(
    runId: number,
    channel: string,
    from: number,
    to: number,
    schedule: DigestScheduleRecord | undefined,
  ): Promise<RunResult> {
    const { store, log } = this.deps;
    try {
      const outcome = await this.deps.publish({
        channel,
        from,
        to,
        timezone: schedule?.timezone ?? 'UTC',
        quietDigest: schedule?.quietDigest ?? 'line',
      });
      if (outcome.status === 'skipped') {
        await store.finishRun(runId, 'skipped');
        return { status: 'skipped', runId, from };
      }
      await store.finishRun(runId, 'posted', outcome.messageTs ? { messageTs: outcome.messageTs } : {});
      return { status: 'posted', runId, messageTs: outcome.messageTs, from, quiet: outcome.quiet };
    } catch (error) {
      const reason =
        error instanceof AppError && error.userMessage ? error.userMessage : describeError(error);
      log.error({ err: error, channel, runId }, 'digest-failed');
      await store.finishRun(runId, 'failed', { error: reason.slice(0, 500) });
      return { status: 'failed', runId, error: reason, paused: false };
    }
  }

  /**
   * Since the last digest that covered its period; before the first one, since the start
   * of the earliest (failed) attempt; else one schedule period; else a day.
   */
  private async periodStart(
    channel: string,
    schedule: DigestScheduleRecord | undefined,
    slot: number,
  ): Promise<number> {
    const covered =
      (await this.deps.store.coveredUntil(channel)) ?? (await this.deps.store.firstPeriodFrom(channel));
    if (covered !== undefined) return covered;
    const previous = schedule
      ? safely(() => previousRunBefore(schedule.cron, schedule.timezone, slot))
      : undefined;
    return previous ?? slot - defaultPeriodMs;
  }

  private async nextSlot(schedule: DigestScheduleRecord, now: number): Promise<number | undefined> {
    try {
      return nextRunAfter(schedule.cron, schedule.timezone, now);
    } catch (error) {
      this.deps.log.error(
        { err: error, channel: schedule.channel, cron: schedule.cron },
        'digest-schedule-unusable',
      );
      await this.deps.store.pause(schedule.id);
      return undefined;
    }
  }

  private async announcePause(
    schedule: DigestScheduleRecord,
    failures: number,
    error: string,
  ): Promise<void> {
    const text = `I paused this channel's digest (${schedule.spec}) because it failed ${failures} times in a row. Last error: ${error.replace(/\s+/g, ' ').slice(0, 300)}\nSay \`digest\` to see the last runs and \`digest resume\` to start it again.`;
    try {
      await this.deps.post(schedule.channel, text);
    } catch (postError) {
      this.deps.log.error({ err: postError, channel: schedule.channel }, 'digest-pause-notice-failed');
    }
    this.deps.log.warn({ channel: schedule.channel, failures }, 'digest-paused');
  }

  private async safeTick(): Promise<void> {
    try {
      await this.tick(this.deps.clock());
    } catch (error) {
      this.deps.log.error({ err: error }, 'digest-tick-failed');
    }
  }
}

function safely<T>(work: () => T): T | undefined {
  try {
    return work();
  } catch {
    // A schedule croner cannot walk backwards just falls back to the default period.
    return undefined;
  }
}
