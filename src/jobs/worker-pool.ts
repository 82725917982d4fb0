import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AppError, CancelledError } from '../errors.js';
import type { Logger } from '../log.js';
import { isDatabaseUnavailable } from '../storage/sql.js';
import { ClaimLoop } from './claim-loop.js';
import { DatabaseOutage } from './database-outage.js';
import { describeFailure } from './job-buttons.js';
import type { JobKind, JobOf, StoredJob, UnreadableJob } from './job-kinds.js';
import { unreadableJobMessage } from './job-kinds.js';
import { JobLease, LeaseLost, type Run } from './job-lease.js';
import type { CancelOutcome, JobQueue } from './job-queue.js';
import type { LiveView } from './live-view.js';
import type { JobContext, JobHandlers, JobOutcome, Notifier } from './ports.js';
import { StatusMessages, startText } from './status-messages.js';

export { cancelJobAction, describeCancel, retryJobAction } from './job-buttons.js';

export interface WorkerPoolOptions {
  queue: JobQueue;
  notifier: Notifier;
  /** One handler per kind; given here or to `start` (main.ts builds the rooms, which need the pool, first). */
  handlers?: JobHandlers;
  concurrency: number;
  log: Logger;
  /** Who holds this pool's leases; unique per process (main.ts passes the process id). */
  owner?: string;
  /** How long a claim holds without a heartbeat (SHIPMATE_LEASE_SECONDS); heartbeats every third of it. */
  leaseMs?: number;
  /** Shared database: how often this process takes over jobs whose lease expired (default: half the lease). */
  recoverEveryMs?: number;
  /** The safety net under wakeups: claims and expired waits are checked this often (default 5 s). */
  pollMs?: number;
  /** The first wait after the database went away, doubling up to 5 s (default 1 s). */
  backoffMs?: number;
  /**
   * How long a run waits for another process to post a new job's status message (default
   * 10 s). Tests that enqueue without announcing pass 0.
   */
  announceWaitMs?: number;
  clock?: () => number;
  /** Called with the job and its final status; used by tests, benches and the playground. */
  onFinished?: (job: StoredJob) => void;
}

/** Unique per process, readable in logs and /healthz: which machine, which pid, which start. */
export function newProcessId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Outage requeues of one job in this process before its next outage counts as a failure. */
const maxOutageRequeues = 5;

/** How often a run waiting for another process's announcement looks at the row. */
const announcePollMs = 100;

/**
 * Runs queued jobs: a global limit, one job per thread at a time (the queue's claim rule),
 * leases kept alive by a heartbeat, cancellation through AbortSignal, and a drain on shutdown.
 * Several processes may share the queue: wakeups come from any of them, expired leases are
 * taken over, and every write about a running job is conditional on this process holding it.
 */
export class WorkerPool {
  /** Unique per process: whose leases these are (for /healthz and the log). */
  readonly owner: string;
  private readonly running = new Map<string, Run>();
  private readonly status: StatusMessages;
  private readonly leaseMs: number;
  private readonly clock: () => number;
  private readonly outage: DatabaseOutage;
  private accepting = false;
  private draining = false;
  private handlers: JobHandlers | undefined;
  private readonly claims: ClaimLoop;
  private readonly lease: JobLease;
  private timers: NodeJS.Timeout[] = [];
  private unlisten: (() => void) | undefined;
  /** Per job, how often the database went away under it here (see maxOutageRequeues). */
  private readonly outageRequeues = new Map<string, number>();

  constructor(private readonly options: WorkerPoolOptions) {
    this.owner = options.owner ?? newProcessId();
    this.leaseMs = options.leaseMs ?? 60_000;
    this.clock = options.clock ?? Date.now;
    this.outage = new DatabaseOutage(options.log, options.backoffMs ?? 1_000);
    this.status = new StatusMessages({
      queue: options.queue,
      notifier: options.notifier,
      log: options.log,
      outage: this.outage,
      slotsFull: () => this.running.size >= options.concurrency,
    });
    this.lease = new JobLease({
      queue: options.queue,
      owner: this.owner,
      leaseMs: this.leaseMs,
      outage: this.outage,
      log: options.log,
      draining: () => this.draining,
    });
    this.claims = new ClaimLoop({ claimOne: () => this.claimOne(), outage: this.outage, log: options.log });
  }

