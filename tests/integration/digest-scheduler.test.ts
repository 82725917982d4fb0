import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Config, DigestConfig } from '../../src/config.js';
import { createDigestsRoom, type DigestsRoomDeps } from '../../src/digests/create-digests-room.js';
import { abandonedAfterMs } from '../../src/digests/digest-scheduler.js';
import { DigestStore } from '../../src/digests/digest-store.js';
import type { ChannelMessage } from '../../src/digests/ports.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import type { JobContext } from '../../src/jobs/ports.js';
import { createLogger } from '../../src/log.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import {
  type Backend,
  createDatabaseLocation,
  type DatabaseLocation,
  describeBackends,
} from '../support/backends.js';

const log = createLogger({ level: 'silent' });
const channel = 'C0DIGEST';
const monday = Date.parse('2026-03-30T07:00:00Z'); // 09:00 in Berlin (CEST)
const hour = 3600_000;
const day = 24 * hour;

interface Posted {
  channel: string;
  markdown: string;
  ts: string;
}

interface ProcessOptions {
  posts: Posted[];
  digests?: DigestConfig[];
  failPosts?: number;
  owner?: string;
  /** Posting never finishes, as in a process that froze (and was then killed) mid-post. */
  stallPosts?: { count: number };
}

/** One shipmate process: its own database handle on the shared database, its own clock and Slack. */
async function processOn(location: string, options: ProcessOptions) {
  const db = await openDatabase(location);
  let now = Date.parse('2026-03-27T12:00:00Z');
  let failures = options.failPosts ?? 0;
  const history: ChannelMessage[] = [];
  const deps: DigestsRoomDeps = {
    config: { digests: options.digests ?? [], repos: [] } as Pick<Config, 'digests' | 'repos'>,
    db,
    clock: () => now,
    log,
    post: async (target, markdown) => {
      if (options.stallPosts) {
        options.stallPosts.count += 1;
        return new Promise<never>(() => {});
      }
      if (failures > 0) {
        failures -= 1;
        throw new Error('An API error occurred: not_in_channel');
      }
      const ts = `${Math.floor(now / 1000)}.${String(options.posts.length).padStart(6, '0')}`;
      options.posts.push({ channel: target, markdown, ts });
      return ts;
    },
    jobs: new JobQueue(db, { clock: () => now }),
    history: { messagesBetween: async () => history },
    permalinks: async (target, ts) => `https://team.slack.test/archives/${target}/p${ts.replace('.', '')}`,
    mirrorPathFor: () => undefined,
    ...(options.owner ? { owner: options.owner } : {}),
  };
  const room = createDigestsRoom(deps);
  return {
    db,
    room,
    queue: deps.jobs,
    setNow: (value: number) => {
      now = value;
    },
    /** Runs the `digest` command as the command job would. */
    command: async (args: string, userId = 'U0LEAD') => {
      const job = await deps.jobs.enqueue({
        kind: 'command',
        channel,
        threadTs: `${now / 1000}`,
        messageTs: `${now / 1000}`,
        userId,
        payload: { command: { name: 'digest', args } },
      });
      const context: JobContext<'command'> = {
        job,
        signal: new AbortController().signal,
        log,
        progress: () => {},
      };
      const outcome = await room.commands.digest({ name: 'digest', args }, context);
      return outcome.reply?.markdown ?? '';
    },
  };
}

/** A fresh database per test that several handles (processes) open; all closed after it. */
function useSharedDatabase(backend: Backend) {
  let where: DatabaseLocation;
  const opened: Database[] = [];
  beforeEach(async () => {
    where = await createDatabaseLocation(backend);
  });
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
    await where.remove();
  });
  return {
    location: () => where.location,
    start: async (options: ProcessOptions) => {
      const shipmate = await processOn(where.location, options);
      opened.push(shipmate.db);
      return shipmate;
    },
    openHandle: async () => {
      const db = await openDatabase(where.location);
      opened.push(db);
      return db;
    },
    /** A process that stopped: its handle closes now, not after the test. */
    stop: async (db: Database) => {
      opened.splice(opened.indexOf(db), 1);
      await db.close();
    },
  };
}

