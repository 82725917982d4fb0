import { AppError, CancelledError, type ErrorCode, errorTraits, newReferenceId } from '../errors.js';
import type { Logger } from '../log.js';
import { defineAction, recordIdCodec } from './actions.js';
import {
  type JobColumns,
  type JobKind,
  type JobOf,
  type StoredJob,
  type UnreadableJob,
  unreadableJobMessage,
} from './job-kinds.js';
import type { CancelOutcome, JobQueue } from './job-queue.js';
import { LiveView } from './live-view.js';
import type {
  JobAudience,
  JobContext,
  JobHandlers,
  JobOutcome,
  Notifier,
  Reply,
  SessionStatus,
  StatusView,
  ThreadRef,
} from './ports.js';

export interface WorkerPoolOptions {
  queue: JobQueue;
  notifier: Notifier;
  /** One handler per kind; given here or to `start` (main.ts builds the rooms, which need the pool, first). */
  handlers?: JobHandlers;
  concurrency: number;
  log: Logger;
  owner?: string;
  leaseMs?: number;
  clock?: () => number;
  /** Called with the job and its final status; used by tests, benches and the playground. */
  onFinished?: (job: StoredJob) => void;
}

/** On every status message; the value is the job id. Routed in src/handlers/action-handler.ts. */
export const cancelJobAction = defineAction({ id: 'job_cancel', ...recordIdCodec });
/** Under a failure; the value is the failed job's id. */
export const retryJobAction = defineAction({ id: 'job_retry', ...recordIdCodec });

const cancelButton = (jobId: string) => cancelJobAction.button(jobId, 'Cancel', 'danger');
const retryButton = (jobId: string) => retryJobAction.button(jobId, 'Retry');

const startText = 'Looking into it…';

/** The one sentence for each way a cancel can end, for the thread. */
export function describeCancel(outcome: CancelOutcome): string {
  switch (outcome) {
    case 'cancelled':
      return 'Cancelled.';
    case 'cancel-requested':
      return 'Stopping…';
    case 'already-finished':
      return 'That job already finished.';
    case 'not-found':
      return 'I could not find that job.';
  }
}

/**
 * Runs queued jobs: a global limit, one job per thread at a time (the queue's claim rule),
 * leases kept alive by a heartbeat, cancellation through AbortSignal, and a drain on shutdown.
 */