  /**
   * Recovers what a crash left behind, then starts taking jobs. One process (SQLite): every
   * job still marked running was this process's, so all go back. A shared database: only
   * expired leases, now and every `recoverEveryMs`, so a live process keeps its jobs.
   */
  async start(handlers: JobHandlers | undefined = this.options.handlers): Promise<void> {
    if (!handlers) throw new Error('the worker pool was started without job handlers');
    this.handlers = handlers;
    const { queue } = this.options;
    await this.recoverStale(!queue.shared);
    this.accepting = true;
    try {
      this.unlisten = await queue.listen(() => this.kick());
    } catch (error) {
      // The safety poll still finds every job, only later.
      this.options.log.warn({ err: error }, 'job-wakeups-unavailable');
    }
    this.every(this.options.pollMs ?? 5_000, () => this.tick());
    if (queue.shared) {
      const recoverEveryMs = this.options.recoverEveryMs ?? Math.max(1_000, Math.floor(this.leaseMs / 2));
      this.every(recoverEveryMs, () => this.recoverStale(false));
    }
    this.kick();
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** The ids of the jobs this process runs now (for /healthz). */
  heldJobIds(): string[] {
    return [...this.running.keys()];
  }

  /** False while the database is away (between 'database-unavailable' and 'database-available'). */
  get databaseAvailable(): boolean {
    return !this.outage.unavailable;
  }

  /** Tells the thread the job is queued (👀 + status message with Cancel); any process may then start it. */
  submit(job: StoredJob): void {
    this.status.announce(job);
    this.kick();
  }

  /** Starts as many claimable jobs as there are free slots. */
  kick(): void {
    if (this.accepting) this.claims.kick();
  }

  /** Cancel from a button or command. `describeCancel` turns the outcome into the thread's sentence. */
  async cancel(jobId: string): Promise<CancelOutcome> {
    const { queue } = this.options;
    const outcome = await queue.requestCancel(jobId);
    const job = outcome === 'cancelled' ? await queue.get(jobId) : undefined;
    if (job) {
      const live = this.status.liveOf(job);
      live.settle('error', 'Cancelled');
      this.status.forget(job.id);
      void this.status.safely(() =>
        this.status.end(job, live, { text: 'Cancelled.', actions: [] }, undefined, 'active'),
      );
    }
    // A job running in another process sees the flag at its next heartbeat.
    if (outcome === 'cancel-requested') this.running.get(jobId)?.controller.abort(new CancelledError());
    this.kick();
    return outcome;
  }

  /**
   * SIGTERM: stop claiming, give running jobs the grace period, then put the rest back in the
   * queue. Only this process's jobs: the requeue is conditional on holding them.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    this.draining = true;
    for (const timer of this.timers) clearInterval(timer);
    this.claims.stop();
    this.unlisten?.();
    const all = Promise.all([...this.running.values()].map((entry) => entry.done));
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
    ]);
    if (!timedOut) return;
    for (const [jobId, entry] of this.running) {
      await this.options.queue
        .requeue(jobId, { refundAttempt: true, owner: this.owner })
        .catch((error: unknown) => this.options.log.warn({ err: error, jobId }, 'job-requeue-failed'));
      entry.controller.abort(new AppError('job-drained', 'shipmate is restarting'));
    }
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  private async claimOne(): Promise<boolean> {
    const { queue, concurrency } = this.options;
    if (!this.accepting || this.running.size >= concurrency) return false;
    const job = await queue.claimNext(this.owner, this.leaseMs);
    if (!job) return false;
    if (!this.accepting) {
      // Drain began while the claim was on its way: the job goes back for another process.
      await queue.requeue(job.id, { refundAttempt: true, owner: this.owner });
      return false;
    }
    this.startJob(job);
    return true;
  }

  private startJob(job: StoredJob): void {
    // Logged at claim time: the order jobs leave the queue in.
    this.options.log.debug({ jobId: job.id, channel: job.channel, threadTs: job.threadTs }, 'job-claimed');
    const run: Run = {
      controller: new AbortController(),
      done: Promise.resolve(),
      lost: false,
      finishing: false,
    };
    run.done = this.runJob(job, run).finally(() => {
      this.running.delete(job.id);
      this.kick();
    });
    this.running.set(job.id, run);
  }

  private async runJob(claimed: StoredJob, run: Run): Promise<void> {
    // From the claim on: a wait for the announcement must not let the lease run out.
    const stopHeartbeat = this.lease.keep(claimed.id, run);
    try {
      const job = await this.awaitAnnouncement(claimed, run);
      const log = this.options.log.child({ jobId: job.id, channel: job.channel, threadTs: job.threadTs });
      if (job.kind === 'unreadable') {
        run.finishing = true;
        await this.failUnreadable(job, log);
      } else await this.work(job, run, log);
    } finally {
      stopHeartbeat();
    }
  }

  /**
   * A new job's status message comes from the process that took its Slack message. This
   * process waits for its own announcement; for another process's it waits, a bounded while,
   * until the row says the message was posted (or given up on), so the thread gets one.
   */
  private async awaitAnnouncement(claimed: StoredJob, run: Run): Promise<StoredJob> {
    await this.status.announced(claimed.id);
    let job = (await this.read(claimed.id)) ?? claimed;
    const waitMs = this.options.announceWaitMs ?? 10_000;
    if (this.clock() - job.createdAt >= waitMs) return job;
    for (let waited = 0; job.statusTs === undefined && waited < waitMs; waited += announcePollMs) {
      if (run.controller.signal.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, announcePollMs));
      job = (await this.read(job.id)) ?? job;
    }
    return job;
  }