describeBackends('digest schedules', (_open, backend) => {
  const shared = useSharedDatabase(backend);
  const start = shared.start;

  it('sets a schedule with the command and shows it with the next run', async () => {
    const shipmate = await start({ posts: [] });
    const set = await shipmate.command('daily 09:00 Europe/Berlin');
    expect(set).toContain('**daily 09:00 (Europe/Berlin)**');
    expect(set).toContain('Sat 28 Mar 2026, 09:00');
    const shown = await shipmate.command('');
    expect(shown).toContain('Digest for this channel: **daily 09:00 (Europe/Berlin)**');
    expect(shown).toContain('Next: Sat 28 Mar 2026, 09:00');
    expect(shown).toContain('No digest has run here yet.');
  });

  it('answers a schedule it cannot read with the reason and an example', async () => {
    const shipmate = await start({ posts: [] });
    expect(await shipmate.command('daily at nine')).toBe(
      'I could not read that schedule: `at` is not a time; write it as HH:MM, for example 09:00 or 17:30. Try `digest daily 09:00 Europe/Berlin` or `digest weekly mon 09:00`.',
    );
    expect(await shipmate.command('weekly mon 09:00 Atlantis/Capital')).toContain(
      'I do not know the time zone `Atlantis/Capital`',
    );
    expect(await shipmate.command('')).toContain('This channel has no digest schedule.');
  });

  it('uses the config file’s time zone for the channel when the command names none', async () => {
    const shipmate = await start({
      posts: [],
      digests: [{ channel, schedule: 'weekly fri 17:00', timezone: 'America/New_York' }],
    });
    expect(await shipmate.command('weekly mon 09:00')).toContain('weekly mon 09:00 (America/New_York)');
  });

  it('keeps schedules across a restart and posts when the slot comes', async () => {
    const posts: Posted[] = [];
    const first = await start({ posts });
    await first.command('weekly mon 09:00 Europe/Berlin');
    await shared.stop(first.db);

    const second = await start({ posts });
    second.setNow(monday - 60_000);
    expect(await second.room.scheduler.tick(monday - 60_000)).toEqual([]);
    second.setNow(monday + 5_000);
    const results = await second.room.scheduler.tick(monday + 5_000);
    expect(results.map((result) => result.status)).toEqual(['posted']);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.markdown).toContain('a quiet period');
    expect(await second.command('')).toContain('Next: Mon 6 Apr 2026, 09:00');
  });

  it('posts one catch-up digest after a long downtime, not one per missed slot', async () => {
    const posts: Posted[] = [];
    const shipmate = await start({ posts });
    await shipmate.command('daily 09:00 Europe/Berlin');
    const later = Date.parse('2026-04-03T10:30:00Z'); // six missed slots
    shipmate.setNow(later);
    const results = await shipmate.room.scheduler.tick(later);
    expect(results.map((result) => result.status)).toEqual(['posted']);
    expect(await shipmate.room.scheduler.tick(later + 60_000)).toEqual([]);
    expect(posts).toHaveLength(1);
    // It covers the whole gap since the slot before the first missed one.
    expect(posts[0]?.markdown).toContain('since Fri 27 Mar, 09:00');
    expect(await shipmate.command('')).toContain('Next: Sat 4 Apr 2026, 09:00');
  });

  it('never posts the same slot twice when two processes share the database', async () => {
    const posts: Posted[] = [];
    const one = await start({ posts, owner: 'one' });
    const two = await start({ posts, owner: 'two' });
    await one.command('daily 09:00 Europe/Berlin');
    const slot = Date.parse('2026-03-28T08:00:00Z');
    for (const shipmate of [one, two]) shipmate.setNow(slot + 1_000);
    const results = await Promise.all([
      one.room.scheduler.tick(slot + 1_000),
      two.room.scheduler.tick(slot + 1_000),
    ]);
    expect(results.flat().filter((result) => result.status === 'posted')).toHaveLength(1);
    expect(posts).toHaveLength(1);
  });

  it('takes over a slot whose process stopped while posting it, once the claim is old enough', async () => {
    const posts: Posted[] = [];
    const stallPosts = { count: 0 };
    const frozen = await start({ posts, owner: 'frozen', stallPosts });
    const other = await start({ posts, owner: 'other' });
    await other.command('daily 09:00 UTC');
    const slot = Date.parse('2026-03-28T09:00:00Z');
    frozen.setNow(slot);
    void frozen.room.scheduler.tick(slot); // never settles: the process froze mid-post
    await vi.waitFor(() => expect(stallPosts.count).toBe(1));

    other.setNow(slot + 60_000);
    expect(await other.room.scheduler.tick(slot + 60_000)).toEqual([]);
    expect(await other.command('')).toContain(': posting…');

    const later = slot + abandonedAfterMs + 60_000;
    other.setNow(later);
    expect((await other.room.scheduler.tick(later)).map((result) => result.status)).toEqual(['posted']);
    expect(posts).toHaveLength(1);
    // The digest the frozen process owed still covers its whole period.
    expect(posts[0]?.markdown).toContain('since Fri 27 Mar, 09:00');
    const shown = await other.command('');
    expect(shown).toContain('**failed**: shipmate stopped while posting it');
    expect(shown).toContain('Next: Sun 29 Mar 2026, 09:00.');
    expect(await other.room.scheduler.tick(later + 60_000)).toEqual([]);
    expect(posts).toHaveLength(1);
  });

  it('pauses itself after three failures in a row and says so in the channel', async () => {
    const posts: Posted[] = [];
    const shipmate = await start({ posts, failPosts: 3 });
    await shipmate.command('daily 09:00 Europe/Berlin');
    const slot = Date.parse('2026-03-28T08:00:00Z');
    const statuses: string[] = [];
    for (const at of [slot, slot + 10 * 60_000, slot + 20 * 60_000]) {
      shipmate.setNow(at);
      for (const result of await shipmate.room.scheduler.tick(at)) statuses.push(result.status);
    }
    expect(statuses).toEqual(['failed', 'failed', 'failed']);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.markdown).toContain(
      "I paused this channel's digest (daily 09:00) because it failed 3 times in a row",
    );
    expect(posts[0]?.markdown).toContain('not_in_channel');

    shipmate.setNow(slot + day);
    expect(await shipmate.room.scheduler.tick(slot + day)).toEqual([]);
    const shown = await shipmate.command('');
    expect(shown).toContain('is **paused** after 3 failed runs in a row');
    expect(shown.match(/\*\*failed\*\*: An API error occurred: not_in_channel/g)).toHaveLength(3);

    expect(await shipmate.command('resume')).toContain(
      'is running again; the next one is on Mon 30 Mar 2026, 09:00',
    );
    shipmate.setNow(monday);
    expect((await shipmate.room.scheduler.tick(monday)).map((result) => result.status)).toEqual(['posted']);
    // The digest after the failures still covers the period they missed.
    expect(posts[1]?.markdown).toContain('since Fri 27 Mar, 09:00');
  });

  it('retries a failed digest ten minutes later and a success resets the count', async () => {
    const posts: Posted[] = [];
    const shipmate = await start({ posts, failPosts: 2 });
    await shipmate.command('daily 09:00 UTC');
    const slot = Date.parse('2026-03-28T09:00:00Z');
    shipmate.setNow(slot);
    expect((await shipmate.room.scheduler.tick(slot))[0]?.status).toBe('failed');
    expect(await shipmate.room.scheduler.tick(slot + 5 * 60_000)).toEqual([]);
    expect((await shipmate.room.scheduler.tick(slot + 10 * 60_000))[0]?.status).toBe('failed');
    expect((await shipmate.room.scheduler.tick(slot + 20 * 60_000))[0]?.status).toBe('posted');
    expect(await shipmate.command('')).toContain('Next: Sun 29 Mar 2026, 09:00.');
  });

  it('posts a digest now covering the time since the last one, without moving the schedule', async () => {
    const posts: Posted[] = [];
    const shipmate = await start({ posts });
    shipmate.setNow(monday + 6 * hour);
    expect(await shipmate.command('now')).toContain(
      'Posted the digest](https://team.slack.test/archives/C0DIGEST/p',
    );
    expect(posts[0]?.channel).toBe(channel);
    expect(posts[0]?.markdown).toContain('since Sun 29 Mar, 13:00 (UTC)');
    shipmate.setNow(monday + 9 * hour);
    expect(await shipmate.command('now')).toContain('covering the time since Mon 30 Mar, 13:00 (UTC)');
    const shown = await shipmate.command('');
    expect(shown.match(/\(digest now\): \[posted\]/g)).toHaveLength(2);
  });

  it('says so instead of posting when a quiet period should be skipped', async () => {
    const posts: Posted[] = [];
    const shipmate = await start({ posts });
    await shipmate.command('daily 09:00 UTC quiet=skip');
    expect(await shipmate.command('now')).toContain('so I posted nothing');
    const slot = Date.parse('2026-03-28T09:00:00Z');
    shipmate.setNow(slot);
    expect((await shipmate.room.scheduler.tick(slot))[0]?.status).toBe('skipped');
    expect(posts).toHaveLength(0);
  });

  it('turns a digest off and keeps it off when the config file lists the channel', async () => {
    const posts: Posted[] = [];
    const digests = [{ channel, schedule: 'daily 09:00', timezone: 'UTC' }];
    const shipmate = await start({ posts, digests });
    expect((await shipmate.room.seedFromConfig()).added).toEqual([channel]);
    expect(await shipmate.command('off')).toContain('is off');
    expect((await shipmate.room.seedFromConfig()).kept).toEqual([channel]);
    shipmate.setNow(monday + day);
    expect(await shipmate.room.scheduler.tick(monday + day)).toEqual([]);
    expect(await shipmate.command('')).toContain('is off (it was daily 09:00 (UTC))');
  });
});

