import { CancelledError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DatabaseOutage } from './database-outage.js';
import type { JobColumns, JobStatus } from './job-kinds.js';
import type { HeldBy, JobQueue } from './job-queue.js';

/** A job's lease was taken over by another process: this run stops and writes nothing. */
export class LeaseLost extends Error {
  constructor() {
    super('another process took this job over after its lease expired');
    this.name = 'LeaseLost';
  }
}

/** One run of a claimed job in this process. */
export interface Run {
  controller: AbortController;
  done: Promise<void>;
  /** The lease is gone: nothing of this run is written or posted. */
  lost: boolean;
  /** The run is writing its outcome (conditional on holding the job): no more heartbeats. */
  finishing: boolean;
  /** The run ended by putting its job back in line (the database went away): nothing finished. */
  requeued?: boolean;
}

export interface JobLeaseOptions {
  queue: JobQueue;
  owner: string;
  leaseMs: number;
  outage: DatabaseOutage;
  log: Logger;
  /** While draining, a job this process put back is no longer held: the drain aborts it. */
  draining: () => boolean;
}

/**
 * This process's hold on the jobs it runs: the heartbeat that keeps a lease, and the final
 * writes, which count only while the lease is still this process's.
 */
export class JobLease {
  constructor(private readonly options: JobLeaseOptions) {}

  /** Restricts a queue write to the jobs this process holds. */
  held(): Required<HeldBy> {
    return { owner: this.options.owner };
  }

  /** Heartbeats every third of the lease; a lease taken over stops the run, a cancel request too. */
  keep(jobId: string, run: Run): () => void {
    let beating = false;
    const timer = setInterval(
      () => {
        if (beating || run.finishing || run.controller.signal.aborted) return;
        beating = true;
        void this.beat(jobId, run).finally(() => {
          beating = false;
        });
      },
      Math.max(250, Math.floor(this.options.leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * The final write of a run, retried while the database is away so the result is not lost.
   * False when this process no longer holds the job. A write that landed just before the
   * connection dropped is retried in vain: it is recognised as ours by the state it left at
   * the same attempt (a takeover claims again, which counts an attempt).
   */
  async settle(job: JobColumns, target: JobStatus, write: () => Promise<boolean>): Promise<boolean> {
    const { outage, queue } = this.options;
    if (await outage.persist(write)) return true;
    const now = await outage.persist(() => queue.get(job.id));
    return now?.status === target && now.attempts === job.attempts;
  }

  private async beat(jobId: string, run: Run): Promise<void> {
    const { queue, owner, leaseMs, outage, log } = this.options;
    try {
      const held = await queue.heartbeat(jobId, owner, leaseMs);
      outage.noteSuccess();
      // Once the run writes its outcome, that write (conditional on holding) decides.
      if (!held && !this.options.draining() && !run.finishing && !run.controller.signal.aborted) {
        run.lost = true;
        run.controller.abort(new LeaseLost());
        return;
      }
      if ((await queue.get(jobId))?.cancelRequested) run.controller.abort(new CancelledError());
    } catch (error) {
      // The database being away is not a lost lease: keep working, the next beat tries again.
      if (!outage.noteFailure(error)) log.warn({ err: error, jobId }, 'job-heartbeat-failed');
    }
  }
}