  private async work(job: Exclude<StoredJob, UnreadableJob>, run: Run, log: Logger): Promise<void> {
    const { signal } = run.controller;
    const started = this.clock();
    log.info({ kind: job.kind, attempt: job.attempts }, 'job-started');
    const live = this.status.liveOf(job);
    try {
      if (signal.aborted) throw signal.reason;
      if (!job.statusTs) {
        // A job that waited for a person ended its streamed message: it continues in a new one.
        await this.status.postFresh(job);
      } else if (this.status.takeAnnouncedText(job.id) !== startText) {
        // Queued, picked up after a restart, or announced by another process: the line moves
        // on. The session has been processing since the announcement.
        live.progress(startText);
        if (!signal.aborted) this.status.show(job);
      }
      const outcome = await this.handle(job, this.contextFor(job, live, signal, log));
      if (signal.aborted) throw signal.reason;
      run.finishing = true;
      await this.finishJob(job, outcome, started, run, log);
    } catch (error) {
      run.finishing = true;
      await this.failJob(job, error, run, log);
    } finally {
      this.status.takeAnnouncedText(job.id);
      this.status.forget(job.id);
      if (!run.requeued) this.outageRequeues.delete(job.id);
      if (!run.lost && !run.requeued) await this.reportFinished(job.id);
    }
  }

  /** What a handler may do to the thread while it works; every change shows the latest view. */
  private contextFor(
    job: StoredJob,
    live: LiveView,
    signal: AbortSignal,
    log: Logger,
  ): Omit<JobContext, 'job'> {
    // Not awaited: status updates are rate limited per workspace and must never hold up the work.
    const show = () => {
      if (!signal.aborted) this.status.show(job);
    };
    return {
      signal,
      log,
      progress: (text, actions) => {
        live.progress(text, actions);
        show();
      },
      step: (title) => {
        const handle = live.step(title);
        show();
        return {
          done: (detail) => {
            handle.done(detail);
            show();
          },
          failed: (detail) => {
            handle.failed(detail);
            show();
          },
        };
      },
      answer: (text) => {
        live.answer(text);
        show();
      },
      plan: (title) => {
        live.plan(title);
        show();
      },
    };
  }