describeBackends('digest slots claimed on one database by two processes', (_open, backend) => {
  const shared = useSharedDatabase(backend);
  const fields = { spec: 'daily 09:00', cron: '0 9 * * *', timezone: 'UTC', quietDigest: 'line' as const };
  let now = monday;

  /** Two processes' stores, and the first one's handle (to stop it). */
  async function twoStores(): Promise<[DigestStore, DigestStore, Database]> {
    now = monday;
    // One after the other: on SQLite, opening migrates in a transaction the other would wait on.
    const one = await shared.openHandle();
    const two = await shared.openHandle();
    return [new DigestStore(one, () => now), new DigestStore(two, () => now), one];
  }

  function claimOf(scheduleId: number, claimedBy: string, slot = monday) {
    return {
      scheduleId,
      channel,
      slot,
      nextRunAt: slot + day,
      periodFrom: slot - day,
      periodTo: slot,
      claimedBy,
    };
  }

  it('lets only one of two processes claim a slot, even when both saw it due', async () => {
    const [one, two] = await twoStores();
    const schedule = await one.setFromCommand(channel, { ...fields, nextRunAt: monday }, 'U0LEAD');
    const [seenByOne, seenByTwo] = await Promise.all([one.due(monday), two.due(monday)]);
    expect(seenByOne).toHaveLength(1);
    expect(seenByTwo).toHaveLength(1);
    const runs = await Promise.all([
      one.claimScheduled(claimOf(schedule.id, 'one', seenByOne[0]!.nextRunAt)),
      two.claimScheduled(claimOf(schedule.id, 'two', seenByTwo[0]!.nextRunAt)),
    ]);
    expect(runs.filter((run) => run !== undefined)).toHaveLength(1);
    expect((await two.get(channel))?.nextRunAt).toBe(monday + day);
    expect(await one.due(monday + 60_000)).toEqual([]);
  });

  it('moves a schedule on when its slot already has a run, so a stopped claimer never holds it', async () => {
    const [one, two, oneHandle] = await twoStores();
    const schedule = await one.setFromCommand(channel, { ...fields, nextRunAt: monday }, 'U0LEAD');
    // "one" inserted the slot's run row and stopped before moving the schedule on.
    const { nextRunAt: _next, ...started } = claimOf(schedule.id, 'one');
    expect(await one.startRun({ ...started, trigger: 'scheduled' })).toBeDefined();
    await shared.stop(oneHandle);

    now = monday + 60_000;
    expect(await two.claimScheduled(claimOf(schedule.id, 'two'))).toBeUndefined();
    expect(await two.due(now)).toEqual([]);
    expect((await two.get(channel))?.nextRunAt).toBe(monday + day);

    // Once the run is old enough it counts as failed and the digest it owed is due again.
    now = monday + abandonedAfterMs + 60_000;
    const abandoned = await two.failAbandonedRuns(now - abandonedAfterMs);
    expect(abandoned).toEqual([{ runId: expect.any(Number), channel, retried: true }]);
    expect(await two.failAbandonedRuns(now - abandonedAfterMs)).toEqual([]);
    const [due] = await two.due(now);
    expect(due).toMatchObject({ channel, nextRunAt: now, consecutiveFailures: 1 });
    expect(await two.claimScheduled(claimOf(schedule.id, 'two', now))).toMatchObject({
      slot: now,
      claimedBy: 'two',
    });
  });
});