export class WorkerPool {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly announcing = new Map<string, Promise<void>>();
  private readonly announcedText = new Map<string, string>();
  /** What each job in this process shows while it works (task cards, plan, answer so far). */
  private readonly live = new Map<string, LiveView>();
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly clock: () => number;
  private accepting = false;
  private handlers: JobHandlers | undefined;
  private waitTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.owner = options.owner ?? `worker-${process.pid}`;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.clock = options.clock ?? Date.now;
  }

  /** Recovers what a crash left behind, then starts taking jobs. */
  async start(handlers: JobHandlers | undefined = this.options.handlers): Promise<void> {
    if (!handlers) throw new Error('the worker pool was started without job handlers');
    this.handlers = handlers;
    const { retried, interrupted } = this.options.queue.recover({ all: true });
    for (const job of retried) {
      this.options.log.warn({ jobId: job.id, channel: job.channel }, 'job-recovered');
      await this.safely(() =>
        this.updateStatus(job, { text: 'shipmate restarted while working on this; picking it back up…' }),
      );
    }
    for (const job of interrupted) {
      this.options.log.warn({ jobId: job.id, channel: job.channel }, 'job-interrupted');
      await this.safely(() => this.reportInterrupted(job));
    }
    this.accepting = true;
    this.waitTimer = setInterval(() => this.resumeExpiredWaits(), 5_000);
    this.waitTimer.unref();
    this.kick();
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Tells the thread the job is queued (👀 + status message with Cancel), then starts it when a slot is free. */
  submit(job: StoredJob): void {
    const announced = this.announce(job).finally(() => this.announcing.delete(job.id));
    this.announcing.set(job.id, announced);
    this.kick();
  }

  /** Starts as many claimable jobs as there are free slots. */
  kick(): void {
    while (this.accepting && this.running.size < this.options.concurrency) {
      const job = this.options.queue.claimNext(this.owner, this.leaseMs);
      if (!job) return;
      this.startJob(job);
    }
  }

  /** Cancel from a button or command. `describeCancel` turns the outcome into the thread's sentence. */
  cancel(jobId: string): CancelOutcome {
    const outcome = this.options.queue.requestCancel(jobId);
    const job = this.options.queue.get(jobId);
    if (outcome === 'cancelled' && job) {
      const live = this.liveOf(job);
      live.settle('error', 'Cancelled');
      this.live.delete(job.id);
      void this.safely(() =>
        this.end(job, live, { text: describeCancel(outcome), actions: [] }, undefined, 'active'),
      );
      this.kick();
    }
    if (outcome === 'cancel-requested') {
      this.running.get(jobId)?.controller.abort(new CancelledError());
    }
    return outcome;
  }

  /** SIGTERM: stop claiming, give running jobs the grace period, then put the rest back in the queue. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.waitTimer) clearInterval(this.waitTimer);
    const all = Promise.all([...this.running.values()].map((entry) => entry.done));
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
    ]);
    if (!timedOut) return;
    for (const [jobId, entry] of this.running) {
      this.options.queue.requeue(jobId, { refundAttempt: true });
      entry.controller.abort(new AppError('job-drained', 'shipmate is restarting'));
    }
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  private startJob(job: StoredJob): void {
    // Logged at claim time, synchronously: the order jobs leave the queue in.
    this.options.log.debug({ jobId: job.id, channel: job.channel, threadTs: job.threadTs }, 'job-claimed');
    const controller = new AbortController();
    const done = this.runJob(job, controller).finally(() => {
      this.running.delete(job.id);
      this.kick();
    });
    this.running.set(job.id, { controller, done });
  }

  private async runJob(claimed: StoredJob, controller: AbortController): Promise<void> {
    await this.announcing.get(claimed.id);
    const job = this.options.queue.get(claimed.id) ?? claimed;
    const log = this.options.log.child({ jobId: job.id, channel: job.channel, threadTs: job.threadTs });
    if (job.kind === 'unreadable') {
      await this.failUnreadable(job, log);
      return;
    }
    const heartbeat = setInterval(
      () => {
        this.options.queue.heartbeat(job.id, this.owner, this.leaseMs);
        if (this.options.queue.get(job.id)?.cancelRequested) controller.abort(new CancelledError());
      },
      Math.max(250, Math.floor(this.leaseMs / 3)),
    );
    heartbeat.unref();
    const started = this.clock();
    log.info({ kind: job.kind, attempt: job.attempts }, 'job-started');
    const live = this.liveOf(job);
    // Not awaited: status updates are rate limited per workspace and must never hold up the work.
    const show = () => {
      if (controller.signal.aborted) return;
      void this.safely(() => this.updateStatus(job, withCancel(live.view(), job.id)));
    };
    try {
      if (!(this.options.queue.get(job.id)?.statusTs ?? job.statusTs)) {
        // A job that waited for a person ended its streamed message: it continues in a new one.
        const ts = await this.safely(() =>
          this.options.notifier.postStatus(thread(job), withCancel(live.view(), job.id), audienceOf(job)),
        );
        if (ts) this.options.queue.setStatusTs(job.id, ts);
      } else if (this.announcedText.get(job.id) !== startText) {
        // Queued, or picked up after a restart: the line moves on. The session has been
        // processing since the announcement.
        live.progress(startText);
        show();
      }
      this.announcedText.delete(job.id);
      const outcome = await this.handle(job, {
        signal: controller.signal,
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
      });
      if (controller.signal.aborted) throw controller.signal.reason;
      await this.finishJob(job, outcome, started, log);
    } catch (error) {
      await this.failJob(job, error, controller.signal, log);
    } finally {
      clearInterval(heartbeat);
      this.live.delete(job.id);
      const final = this.options.queue.get(job.id);
      if (final) this.options.onFinished?.(final);
    }
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
    this.options.queue.fail(job.id, { code: 'job-unreadable', message: job.problem, referenceId: '' });
    log.warn({ storedKind: job.storedKind, problem: job.problem }, 'job-unreadable');
    await this.safely(() => this.options.notifier.reply(thread(job), { markdown: unreadableJobMessage }));
    void this.safely(() => this.updateStatus(job, { text: 'Failed.' }));
    const final = this.options.queue.get(job.id);
    if (final) this.options.onFinished?.(final);
  }

  private async finishJob<K extends JobKind>(
    job: JobOf<K>,
    outcome: JobOutcome<K>,
    started: number,
    log: Logger,
  ): Promise<void> {
    const live = this.liveOf(job);
    live.settle('complete');
    if (outcome.park) {
      if (outcome.park.payload) this.options.queue.updatePayload(job, outcome.park.payload);
      this.options.queue.park(job.id, outcome.park.until);
      const view = { text: outcome.park.statusText, actions: outcome.park.actions ?? [] };
      await this.end(job, live, view, outcome.reply, 'suspended');
      log.info({ until: outcome.park.until }, 'job-parked');
      return;
    }
    this.options.queue.complete(job, outcome.result);
    const seconds = Math.max(1, Math.round((this.clock() - started) / 1000));
    const text = outcome.statusText ?? `Done in ${seconds} s.`;
    await this.end(job, live, { text, actions: [] }, outcome.reply, 'active');
    log.info({ durationMs: this.clock() - started }, 'job-succeeded');
  }

  private async failJob(job: StoredJob, error: unknown, signal: AbortSignal, log: Logger): Promise<void> {
    const current = this.options.queue.get(job.id);
    if (current?.status === 'queued') {
      log.info('job-requeued-for-restart');
      await this.safely(() =>
        this.updateStatus(job, { text: 'Paused for a restart; I will continue shortly.' }),
      );
      return;
    }
    const live = this.liveOf(job);
    if (error instanceof CancelledError || (signal.aborted && signal.reason instanceof CancelledError)) {
      this.options.queue.markCancelled(job.id);
      log.info('job-cancelled');
      live.settle('error', 'Cancelled');
      void this.safely(() => this.end(job, live, { text: 'Cancelled.', actions: [] }, undefined, 'active'));
      return;
    }
    const referenceId = newReferenceId();
    const code: ErrorCode = error instanceof AppError ? error.code : 'internal-error';
    const traits = errorTraits(code);
    const userMessage =
      error instanceof AppError && error.userMessage
        ? error.userMessage
        : 'Something went wrong on my side while working on this.';
    this.options.queue.fail(job.id, {
      code,
      message: String((error as Error)?.message ?? error),
      referenceId,
    });
    // The code decides: the asker's to fix is routine (info), a service being down is a
    // warning, anything else is shipmate's own failure (error). Only a retryable code gets Retry.
    const level = traits.userFixable ? 'info' : traits.retryable ? 'warn' : 'error';
    log[level]({ err: error, code, referenceId }, 'job-failed');
    const next = traits.retryable
      ? 'To try again, press **Retry** or mention me with the request.'
      : traits.userFixable
        ? 'Retrying the same request would fail the same way; change what the message above says, then mention me again.'
        : 'Retrying will not help until a maintainer fixes this; they can find it in the log by the reference.';
    live.settle('error');
    const reply: Reply = {
      markdown: `${userMessage}\n\n${next} Reference: \`${referenceId}\``,
      ...(traits.retryable ? { actions: [retryButton(job.id)] } : {}),
    };
    const view = { text: `Failed (reference ${referenceId}).`, actions: [] };
    await this.safely(() => this.end(job, live, view, reply, 'active'));
  }

  private async announce(job: StoredJob): Promise<void> {
    await this.safely(() => this.options.notifier.acknowledge(job.channel, job.messageTs));
    const ahead = this.options.queue.positionOf(job.id);
    const threadBusy = this.options.queue
      .inThread(job.channel, job.threadTs)
      .some((other) => other.id !== job.id && (other.status === 'running' || other.status === 'waiting'));
    const text = threadBusy
      ? 'Got it. I will pick this up as soon as I finish the current request in this thread.'
      : ahead > 0 && this.running.size >= this.options.concurrency
        ? `Queued: ${ahead} ${ahead === 1 ? 'request' : 'requests'} ahead of you.`
        : startText;
    this.announcedText.set(job.id, text);
    const live = new LiveView(text, text === startText ? 'in_progress' : 'pending');
    this.live.set(job.id, live);
    const ts = await this.safely(() =>
      this.options.notifier.postStatus(thread(job), withCancel(live.view(), job.id), audienceOf(job)),
    );
    if (ts) this.options.queue.setStatusTs(job.id, ts);
  }

  private liveOf(job: JobColumns): LiveView {
    let live = this.live.get(job.id);
    if (!live) {
      live = new LiveView(startText);
      this.live.set(job.id, live);
    }
    return live;
  }

  /**
   * The status message's last view and the reply, and the session leaves `processing`. A
   * streamed status message takes no more updates after this: a job that waits for a person
   * gets a new one when it continues.
   */
  private async end(
    job: JobColumns,
    live: LiveView,
    last: { text: string; actions: StatusView['actions'] },
    reply: Reply | undefined,
    session: SessionStatus,
  ): Promise<void> {
    const statusTs = this.options.queue.get(job.id)?.statusTs ?? job.statusTs;
    const view = live.view(last);
    // A waiting job may be answered while its ending is still being sent: it must find no
    // status message to continue in, or it would write into the stream being ended.
    if (session === 'suspended' && statusTs) this.options.queue.setStatusTs(job.id, '');
    const ended = await this.options.notifier.endStatus(thread(job), statusTs || undefined, {
      view,
      ...(reply ? { reply } : {}),
      session,
    });
    // Where it did not stream, the status message goes on as before (unless a new one was posted).
    if (!ended && session === 'suspended' && statusTs && !this.options.queue.get(job.id)?.statusTs)
      this.options.queue.setStatusTs(job.id, statusTs);
  }

  private async updateStatus(job: JobColumns, view: StatusView): Promise<void> {
    const statusTs = this.options.queue.get(job.id)?.statusTs ?? job.statusTs;
    if (!statusTs) return;
    await this.options.notifier.updateStatus(thread(job), statusTs, view);
  }

  private async reportInterrupted(job: StoredJob): Promise<void> {
    await this.options.notifier.reply(thread(job), {
      markdown:
        'shipmate was restarted while working on this and could not finish it. Press **Retry** or mention me again.',
      actions: [retryButton(job.id)],
    });
    void this.safely(() => this.updateStatus(job, { text: 'Interrupted.' }));
  }

  private resumeExpiredWaits(): void {
    for (const job of this.options.queue.expiredWaits()) {
      this.options.queue.requeue(job.id, { refundAttempt: true });
    }
    this.kick();
  }

  /** Slack being down must never take a job's state machine with it; the failure is logged. */
  private async safely<T>(action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.options.log.warn({ err: error }, 'notify-failed');
      return undefined;
    }
  }
}

function withCancel(view: StatusView, jobId: string): StatusView {
  return { ...view, actions: [...(view.actions ?? []), cancelButton(jobId)] };
}

/** The asker, and the session's title: the start of what they asked. */
function audienceOf(job: StoredJob): JobAudience {
  const text = 'payload' in job && job.payload && 'text' in job.payload ? String(job.payload.text ?? '') : '';
  const title = text
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return { userId: job.userId, title: title.length > 80 ? `${title.slice(0, 79)}…` : title || 'shipmate' };
}

function thread(job: JobColumns): ThreadRef {
  return { channel: job.channel, threadTs: job.threadTs };
}
