import type { ErrorCode } from '../errors.js';
import type { Database } from '../storage/database.js';
import { isUniqueViolation, type SqlQueries } from '../storage/sql.js';
import type { JobKind, JobOf, JobStatus, NewJob, PayloadOf, ResultOf, StoredJob } from './job-kinds.js';
import { checked, type JobRow, newJobId, toJob } from './job-rows.js';

export type {
  Job,
  JobColumns,
  JobKind,
  JobOf,
  JobStatus,
  NewJob,
  StoredJob,
  UnreadableJob,
} from './job-kinds.js';
export { newJobId } from './job-rows.js';

export type CancelOutcome = 'cancelled' | 'cancel-requested' | 'already-finished' | 'not-found';

/** The channel every queue change is announced on, so idle pools (in any process) claim at once. */
export const jobsChannel = 'shipmate_jobs';

const finished: JobStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** How many times a claim that lost a same-thread race to another process is tried again. */
const claimTries = 5;

export interface JobQueueOptions {
  clock?: () => number;
}

/** Restricts a write to the job's current holder: a process that lost its lease writes nothing. */
export interface HeldBy {
  owner?: string;
}

interface Condition {
  sql: string;
  params: unknown[];
}

const anyState: Condition = { sql: '', params: [] };
const heldBy = (owner: string): Condition => ({
  sql: ` AND status = 'running' AND lease_owner = ?`,
  params: [owner],
});

/** A queued job whose thread has nothing running or waiting, and nothing queued before it. */
const claimable = `j.status = 'queued'
  AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.channel = j.channel AND o.thread_ts = j.thread_ts
                  AND o.status IN ('running', 'waiting'))
  AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.channel = j.channel AND e.thread_ts = j.thread_ts
                  AND e.status = 'queued' AND e.seq < j.seq)`;

const claimSet = `status = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?,
  started_at = COALESCE(started_at, ?)`;

/** How long a thread's job waits for the process holding its worktree before anyone takes it. */
const preferHolderMs = 5_000;
/** A process that has not refreshed its row for this long is taken for gone (it beats every 5 s). */
const processAliveMs = 15_000;
const notHeldElsewhere = `NOT (j.created_at > ? AND EXISTS (
  SELECT 1 FROM thread_workspaces tw JOIN processes p ON p.id = tw.holder
  WHERE tw.thread_key = j.channel || '-' || j.thread_ts AND tw.holder <> ?
    AND p.seen_at > ? AND p.running < p.capacity))`;

/**
 * The durable queue, shared by every process on the database. Every state change is one
 * SQL statement (or one transaction) and every change of a running job is conditional on
 * the process holding it, so a crash leaves each job in exactly one state and no job runs
 * in two processes at once. Dedupe of Slack deliveries lives here too: the (channel, ts)
 * ledger's primary key decides, and the job insert is in the same transaction.
 */
export class JobQueue {
  private readonly clock: () => number;