describeBackends('digest schedules from the config file', (_open, backend) => {
  const shared = useSharedDatabase(backend);

  it('seeds config schedules without overwriting a schedule set with the command', async () => {
    const digests: DigestConfig[] = [
      { channel, schedule: 'daily 09:00', timezone: 'Europe/Berlin' },
      { channel: 'C0OTHER', schedule: '0 8 * * 1-5', timezone: 'UTC' },
      { channel: 'C0BROKEN', schedule: 'every morning', timezone: 'UTC' },
      { channel: 'C0BADZONE', schedule: 'daily 09:00', timezone: 'Mars/Olympus' },
    ];
    const shipmate = await shared.start({ posts: [], digests });
    await shipmate.command('weekly fri 16:00 UTC');
    const report = await shipmate.room.seedFromConfig();
    expect(report.kept).toEqual([channel]);
    expect(report.added).toEqual(['C0OTHER']);
    expect(report.problems).toHaveLength(2);
    expect(report.problems[0]).toContain(
      'digests.2 (C0BROKEN, "every morning"): I could not read that schedule',
    );
    expect(report.problems[1]).toContain('I do not know the time zone `Mars/Olympus`');
    expect(await shipmate.command('')).toContain('weekly fri 16:00 (UTC)');

    // A restart with the same file keeps the next run; a changed entry replaces it; a removed one goes.
    const restarted = await shared.start({
      posts: [],
      digests: [{ channel: 'C0OTHER', schedule: '0 8 * * 1-5', timezone: 'UTC' }],
    });
    expect(await restarted.room.seedFromConfig()).toMatchObject({ kept: ['C0OTHER'], removed: 0 });
    const changed = await shared.start({ posts: [], digests: [] });
    expect((await changed.room.seedFromConfig()).removed).toBe(1);
    expect(await changed.command('')).toContain('weekly fri 16:00 (UTC)');
  });
});
