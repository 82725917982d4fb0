import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { Database } from '../storage/database.js';
import {
  isJobKind,
  type JobColumns,
  type JobKind,
  type JobOf,
  type JobStatus,
  jobKinds,
  type NewJob,
  type PayloadOf,
  type ResultOf,
  type StoredJob,
} from './job-kinds.js';

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

export type CancelOutcome = 'cancelled' | 'cancel-requested' | 'already-finished' | 'not-found';

const finished: JobStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/**
 * The durable queue. Every state change is one SQL statement (or one transaction), so a
 * crash leaves each job in exactly one state. Dedupe of Slack deliveries lives here too:
 * the (channel, ts) ledger and the job insert are one transaction.
 */
export class JobQueue {
  private readonly clock: () => number;

  constructor(
    private readonly db: Database,
    options: { clock?: () => number } = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Records a Slack message once; returns undefined when (channel, ts) was seen before. */
  enqueueForMessage<K extends JobKind>(input: NewJob<K>): JobOf<K> | undefined {
    return this.db.transaction(() => {
      const now = this.clock();
      const inserted = this.db
        .prepare('INSERT OR IGNORE INTO slack_messages (channel, ts, received_at) VALUES (?, ?, ?)')
        .run(input.channel, input.messageTs, now);
      if (inserted.changes === 0) return undefined;
      const job = this.insert(input, now);
      this.db
        .prepare('UPDATE slack_messages SET job_id = ? WHERE channel = ? AND ts = ?')
        .run(job.id, input.channel, input.messageTs);
      return job;
    })();
  }

  /** Marks a Slack message as seen without a job (ignored or handled inline). False if seen before. */
  markSeen(channel: string, ts: string): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO slack_messages (channel, ts, received_at) VALUES (?, ?, ?)')
      .run(channel, ts, this.clock());
    return result.changes > 0;
  }

  enqueue<K extends JobKind>(input: NewJob<K>): JobOf<K> {
    return this.insert(input, this.clock());
  }

