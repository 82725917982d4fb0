import { Writable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import type { NewJob, StoredJob } from '../../src/jobs/job-kinds.js';
import { JobQueue, type JobQueueOptions } from '../../src/jobs/job-queue.js';
import type { JobHandlers, Notifier, Reply } from '../../src/jobs/ports.js';
import { WorkerPool } from '../../src/jobs/worker-pool.js';
import { createLogger } from '../../src/log.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { PostgresSql } from '../../src/storage/postgres-sql.js';
import { markUnavailable } from '../../src/storage/sql.js';
import { waitFor } from '../support/app-process.js';
import { type Backend, createDatabaseLocation, describeBackends } from '../support/backends.js';
import { freePort } from '../support/postgres.js';

/**
 * The queue's contract on both backends, as several shipmate processes sharing one database
 * rely on it: each Slack message becomes one job, one job per thread runs at a time whoever
 * claims, an expired lease is taken over once, and a process that lost its lease writes
 * nothing. Time is an injected clock; nothing sleeps.
 */
const channel = 'C0SHOP';
const start = 1_780_000_000_000;

function agentJob(threadTs: string, messageTs = threadTs): NewJob<'agent'> {
  return {
    kind: 'agent',
    channel,
    threadTs,
    messageTs,
    userId: 'U0ASK',
    payload: { text: `about ${messageTs}` },
  };
}

/** A clock a test moves by hand. */
function manualClock(at = start) {
  const clock = { now: at, read: () => clock.now };
  return clock;
}

interface Processes {
  /** The database as the first process sees it (for checks in SQL). */
  db: Database;
  first: JobQueue;
  second: JobQueue;
}

describeBackends('the job queue', (open, backend) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /**
   * Two processes on one database. PostgreSQL: two handles (two connection pools) on one
   * database, as two processes have. SQLite is one process: both queues share its one
   * connection (two connections in one process block each other's event loop on BEGIN).
   */
  async function twoProcesses(
    first: JobQueueOptions = {},
    second: JobQueueOptions = first,
  ): Promise<Processes> {
    if (backend === 'sqlite') {
      const db = await open();
      return { db, first: new JobQueue(db, first), second: new JobQueue(db, second) };
    }
    const { db, other } = await openTwice(backend);
    return { db, first: new JobQueue(db, first), second: new JobQueue(other, second) };
  }

  async function openTwice(on: Backend): Promise<{ db: Database; other: Database }> {
    const location = await createDatabaseLocation(on);
    const db = await openDatabase(location.location);
    const other = await openDatabase(location.location);
    cleanups.push(async () => {
      await db.close();
      await other.close();
      await location.remove();
    });
    return { db, other };
  }

  const activeByThread = (db: Database) =>
    db.all<{ thread_ts: string; n: number }>(
      `SELECT thread_ts, COUNT(*) AS n FROM jobs WHERE status IN ('running', 'waiting')
       GROUP BY thread_ts ORDER BY thread_ts`,
    );

  it('makes one job of a Slack message that two processes receive at the same instant', async () => {
    const { first, second } = await twoProcesses();
    const pairs = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        Promise.all([first, second].map((queue) => queue.enqueueForMessage(agentJob('1.0', `1.${index}`)))),
      ),
    );
    for (const pair of pairs) expect(pair.filter((job) => job !== undefined)).toHaveLength(1);
    const jobs = await first.inThread(channel, '1.0');
    expect(jobs.map((job) => job.messageTs).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `1.${i}`));
    // One order for all: every job its own place in line.
    expect(new Set(jobs.map((job) => job.seq)).size).toBe(10);

    // Slack's retry of a delivery, to either process, makes nothing new.
    expect(await second.enqueueForMessage(agentJob('1.0', '1.3'))).toBeUndefined();
    expect(await first.markSeen(channel, '1.3')).toBe(false);
    // A message handled inline is recorded too, so its retry is not taken as a request.
    expect(await first.markSeen(channel, '9.9')).toBe(true);
    expect(await second.enqueueForMessage(agentJob('9.9'))).toBeUndefined();
  });

  it('still knows the messages it took after a restart (a new handle on the same database)', async () => {
    const location = await createDatabaseLocation(backend);
    const before = await openDatabase(location.location);
    expect(await new JobQueue(before).enqueueForMessage(agentJob('2.0'))).toBeDefined();
    await before.close();
    const after = await openDatabase(location.location);
    cleanups.push(async () => {
      await after.close();
      await location.remove();
    });
    const queue = new JobQueue(after);
    expect(await queue.enqueueForMessage(agentJob('2.0'))).toBeUndefined();
    const next = await queue.enqueue(agentJob('2.0', '2.1'));
    expect(next.seq).toBeGreaterThan((await queue.inThread(channel, '2.0'))[0]?.seq ?? Infinity);
  });

  it('runs at most one job per thread however many claims from two processes race for it', async () => {
    const { db, first, second } = await twoProcesses();
    const threads = ['3.0', '3.1', '3.2', '3.3', '3.4'];
    for (let round = 0; round < 4; round++) {
      for (const thread of threads) await first.enqueue(agentJob(thread, `${thread}.${round}`));
    }
    for (let round = 0; round < 4; round++) {
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          index % 2 === 0 ? first.claimNext('A', 60_000) : second.claimNext('B', 60_000),
        ),
      );
      const claimed = claims.flatMap((job, index) =>
        job ? [{ job, owner: index % 2 === 0 ? 'A' : 'B' }] : [],
      );
      // One per thread, and in each thread the oldest job still waiting.
      expect(claimed.map(({ job }) => job.threadTs).sort()).toEqual(threads);
      expect(claimed.map(({ job }) => job.messageTs).sort()).toEqual(threads.map((t) => `${t}.${round}`));
      expect((await activeByThread(db)).every((row) => row.n === 1)).toBe(true);
      for (const { job, owner } of claimed) {
        const queue = owner === 'A' ? first : second;
        expect(await queue.complete({ id: job.id, kind: 'agent' }, undefined, { owner })).toBe(true);
      }
    }
    expect((await first.counts()).succeeded).toBe(20);
  });

  it('claims the oldest job first, and a thread’s follow-up only after the one before it', async () => {
    const { first } = await twoProcesses();
    const a1 = await first.enqueue(agentJob('4.0'));
    const b1 = await first.enqueue(agentJob('4.1'));
    const a2 = await first.enqueue(agentJob('4.0', '4.0.1'));
    expect((await first.claimNext('A', 60_000))?.id).toBe(a1.id);
    expect((await first.claimNext('A', 60_000))?.id).toBe(b1.id);
    expect(await first.claimNext('A', 60_000)).toBeUndefined();
    await first.complete(a1, undefined, { owner: 'A' });
    expect(await first.claimNext('A', 60_000)).toMatchObject({ id: a2.id, status: 'running', attempts: 1 });
  });

  it('gives a job whose holder stopped heartbeating to another process once, then reports it interrupted', async () => {
    const clock = manualClock();
    const { first, second } = await twoProcesses({ clock: clock.read });
    const job = await first.enqueue(agentJob('5.0'));
    expect(await first.claimNext('A', 1_000)).toMatchObject({ id: job.id, attempts: 1 });

    clock.now += 1_000;
    expect(await second.recover({ all: false })).toEqual({ retried: [], interrupted: [] });
    clock.now += 1;
    // Both processes notice at once; the job goes back in line once.
    const rounds = await Promise.all([first.recover({ all: false }), second.recover({ all: false })]);
    expect(rounds.flatMap((round) => round.retried.map((retried) => retried.id))).toEqual([job.id]);
    expect(await second.claimNext('B', 1_000)).toMatchObject({ id: job.id, attempts: 2 });

    // The first holder comes back to life: it no longer holds the job and cannot finish it.
    expect(await first.heartbeat(job.id, 'A', 1_000)).toBe(false);
    expect(await first.complete(job, undefined, { owner: 'A' })).toBe(false);
    expect(
      await first.fail(job.id, { code: 'internal-error', message: 'x', referenceId: 'r' }, { owner: 'A' }),
    ).toBe(false);
    expect(await second.heartbeat(job.id, 'B', 1_000)).toBe(true);
    expect(await first.get(job.id)).toMatchObject({ status: 'running', attempts: 2 });

    // Its second holder dies too: no attempt is left.
    clock.now += 1_001;
    const last = await first.recover({ all: false });
    expect(last.retried).toEqual([]);
    expect(last.interrupted.map((interrupted) => interrupted.id)).toEqual([job.id]);
    expect(await first.get(job.id)).toMatchObject({ status: 'interrupted', errorCode: 'job-interrupted' });
    expect(await second.heartbeat(job.id, 'B', 1_000)).toBe(false);
  });

  it('puts every running job back at the start of the only process, however fresh its lease', async () => {
    const { first } = await twoProcesses();
    const job = await first.enqueue(agentJob('6.0'));
    await first.claimNext('A', 60_000);
    expect((await first.recover({ all: false })).retried).toEqual([]);
    expect((await first.recover({ all: true })).retried.map((retried) => retried.id)).toEqual([job.id]);
    expect(await first.get(job.id)).toMatchObject({ status: 'queued', attempts: 1 });
  });

  it('drains only the jobs a process holds', async () => {
    const { first, second } = await twoProcesses();
    const mine = await first.enqueue(agentJob('7.0'));
    const theirs = await first.enqueue(agentJob('7.1'));
    await first.claimNext('A', 60_000);
    await second.claimNext('B', 60_000);
    expect(await first.requeue(theirs.id, { refundAttempt: true, owner: 'A' })).toBe(false);
    // Without an owner only a waiting job moves: never someone's running one.
    expect(await first.requeue(theirs.id, { refundAttempt: true })).toBe(false);
    expect(await first.requeue(mine.id, { refundAttempt: true, owner: 'A' })).toBe(true);
    expect(await first.get(mine.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await first.get(theirs.id)).toMatchObject({ status: 'running', attempts: 1 });
  });

  it('cancels queued and waiting jobs at once, and flags a running one for its worker', async () => {
    const { first, second } = await twoProcesses();
    const running = await first.enqueue(agentJob('8.0'));
    const queued = await first.enqueue(agentJob('8.0', '8.0.1'));
    const waiting = await first.enqueue(agentJob('8.1'));
    await first.claimNext('A', 60_000);
    await first.claimNext('A', 60_000);
    await first.park(waiting.id, start + 60_000, { owner: 'A' });
    expect(await second.requestCancel(queued.id)).toBe('cancelled');
    expect(await second.requestCancel(waiting.id)).toBe('cancelled');
    expect(await second.requestCancel(running.id)).toBe('cancel-requested');
    expect(await first.get(running.id)).toMatchObject({ status: 'running', cancelRequested: true });
    expect(await second.requestCancel(queued.id)).toBe('already-finished');
    expect(await second.requestCancel('j-nobody')).toBe('not-found');
    expect(await first.markCancelled(running.id, { owner: 'A' })).toBe(true);
    expect(await first.counts()).toMatchObject({ cancelled: 3, running: 0, queued: 0, waiting: 0 });
  });

  it('parks a job without a worker slot and resumes an expired wait in one process only', async () => {
    const clock = manualClock();
    const { db, first, second } = await twoProcesses({ clock: clock.read });
    const asking = await first.enqueue(agentJob('9.0'));
    const followUp = await first.enqueue(agentJob('9.0', '9.0.1'));
    await first.claimNext('A', 60_000);
    expect(await first.park(asking.id, start + 1_000, { owner: 'B' })).toBe(false);
    expect(await first.park(asking.id, start + 1_000, { owner: 'A' })).toBe(true);
    expect(await first.get(asking.id)).toMatchObject({ status: 'waiting', waitUntil: start + 1_000 });
    expect(await activeByThread(db)).toEqual([{ thread_ts: '9.0', n: 1 }]);
    // The thread waits for the person: its follow-up is not claimed.
    expect(await second.claimNext('B', 60_000)).toBeUndefined();
    expect(await first.expiredWaits()).toEqual([]);

    clock.now += 1_000;
    expect((await second.expiredWaits()).map((job) => job.id)).toEqual([asking.id]);
    const resumed = await Promise.all([first.resumeExpiredWaits(), second.resumeExpiredWaits()]);
    expect(resumed.flat().map((job) => job.id)).toEqual([asking.id]);
    // The wait cost no attempt; it goes first again, before the follow-up.
    expect(await first.get(asking.id)).toMatchObject({ status: 'queued', attempts: 0, waitUntil: undefined });
    expect((await second.claimNext('B', 60_000))?.id).toBe(asking.id);
    expect(followUp.seq).toBeGreaterThan(asking.seq);

    // An answer that arrives for a job no longer waiting changes nothing.
    expect(await first.requeue(asking.id, { refundAttempt: true })).toBe(false);
    await second.park(asking.id, start + 60_000, { owner: 'B' });
    expect(await first.requeue(asking.id, { refundAttempt: true })).toBe(true);
    expect(await first.requeue(asking.id, { refundAttempt: true })).toBe(false);
  });

  it('counts jobs by status', async () => {
    const { first } = await twoProcesses();
    const done = await first.enqueue(agentJob('10.0'));
    await first.enqueue(agentJob('10.1'));
    const failing = await first.enqueue(agentJob('10.2'));
    await first.enqueue(agentJob('10.3'));
    await first.claimNext('A', 60_000);
    await first.claimNext('A', 60_000);
    await first.claimNext('A', 60_000);
    await first.complete(done, undefined, { owner: 'A' });
    await first.fail(
      failing.id,
      { code: 'internal-error', message: 'boom', referenceId: 'r1' },
      { owner: 'A' },
    );
    expect(await first.counts()).toEqual({
      queued: 1,
      running: 1,
      waiting: 0,
      succeeded: 1,
      failed: 1,
      cancelled: 0,
      interrupted: 0,
    });
    expect(await first.positionOf((await first.inThread(channel, '10.3'))[0]?.id ?? '')).toBe(0);
  });

  it('starts a job another process took only once that process posted its status message', async () => {
    const { first: taker, second: runner } = await twoProcesses();
    const bed = testBed();
    const seen: Array<string | undefined> = [];
    const handlers = handlersThat(async ({ job }) => {
      seen.push(job.statusTs);
      return { reply: { markdown: 'the answer' } };
    });
    const pool = new WorkerPool({ ...bed.options, queue: runner, owner: 'B', announceWaitMs: 10_000 });
    await pool.start(handlers);
    // The taking process stored the message; its status message is still on its way to Slack.
    const job = await taker.enqueueForMessage(agentJob('11.0'));
    await waitFor(() => pool.heldJobIds().includes(job!.id), 5_000, 'the other process to claim it');
    expect(seen).toEqual([]);
    await taker.announced(job!.id, 'status.taker');
    await waitFor(() => bed.finished.length === 1, 5_000, 'the job to finish');
    await pool.drain(0);
    // It ran in the taker's status message: the runner posted none of its own.
    expect(seen).toEqual(['status.taker']);
    expect(bed.posted).toEqual([]);
    expect(bed.replies.map((reply) => reply.markdown)).toEqual(['the answer']);
    // Posting failed (Slack down): the job starts anyway, and posts its own status message.
    const unposted = await taker.enqueueForMessage(agentJob('11.1'));
    await taker.announced(unposted!.id, undefined);
    expect(await taker.get(unposted!.id)).toMatchObject({ statusTs: '' });
  });

  it('wakes listening pools, in any process, when the queue changes', async () => {
    const { first, second } = await twoProcesses();
    let wakeups = 0;
    // SQLite is one process: its notifications stay on its one connection.
    await (backend === 'postgres' ? second : first).listen(() => {
      wakeups += 1;
    });
    const job = await first.enqueue(agentJob('12.0'));
    await waitFor(() => wakeups >= 1, 5_000, 'the wakeup of an enqueue');
    await first.claimNext('A', 60_000);
    await first.complete(job, undefined, { owner: 'A' });
    await waitFor(() => wakeups >= 2, 5_000, 'the wakeup of a finish');
  });

  it('stops a run whose lease another process took over, and writes or posts nothing of it', async () => {
    const {
      first: stalled,
      second: rescuer,
      db,
    } = await twoProcesses({ clock: () => start }, { clock: () => start + 10_000 });
    const bed = testBed();
    let reason: unknown;
    const handlers = handlersThat(async ({ signal }) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      reason = signal.reason;
      return { reply: { markdown: 'an answer nobody should see' } };
    });
    const pool = new WorkerPool({
      ...bed.options,
      queue: stalled,
      owner: 'A',
      leaseMs: 750,
      announceWaitMs: 0,
    });
    const job = await stalled.enqueue(agentJob('13.0'));
    await pool.start(handlers);
    await waitFor(() => pool.heldJobIds().includes(job.id), 5_000, 'the job to start');

    // Seen from the rescuer's clock the lease ran out: it takes the job over.
    expect((await rescuer.recover({ all: false })).retried.map((retried) => retried.id)).toEqual([job.id]);
    expect(await rescuer.claimNext('B', 60_000)).toMatchObject({ id: job.id, attempts: 2 });
    await waitFor(() => pool.runningCount === 0, 5_000, 'the stale run to stop');
    await pool.drain(0);

    expect(reason).toBeInstanceOf(Error);
    expect(bed.replies).toEqual([]);
    expect(bed.finished).toEqual([]);
    expect(bed.lines.some((line) => line.msg === 'job-lease-lost')).toBe(true);
    const row = await db.get<{ status: string; lease_owner: string; result: string | null }>(
      'SELECT status, lease_owner, result FROM jobs WHERE id = ?',
      job.id,
    );
    expect(row).toEqual({ status: 'running', lease_owner: 'B', result: null });
  });

  it('keeps a result through a database outage, and logs the outage once, not per try', async () => {
    const { first: queue } = await twoProcesses();
    const bed = testBed();
    const flaky = failingAt(queue, ['claimNext', 'complete']);
    const handlers = handlersThat(async () => {
      // The database goes away while the job works: its result must still land.
      flaky.failNext('complete', 3);
      return { reply: { markdown: 'the answer' } };
    });
    flaky.failNext('claimNext', 2);
    const pool = new WorkerPool({ ...bed.options, queue: flaky.queue, backoffMs: 5, announceWaitMs: 0 });
    const job = await queue.enqueue(agentJob('14.0'));
    await pool.start(handlers);
    await waitFor(() => bed.finished.length === 1, 10_000, 'the job to finish');
    await pool.drain(0);

    expect(flaky.failures).toEqual({ claimNext: 2, complete: 3 });
    expect(await queue.get(job.id)).toMatchObject({ status: 'succeeded' });
    expect(bed.replies.map((reply) => reply.markdown)).toEqual(['the answer']);
    const events = bed.lines.map((line) => line.event).filter(Boolean);
    expect(events).toEqual([
      'database-unavailable',
      'database-available',
      'database-unavailable',
      'database-available',
    ]);
  });
  it('puts a job back in line when the database goes away under its handler, and answers once it is back', async () => {
    const { first: queue } = await twoProcesses();
    const bed = testBed();
    const away = new PostgresSql(`postgres://postgres@127.0.0.1:${await freePort()}/gone`, bed.options.log);
    let calls = 0;
    const handlers = handlersThat(async () => {
      calls += 1;
      // A store call inside the handler meets a PostgreSQL that is not there (connection refused).
      if (calls === 1) await away.get('SELECT 1');
      return { reply: { markdown: 'the answer' } };
    });
    const pool = new WorkerPool({ ...bed.options, queue, backoffMs: 5, announceWaitMs: 0, pollMs: 20 });
    const job = await queue.enqueue(agentJob('15.0'));
    await pool.start(handlers);
    await waitFor(() => bed.finished.length === 1, 10_000, 'the job to finish');
    await pool.drain(0);

    expect(calls).toBe(2);
    // Not a failure the user has to retry: one answer, the attempt refunded.
    expect(bed.replies.map((reply) => reply.markdown)).toEqual(['the answer']);
    expect(await queue.get(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(bed.lines.some((line) => line.msg === 'job-failed')).toBe(false);
    await away.close();
  });

  // A model server or a repository's file names choose their own words: an error that only
  // says what a database outage says must fail the job once, not rerun it forever.
  it('fails a job whose error merely looks like a database outage, once', async () => {
    const { first: queue } = await twoProcesses();
    const bed = testBed();
    let calls = 0;
    const handlers = handlersThat(async () => {
      calls += 1;
      const fromServer = Object.assign(new Error('400 Connection terminated unexpectedly'), {
        code: '08006',
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND model.invalid'), { code: 'ENOTFOUND' }),
      });
      throw new Error('the model call failed: Connection terminated', { cause: fromServer });
    });
    const pool = new WorkerPool({ ...bed.options, queue, backoffMs: 5, announceWaitMs: 0, pollMs: 20 });
    const job = await queue.enqueue(agentJob('16.0'));
    await pool.start(handlers);
    await waitFor(() => bed.finished.length === 1, 10_000, 'the job to finish');
    await pool.drain(0);
    expect(calls).toBe(1);
    expect(await queue.get(job.id)).toMatchObject({ status: 'failed' });
    expect(bed.lines.some((line) => line.event === 'job-requeued-after-database-outage')).toBe(false);
  });
});