  /** The kind's own handler, with the job typed by its kind. */
  private handle<K extends JobKind>(
    job: JobOf<K>,
    context: Omit<JobContext<K>, 'job'>,
  ): Promise<JobOutcome<K>> {
    const handler = (this.handlers as JobHandlers)[job.kind];
    return handler({ ...context, job });
  }

  /** A row another version wrote: fail it with a plain sentence, no Retry (it would fail the same way). */
  private async failUnreadable(job: UnreadableJob, log: Logger): Promise<void> {
    const error = { code: 'job-unreadable' as const, message: job.problem, referenceId: '' };
    if (
      !(await this.lease.settle(job, 'failed', () =>
        this.options.queue.fail(job.id, error, this.lease.held()),
      ))
    ) {
      log.warn('job-lease-lost');
      return;
    }
    log.warn({ storedKind: job.storedKind, problem: job.problem }, 'job-unreadable');
    await this.status.reply(job, { markdown: unreadableJobMessage });
    void this.status.safely(() => this.status.update(job, { text: 'Failed.' }));
    await this.reportFinished(job.id);
  }

  private async finishJob<K extends JobKind>(
    job: JobOf<K>,
    outcome: JobOutcome<K>,
    started: number,
    run: Run,
    log: Logger,
  ): Promise<void> {
    const { queue } = this.options;
    const live = this.status.liveOf(job);
    live.settle('complete');
    const { park } = outcome;
    if (park) {
      const parked = await this.lease.settle(job, 'waiting', async () => {
        if (park.payload && !(await queue.updatePayload(job, park.payload, this.lease.held()))) return false;
        return queue.park(job.id, park.until, this.lease.held());
      });
      if (!parked) return this.leaseLost(run, log);
      const view = { text: park.statusText, actions: park.actions ?? [] };
      await this.status.safely(() => this.status.end(job, live, view, outcome.reply, 'suspended'));
      log.info({ until: park.until }, 'job-parked');
      return;
    }
    if (
      !(await this.lease.settle(job, 'succeeded', () =>
        queue.complete(job, outcome.result, this.lease.held()),
      ))
    ) {
      return this.leaseLost(run, log);
    }
    const seconds = Math.max(1, Math.round((this.clock() - started) / 1000));
    const view = { text: outcome.statusText ?? `Done in ${seconds} s.`, actions: [] };
    await this.status.safely(() => this.status.end(job, live, view, outcome.reply, 'active'));
    log.info({ durationMs: this.clock() - started }, 'job-succeeded');
  }

  private async failJob(job: StoredJob, error: unknown, run: Run, log: Logger): Promise<void> {
    const { signal } = run.controller;
    if (run.lost || signal.reason instanceof LeaseLost) return this.leaseLost(run, log);
    const current = await this.read(job.id);
    if (current?.status === 'queued') {
      log.info('job-requeued-for-restart');
      await this.status.safely(() =>
        this.status.update(job, { text: 'Paused for a restart; I will continue shortly.' }),
      );
      return;
    }
    const live = this.status.liveOf(job);
    if (error instanceof CancelledError || (signal.aborted && signal.reason instanceof CancelledError)) {
      const cancelled = () => this.options.queue.markCancelled(job.id, this.lease.held());
      if (!(await this.lease.settle(job, 'cancelled', cancelled))) return this.leaseLost(run, log);
      log.info('job-cancelled');
      live.settle('error', 'Cancelled');
      const view = { text: 'Cancelled.', actions: [] };
      void this.status.safely(() => this.status.end(job, live, view, undefined, 'active'));
      return;
    }
    if (isDatabaseUnavailable(error) && (await this.requeueAfterOutage(job, error, run, log))) return;
    const failure = describeFailure(error, job.id);
    const stored = { code: failure.code, message: failure.message, referenceId: failure.referenceId };
    const failed = () => this.options.queue.fail(job.id, stored, this.lease.held());
    if (!(await this.lease.settle(job, 'failed', failed))) return this.leaseLost(run, log);
    log[failure.level]({ err: error, code: failure.code, referenceId: failure.referenceId }, 'job-failed');
    live.settle('error');
    const view = { text: `Failed (reference ${failure.referenceId}).`, actions: [] };
    await this.status.safely(() => this.status.end(job, live, view, failure.reply, 'active'));
  }