  /** Any row, readable or not; with `kind`, only a readable job of that kind. */
  get(id: string): StoredJob | undefined;
  get<K extends JobKind>(id: string, kind: K): JobOf<K> | undefined;
  get(id: string, kind?: JobKind): StoredJob | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id);
    const job = row ? toJob(row as JobRow) : undefined;
    return kind === undefined || job?.kind === kind ? job : undefined;
  }

  /**
   * Claims the oldest queued job whose thread has nothing running or waiting, so a
   * thread's follow-ups run in order while other threads proceed in parallel.
   */
  claimNext(owner: string, leaseMs: number): StoredJob | undefined {
    return this.db.transaction(() => {
      const now = this.clock();
      const row = this.db
        .prepare(
          `SELECT * FROM jobs j WHERE j.status = 'queued'
             AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.channel = j.channel AND o.thread_ts = j.thread_ts
                             AND o.status IN ('running', 'waiting'))
             AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.channel = j.channel AND e.thread_ts = j.thread_ts
                             AND e.status = 'queued' AND e.seq < j.seq)
           ORDER BY j.seq LIMIT 1`,
        )
        .get() as JobRow | undefined;
      if (!row) return undefined;
      this.db
        .prepare(
          `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?,
             started_at = COALESCE(started_at, ?) WHERE id = ?`,
        )
        .run(owner, now + leaseMs, now, row.id);
      return this.get(row.id);
    })();
  }

  heartbeat(id: string, owner: string, leaseMs: number): void {
    this.db
      .prepare(`UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'running'`)
      .run(this.clock() + leaseMs, id, owner);
  }

  /** The result is checked against the kind's schema before it is stored: never write what cannot be read. */
  complete<K extends JobKind>(job: Pick<JobOf<K>, 'id' | 'kind'>, result?: ResultOf<K>): void {
    const stored = result === undefined ? undefined : checked(job.kind, 'result', result);
    this.finish(job.id, 'succeeded', stored === undefined ? {} : { result: stored });
  }

  fail(id: string, error: { code: ErrorCode; message: string; referenceId: string }): void {
    this.finish(id, 'failed', { error });
  }

  markCancelled(id: string): void {
    this.finish(id, 'cancelled', {});
  }

  /** Queued jobs are cancelled at once; running ones get a flag the worker acts on. */
  requestCancel(id: string): CancelOutcome {
    return this.db.transaction((): CancelOutcome => {
      const job = this.get(id);
      if (!job) return 'not-found';
      if (finished.includes(job.status)) return 'already-finished';
      if (job.status === 'queued' || job.status === 'waiting') {
        this.finish(id, 'cancelled', {});
        return 'cancelled';
      }
      this.db.prepare('UPDATE jobs SET cancel_requested = 1 WHERE id = ?').run(id);
      return 'cancel-requested';
    })();
  }

  setStatusTs(id: string, ts: string): void {
    this.db.prepare('UPDATE jobs SET status_ts = ? WHERE id = ?').run(ts, id);
  }

  updatePayload<K extends JobKind>(job: Pick<JobOf<K>, 'id' | 'kind'>, payload: PayloadOf<K>): void {
    this.db
      .prepare('UPDATE jobs SET payload = ? WHERE id = ? AND kind = ?')
      .run(checked(job.kind, 'payload', payload), job.id, job.kind);
  }

  /** Parks a running job (waiting for a person) without holding a worker slot. */
  park(id: string, until: number): void {
    this.db
      .prepare(
        `UPDATE jobs SET status = 'waiting', wait_until = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`,
      )
      .run(until, id);
  }

  /** Puts a waiting or running job back in line (answer arrived, or drain on shutdown). */
  requeue(id: string, options: { refundAttempt?: boolean } = {}): void {
    this.db
      .prepare(
        `UPDATE jobs SET status = 'queued', wait_until = NULL, lease_owner = NULL, lease_until = NULL,
           attempts = CASE WHEN ? THEN MAX(attempts - 1, 0) ELSE attempts END
         WHERE id = ? AND status IN ('waiting', 'running')`,
      )
      .run(options.refundAttempt ? 1 : 0, id);
  }

  /** Waiting jobs whose time ran out. */
  expiredWaits(): StoredJob[] {
    return this.rows(
      `SELECT * FROM jobs WHERE status = 'waiting' AND wait_until <= ? ORDER BY seq`,
      this.clock(),
    );
  }

  /**
   * After a crash: running jobs whose lease expired (or all running, at start of the only
   * process) go back to the queue while attempts remain, otherwise become 'interrupted'.
   */
  recover(options: { all: boolean }): { retried: StoredJob[]; interrupted: StoredJob[] } {
    return this.db.transaction(() => {
      const stale = options.all
        ? this.rows(`SELECT * FROM jobs WHERE status = 'running' ORDER BY seq`)
        : this.rows(
            `SELECT * FROM jobs WHERE status = 'running' AND lease_until < ? ORDER BY seq`,
            this.clock(),
          );
      const retried: StoredJob[] = [];
      const interrupted: StoredJob[] = [];
      for (const job of stale) {
        if (job.attempts < job.maxAttempts) {
          this.requeue(job.id);
          retried.push(job);
        } else {
          this.finish(job.id, 'interrupted', {
            error: {
              code: 'job-interrupted',
              message: 'shipmate stopped while working on it',
              referenceId: '',
            },
          });
          interrupted.push(job);
        }
      }
      return { retried, interrupted };
    })();
  }

  /** How many queued jobs are ahead of this one (0 = next). */
  positionOf(id: string): number {
    const job = this.get(id);
    if (!job) return 0;
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued' AND seq < ?`)
      .get(job.seq) as { n: number };
    return row.n;
  }

  counts(): Record<JobStatus, number> {
    const counts = Object.fromEntries(
      ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'interrupted'].map((s) => [s, 0]),
    ) as Record<JobStatus, number>;
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all() as Array<{
      status: JobStatus;
      n: number;
    }>;
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** Jobs in a thread, oldest first. */
  inThread(channel: string, threadTs: string): StoredJob[] {
    return this.rows(
      'SELECT * FROM jobs WHERE channel = ? AND thread_ts = ? ORDER BY seq',
      channel,
      threadTs,
    );
  }

  /** Finished jobs in a time window, for digests. */
  finishedBetween(from: number, to: number, channel?: string): StoredJob[] {
    return channel
      ? this.rows(
          'SELECT * FROM jobs WHERE finished_at >= ? AND finished_at < ? AND channel = ? ORDER BY seq',
          from,
          to,
          channel,
        )
      : this.rows('SELECT * FROM jobs WHERE finished_at >= ? AND finished_at < ? ORDER BY seq', from, to);
  }

  private insert<K extends JobKind>(input: NewJob<K>, now: number): JobOf<K> {
    const id = newJobId(now);
    const payload = checked(input.kind, 'payload', input.payload);
    this.db
      .prepare(
        `INSERT INTO jobs (id, seq, kind, status, channel, thread_ts, message_ts, user_id, payload, max_attempts, created_at)
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
    const job = this.get(id, input.kind);
    if (!job) throw new Error(`job ${id} could not be read back`);
    return job;
  }

  private finish(
    id: string,
    status: JobStatus,
    extra: {
      result?: string;
      error?: { code: ErrorCode; message: string; referenceId: string };
    },
  ): void {
    this.db
      .prepare(
        `UPDATE jobs SET status = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL, wait_until = NULL,
           result = COALESCE(?, result), error_code = ?, error_message = ?, reference_id = ? WHERE id = ?`,
      )
      .run(
        status,
        this.clock(),
        extra.result ?? null,
        extra.error?.code ?? null,
        extra.error?.message ?? null,
        extra.error?.referenceId || null,
        id,
      );
  }

  private rows(sql: string, ...params: unknown[]): StoredJob[] {
    return (this.db.prepare(sql).all(...params) as JobRow[]).map(toJob);
  }
}

/** Time-ordered, unguessable ids ("j" + base36 time + random). */
export function newJobId(now: number): string {
  return `j${now.toString(36)}${randomBytes(5).toString('hex')}`;
}

interface JobRow {
  id: string;
  seq: number;
  kind: string;
  status: JobStatus;
  channel: string;
  thread_ts: string;
  message_ts: string;
  user_id: string;
  payload: string;
  attempts: number;
  max_attempts: number;
  status_ts: string | null;
  cancel_requested: number;
  wait_until: number | null;
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  reference_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

function toJob(row: JobRow): StoredJob {
  const columns: JobColumns = {
    id: row.id,
    seq: row.seq,
    status: row.status,
    channel: row.channel,
    threadTs: row.thread_ts,
    messageTs: row.message_ts,
    userId: row.user_id,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    statusTs: row.status_ts ?? undefined,
    cancelRequested: row.cancel_requested === 1,
    waitUntil: row.wait_until ?? undefined,
    errorCode: row.error_code ?? undefined,
    errorMessage: row.error_message ?? undefined,
    referenceId: row.reference_id ?? undefined,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
  };
  const unreadable = (problem: string): StoredJob => ({
    ...columns,
    kind: 'unreadable',
    storedKind: row.kind,
    problem,
  });
  if (!isJobKind(row.kind)) return unreadable(`unknown job kind "${row.kind}"`);
  const schemas = jobKinds[row.kind];
  const payload = parseColumn(schemas.payload, row.payload);
  if (!payload.ok) return unreadable(`payload: ${payload.problem}`);
  // Rows finished before results were typed stored {} for "no result".
  const result =
    row.result === null || row.result === '{}' ? undefined : parseColumn(schemas.result, row.result);
  if (result && !result.ok) return unreadable(`result: ${result.problem}`);
  // The kind and the schemas it was parsed with come from the same entry of jobKinds.
  return { ...columns, kind: row.kind, payload: payload.value, result: result?.value } as StoredJob;
}

/** JSON columns are written only by this module, but another version may have written them. */
function parseColumn(
  schema: z.ZodType,
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}` };
}

/** The JSON to store, after checking it against the kind's schema; a mismatch is a bug, so it throws. */
function checked(kind: JobKind, column: 'payload' | 'result', value: unknown): string {
  const parsed = jobKinds[kind][column].safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `refusing to store a ${kind} ${column} that does not fit its schema: ${parsed.error.message}`,
    );
  }
  return JSON.stringify(parsed.data);
}