interface LogLine {
  msg?: string;
  event?: string;
}

/** A pool's surroundings: a Slack stand-in that records replies, a log that records lines. */
function testBed() {
  const replies: Reply[] = [];
  const posted: string[] = [];
  const finished: StoredJob[] = [];
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const notifier: Notifier = {
    acknowledge: async () => {},
    postStatus: async (_thread, view) => {
      posted.push(view.text);
      return 'status.1';
    },
    updateStatus: async () => {},
    reply: async (_thread, reply) => {
      replies.push(reply);
      return undefined;
    },
    endStatus: async (_thread, _ts, ending) => {
      if (ending.reply) replies.push(ending.reply);
      return false;
    },
    setSession: async () => {},
  };
  const log = createLogger({ level: 'debug', destination });
  return {
    replies,
    posted,
    finished,
    lines,
    options: { notifier, concurrency: 1, log, onFinished: (job: StoredJob) => finished.push(job) },
  };
}

function handlersThat(agent: JobHandlers['agent']): JobHandlers {
  return { agent, command: async () => ({}) };
}

/**
 * The queue with chosen methods failing as they do while PostgreSQL restarts (the
 * connection refused), a given number of times each.
 */
function failingAt(queue: JobQueue, methods: Array<keyof JobQueue>) {
  const pending: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const proxy = new Proxy(queue, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const name = String(property);
        if (methods.includes(property as keyof JobQueue) && (pending[name] ?? 0) > 0) {
          pending[name] = (pending[name] ?? 0) - 1;
          failures[name] = (failures[name] ?? 0) + 1;
          // What the PostgreSQL adapter throws when the server refuses the connection.
          const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
            code: 'ECONNREFUSED',
          });
          return Promise.reject(markUnavailable(refused));
        }
        return value.apply(target, args);
      };
    },
  });
  return {
    queue: proxy,
    failures,
    failNext(method: keyof JobQueue & string, times: number) {
      pending[method] = times;
    },
  };
}