  /**
   * The database went away under the handler (a PostgreSQL restart): not a failure to report.
   * The job goes back in line, its attempt refunded, once the database answers again, and any
   * process continues it (its session and workspace state are in the database).
   */
  private async requeueAfterOutage(job: StoredJob, error: unknown, run: Run, log: Logger): Promise<boolean> {
    // A database that keeps going away under the same job: after a few rounds, a failure.
    const rounds = (this.outageRequeues.get(job.id) ?? 0) + 1;
    if (rounds > maxOutageRequeues) return false;
    this.outageRequeues.set(job.id, rounds);
    this.outage.noteFailure(error);
    const requeued = await this.outage.persist(() =>
      this.options.queue.requeue(job.id, { refundAttempt: true, owner: this.owner }),
    );
    if (!requeued) {
      this.leaseLost(run, log);
      return true;
    }
    run.requeued = true;
    log.warn({ event: 'job-requeued-after-database-outage', rounds }, 'job-requeued');
    await this.status.safely(() =>
      this.status.update(job, { text: 'The database was away for a moment; continuing shortly.' }),
    );
    return true;
  }

  private leaseLost(run: Run, log: Logger): void {
    run.lost = true;
    log.warn('job-lease-lost');
  }

  /** Jobs whose holder is gone: back in line while attempts remain, else reported as interrupted. */
  private async recoverStale(all: boolean): Promise<void> {
    let recovered: Awaited<ReturnType<JobQueue['recover']>>;
    try {
      recovered = await this.options.queue.recover({ all });
      this.outage.noteSuccess();
    } catch (error) {
      if (this.outage.noteFailure(error)) return;
      // At start a broken database is fatal; later, the next round tries again.
      if (!this.accepting) throw error;
      this.options.log.error({ err: error }, 'job-recovery-failed');
      return;
    }
    const { log } = this.options;
    for (const job of recovered.retried) {
      log.warn({ jobId: job.id, channel: job.channel }, 'job-recovered');
      const view = { text: 'shipmate restarted while working on this; picking it back up…' };
      await this.status.safely(() => this.status.update(job, view));
    }
    for (const job of recovered.interrupted) {
      log.warn({ jobId: job.id, channel: job.channel }, 'job-interrupted');
      await this.status.reportInterrupted(job);
    }
  }

  /** The safety poll: waits whose time ran out go back in line (each by one process), then claim. */
  private async tick(): Promise<void> {
    try {
      for (const job of await this.options.queue.resumeExpiredWaits()) {
        this.options.log.info({ jobId: job.id, channel: job.channel }, 'job-wait-expired');
      }
      this.outage.noteSuccess();
    } catch (error) {
      if (!this.outage.noteFailure(error)) this.options.log.warn({ err: error }, 'job-wait-expiry-failed');
    }
    this.kick();
  }

  /** Runs `work` every `ms` (never two at once) until drain. */
  private every(ms: number, work: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      work()
        .catch((error: unknown) => this.options.log.error({ err: error }, 'job-pool-tick-failed'))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async reportFinished(jobId: string): Promise<void> {
    const final = await this.read(jobId);
    if (final) this.options.onFinished?.(final);
  }

  /** A read whose failure (the database away) is not worth stopping for: the caller has a fallback. */
  private async read(jobId: string): Promise<StoredJob | undefined> {
    try {
      return await this.options.queue.get(jobId);
    } catch (error) {
      if (!this.outage.noteFailure(error)) this.options.log.warn({ err: error, jobId }, 'job-read-failed');
      return undefined;
    }
  }
}