  constructor(
    private readonly db: Database,
    options: JobQueueOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** PostgreSQL: several processes share the queue, so recovery goes by leases only. */
  get shared(): boolean {
    return this.db.dialect === 'postgres';
  }

  /** Calls `onChange` whenever any process changes the queue (enqueue, requeue, finish). */
  listen(onChange: () => void): Promise<() => void> {
    return this.db.listen(jobsChannel, () => onChange());
  }

  /** Records a Slack message once; returns undefined when (channel, ts) was seen before. */
  async enqueueForMessage<K extends JobKind>(input: NewJob<K>): Promise<JobOf<K> | undefined> {
    const job = await this.db.transaction(async (tx) => {
      const now = this.clock();
      if (!(await recordMessage(tx, input.channel, input.messageTs, now))) return undefined;
      const inserted = await this.insert(tx, input, now);
      await tx.run(
        'UPDATE slack_messages SET job_id = ? WHERE channel = ? AND ts = ?',
        inserted.id,
        input.channel,
        input.messageTs,
      );
      return inserted;
    });
    if (job) await this.wake();
    return job;
  }

  /** Marks a Slack message as seen without a job (ignored or handled inline). False if seen before. */
  markSeen(channel: string, ts: string): Promise<boolean> {
    return recordMessage(this.db, channel, ts, this.clock());
  }

  async enqueue<K extends JobKind>(input: NewJob<K>): Promise<JobOf<K>> {
    const job = await this.insert(this.db, input, this.clock());
    await this.wake();
    return job;
  }

  /** Any row, readable or not; with `kind`, only a readable job of that kind. */
  get(id: string): Promise<StoredJob | undefined>;
  get<K extends JobKind>(id: string, kind: K): Promise<JobOf<K> | undefined>;
  async get(id: string, kind?: JobKind): Promise<StoredJob | undefined> {
    const job = await readJob(this.db, id);
    return kind === undefined || job?.kind === kind ? job : undefined;
  }

  /**
   * Claims the oldest claimable job for `owner`, so a thread's follow-ups run in order while
   * other threads proceed in parallel. The partial unique index jobs_one_active_per_thread
   * is the hard guarantee of one running job per thread; a claim that collides with another
   * process's claim in the same thread tries again.
   */
  async claimNext(owner: string, leaseMs: number): Promise<StoredJob | undefined> {
    for (let attempt = 1; attempt <= claimTries; attempt++) {
      try {
        const row = await this.claimOnce(owner, leaseMs);
        return row ? toJob(row) : undefined;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    return undefined;
  }

  /** Extends the lease; false when `owner` no longer holds the job (taken over, or ended). */
  async heartbeat(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const { changes } = await this.db.run(
      `UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'running'`,
      this.clock() + leaseMs,
      id,
      owner,
    );
    return changes === 1;
  }

  /**
   * The result is checked against the kind's schema before it is stored: never write what
   * cannot be read. With `owner`, only while that process holds the job; true when written.
   */
  async complete<K extends JobKind>(
    job: Pick<JobOf<K>, 'id' | 'kind'>,
    result?: ResultOf<K>,
    options: HeldBy = {},
  ): Promise<boolean> {
    const stored = result === undefined ? undefined : checked(job.kind, 'result', result);
    return this.finish(job.id, 'succeeded', stored === undefined ? {} : { result: stored }, options);
  }

  fail(
    id: string,
    error: { code: ErrorCode; message: string; referenceId: string },
    options: HeldBy = {},
  ): Promise<boolean> {
    return this.finish(id, 'failed', { error }, options);
  }

  markCancelled(id: string, options: HeldBy = {}): Promise<boolean> {
    return this.finish(id, 'cancelled', {}, options);
  }

  /** Queued and waiting jobs are cancelled at once; running ones get a flag their worker acts on. */
  async requestCancel(id: string): Promise<CancelOutcome> {
    const outcome = await this.db.transaction(async (tx): Promise<CancelOutcome> => {
      const job = await readJob(tx, id);
      if (!job) return 'not-found';
      if (finished.includes(job.status)) return 'already-finished';
      const idle = { sql: ` AND status IN ('queued', 'waiting')`, params: [] };
      if (await this.finishOn(tx, id, 'cancelled', {}, idle)) return 'cancelled';
      // Claimed in the meantime, or running all along.
      await tx.run('UPDATE jobs SET cancel_requested = 1 WHERE id = ?', id);
      return 'cancel-requested';
    });
    if (outcome === 'cancelled') await this.wake();
    return outcome;
  }

  async setStatusTs(id: string, ts: string): Promise<void> {
    await this.db.run('UPDATE jobs SET status_ts = ? WHERE id = ?', ts, id);
  }

  /**
   * The process that took the message posted the job's status message (`ts`), or could not
   * (undefined). A job never announced has no status_ts at all: a pool in another process
   * that claimed it first waits for this before it starts, so the thread gets one message.
   */
  async announced(id: string, ts: string | undefined): Promise<void> {
    await this.db.run('UPDATE jobs SET status_ts = ? WHERE id = ? AND status_ts IS NULL', ts ?? '', id);
  }

  async updatePayload<K extends JobKind>(
    job: Pick<JobOf<K>, 'id' | 'kind'>,
    payload: PayloadOf<K>,
    options: HeldBy = {},
  ): Promise<boolean> {
    const only = options.owner ? heldBy(options.owner) : anyState;
    const { changes } = await this.db.run(
      `UPDATE jobs SET payload = ? WHERE id = ? AND kind = ?${only.sql}`,
      checked(job.kind, 'payload', payload),
      job.id,
      job.kind,
      ...only.params,
    );
    return changes === 1;
  }

  /** Parks a job (waiting for a person) without holding a worker slot; with `owner`, only its holder's. */
  async park(id: string, until: number, options: HeldBy = {}): Promise<boolean> {
    const only = options.owner ? heldBy(options.owner) : anyState;
    const { changes } = await this.db.run(
      `UPDATE jobs SET status = 'waiting', wait_until = ?, lease_owner = NULL, lease_until = NULL
       WHERE id = ?${only.sql}`,
      until,
      id,
      ...only.params,
    );
    return changes === 1;
  }

  /**
   * Puts a job back in line: a waiting one (the answer arrived), or, with `owner`, a running
   * one that process holds (drain on shutdown). Never another process's running job.
   */
  async requeue(id: string, options: { refundAttempt?: boolean; owner?: string } = {}): Promise<boolean> {
    const only = options.owner
      ? {
          sql: ` AND (status = 'waiting' OR (status = 'running' AND lease_owner = ?))`,
          params: [options.owner],
        }
      : { sql: ` AND status = 'waiting'`, params: [] };
    return this.backInLine(id, options.refundAttempt ?? false, only);
  }

  /** Waiting jobs whose time ran out. */
  expiredWaits(): Promise<StoredJob[]> {
    return this.rows(
      `SELECT * FROM jobs WHERE status = 'waiting' AND wait_until <= ? ORDER BY seq`,
      this.clock(),
    );
  }

  /** Puts waiting jobs whose time ran out back in line; each by one process only. Returns those. */
  async resumeExpiredWaits(): Promise<StoredJob[]> {
    const resumed: StoredJob[] = [];
    for (const job of await this.expiredWaits()) {
      const expired = { sql: ` AND status = 'waiting' AND wait_until <= ?`, params: [this.clock()] };
      if (await this.backInLine(job.id, true, expired)) resumed.push(job);
    }
    return resumed;
  }

  /**
   * Running jobs whose lease expired (or, with `all`, every running job: the start of the only
   * process) go back to the queue while attempts remain, otherwise become 'interrupted'. Each
   * change is conditional on the lease still being expired, so two processes recovering at
   * once act on a job once, and a holder that heartbeats in time keeps it.
   */
  async recover(options: { all: boolean }): Promise<{ retried: StoredJob[]; interrupted: StoredJob[] }> {
    const now = this.clock();
    const stale = options.all
      ? await this.rows(`SELECT * FROM jobs WHERE status = 'running' ORDER BY seq`)
      : await this.rows(`SELECT * FROM jobs WHERE status = 'running' AND lease_until < ? ORDER BY seq`, now);
    const still: Condition = options.all
      ? { sql: ` AND status = 'running'`, params: [] }
      : { sql: ` AND status = 'running' AND lease_until < ?`, params: [now] };
    const retried: StoredJob[] = [];
    const interrupted: StoredJob[] = [];
    for (const job of stale) {
      if (job.attempts < job.maxAttempts) {
        if (await this.backInLine(job.id, false, still)) retried.push(job);
        continue;
      }
      const error = {
        code: 'job-interrupted' as const,
        message: 'shipmate stopped while working on it',
        referenceId: '',
      };
      if (await this.finishOn(this.db, job.id, 'interrupted', { error }, still)) interrupted.push(job);
    }
    if (interrupted.length > 0) await this.wake();
    return { retried, interrupted };
  }

  /** How many queued jobs are ahead of this one (0 = next). */
  async positionOf(id: string): Promise<number> {
    const job = await this.get(id);
    if (!job) return 0;
    const row = await this.db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued' AND seq < ?`,
      job.seq,
    );
    return row?.n ?? 0;
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(
      ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'interrupted'].map((s) => [s, 0]),
    ) as Record<JobStatus, number>;
    const rows = await this.db.all<{ status: JobStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM jobs GROUP BY status',
    );
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** Jobs in a thread, oldest first. */
  inThread(channel: string, threadTs: string): Promise<StoredJob[]> {
    return this.rows(
      'SELECT * FROM jobs WHERE channel = ? AND thread_ts = ? ORDER BY seq',
      channel,
      threadTs,
    );
  }

  /** Finished jobs in a time window, for digests. */
  finishedBetween(from: number, to: number, channel?: string): Promise<StoredJob[]> {
    return channel
      ? this.rows(
          'SELECT * FROM jobs WHERE finished_at >= ? AND finished_at < ? AND channel = ? ORDER BY seq',
          from,
          to,
          channel,
        )
      : this.rows('SELECT * FROM jobs WHERE finished_at >= ? AND finished_at < ? ORDER BY seq', from, to);
  }

  /**
   * One claim: a single statement on PostgreSQL (SKIP LOCKED), a transaction on SQLite. On
   * PostgreSQL a fresh job of a thread whose worktree another live process holds, with a slot
   * free, is left to that process for a few seconds: it continues without rebuilding.
   */
  private async claimOnce(owner: string, leaseMs: number): Promise<JobRow | undefined> {
    const now = this.clock();
    const lease = [owner, now + leaseMs, now];
    if (this.db.dialect === 'postgres') {
      return this.db.get<JobRow>(
        `UPDATE jobs SET ${claimSet}
         WHERE id = (SELECT j.id FROM jobs j WHERE ${claimable} AND ${notHeldElsewhere}
                     ORDER BY j.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        ...lease,
        now - preferHolderMs,
        owner,
        now - processAliveMs,
      );
    }
    return this.db.transaction(async (tx) => {
      const next = await tx.get<{ id: string }>(
        `SELECT j.id FROM jobs j WHERE ${claimable} ORDER BY j.seq LIMIT 1`,
      );
      if (!next) return undefined;
      return tx.get<JobRow>(`UPDATE jobs SET ${claimSet} WHERE id = ? RETURNING *`, ...lease, next.id);
    });
  }

  private async insert<K extends JobKind>(q: SqlQueries, input: NewJob<K>, now: number): Promise<JobOf<K>> {
    const id = newJobId(now);
    const payload = checked(input.kind, 'payload', input.payload);
    // PostgreSQL takes seq from the jobs_seq sequence: MAX(seq)+1 is not safe across processes.
    const [seqColumn, seqValue] =
      q.dialect === 'postgres' ? ['', ''] : ['seq, ', '(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), '];
    const row = await q.get<JobRow>(
      `INSERT INTO jobs (id, ${seqColumn}kind, status, channel, thread_ts, message_ts, user_id, payload, max_attempts, created_at)
       VALUES (?, ${seqValue}?, 'queued', ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      id,
      input.kind,
      input.channel,
      input.threadTs,
      input.messageTs,
      input.userId,
      payload,
      input.maxAttempts ?? 2,
      now,
    );
    const job = row ? toJob(row) : undefined;
    if (job?.kind !== input.kind) throw new Error(`job ${id} could not be read back`);
    return job as JobOf<K>;
  }

  private async backInLine(id: string, refundAttempt: boolean, only: Condition): Promise<boolean> {
    const { changes } = await this.db.run(
      `UPDATE jobs SET status = 'queued', wait_until = NULL, lease_owner = NULL, lease_until = NULL,
         attempts = CASE WHEN ? = 1 AND attempts > 0 THEN attempts - 1 ELSE attempts END
       WHERE id = ?${only.sql}`,
      refundAttempt ? 1 : 0,
      id,
      ...only.params,
    );
    if (changes > 0) await this.wake();
    return changes > 0;
  }

  private async finish(id: string, status: JobStatus, extra: FinishExtra, options: HeldBy): Promise<boolean> {
    const written = await this.finishOn(
      this.db,
      id,
      status,
      extra,
      options.owner ? heldBy(options.owner) : anyState,
    );
    if (written) await this.wake();
    return written;
  }

  private async finishOn(
    q: SqlQueries,
    id: string,
    status: JobStatus,
    extra: FinishExtra,
    only: Condition,
  ): Promise<boolean> {
    const { changes } = await q.run(
      `UPDATE jobs SET status = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL, wait_until = NULL,
         result = COALESCE(?, result), error_code = ?, error_message = ?, reference_id = ? WHERE id = ?${only.sql}`,
      status,
      this.clock(),
      extra.result ?? null,
      extra.error?.code ?? null,
      extra.error?.message ?? null,
      extra.error?.referenceId || null,
      id,
      ...only.params,
    );
    return changes > 0;
  }

  /** Wakes every pool listening, in this process and others. */
  private async wake(): Promise<void> {
    try {
      await this.db.notify(jobsChannel);
    } catch {
      // The change itself is stored; every pool also polls, so a lost wakeup only costs latency.
    }
  }

  private async rows(sql: string, ...params: unknown[]): Promise<StoredJob[]> {
    return (await this.db.all<JobRow>(sql, ...params)).map(toJob);
  }
}

interface FinishExtra {
  result?: string;
  error?: { code: ErrorCode; message: string; referenceId: string };
}

/** The (channel, ts) ledger's primary key decides which delivery of a message counts. */
async function recordMessage(q: SqlQueries, channel: string, ts: string, now: number): Promise<boolean> {
  const { changes } = await q.run(
    'INSERT INTO slack_messages (channel, ts, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    channel,
    ts,
    now,
  );
  return changes > 0;
}

async function readJob(q: SqlQueries, id: string): Promise<StoredJob | undefined> {
  const row = await q.get<JobRow>('SELECT * FROM jobs WHERE id = ?', id);
  return row ? toJob(row) : undefined;
}
