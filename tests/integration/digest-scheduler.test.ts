import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config, DigestConfig } from '../../src/config.js';
import { createDigestsRoom, type DigestsRoomDeps } from '../../src/digests/create-digests-room.js';
import { DigestStore } from '../../src/digests/digest-store.js';
import type { ChannelMessage } from '../../src/digests/ports.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import type { JobContext } from '../../src/jobs/ports.js';
import { createLogger } from '../../src/log.js';
import { type Database, openDatabase } from '../../src/storage/database.js';

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

/** One shipmate process: its own database handle on the shared file, its own clock and Slack. */
function processOn(
  file: string,
  options: { posts: Posted[]; digests?: DigestConfig[]; failPosts?: number; owner?: string },
) {
  const db = openDatabase(file);
  let now = Date.parse('2026-03-27T12:00:00Z');
  let failures = options.failPosts ?? 0;
  const history: ChannelMessage[] = [];
  const deps: DigestsRoomDeps = {
    config: { digests: options.digests ?? [], repos: [] } as Pick<Config, 'digests' | 'repos'>,
    db,
    clock: () => now,
    log,
    post: async (target, markdown) => {
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
      const job = deps.jobs.enqueue({
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

describe('digest schedules', () => {
  let dir: string;
  let file: string;
  const opened: Database[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-digest-'));
    file = join(dir, 'shipmate.db');
  });

  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(options: Parameters<typeof processOn>[1]) {
    const shipmate = processOn(file, options);
    opened.push(shipmate.db);
    return shipmate;
  }

  it('sets a schedule with the command and shows it with the next run', async () => {
    const shipmate = start({ posts: [] });
    const set = await shipmate.command('daily 09:00 Europe/Berlin');
    expect(set).toContain('**daily 09:00 (Europe/Berlin)**');
    expect(set).toContain('Sat 28 Mar 2026, 09:00');
    const shown = await shipmate.command('');
    expect(shown).toContain('Digest for this channel: **daily 09:00 (Europe/Berlin)**');
    expect(shown).toContain('Next: Sat 28 Mar 2026, 09:00');
    expect(shown).toContain('No digest has run here yet.');
  });

  it('answers a schedule it cannot read with the reason and an example', async () => {
    const shipmate = start({ posts: [] });
    expect(await shipmate.command('daily at nine')).toBe(
      'I could not read that schedule: `at` is not a time; write it as HH:MM, for example 09:00 or 17:30. Try `digest daily 09:00 Europe/Berlin` or `digest weekly mon 09:00`.',
    );
    expect(await shipmate.command('weekly mon 09:00 Atlantis/Capital')).toContain(
      'I do not know the time zone `Atlantis/Capital`',
    );
    expect(await shipmate.command('')).toContain('This channel has no digest schedule.');
  });

  it('uses the config file’s time zone for the channel when the command names none', async () => {
    const shipmate = start({
      posts: [],
      digests: [{ channel, schedule: 'weekly fri 17:00', timezone: 'America/New_York' }],
    });
    expect(await shipmate.command('weekly mon 09:00')).toContain('weekly mon 09:00 (America/New_York)');
  });

  it('keeps schedules across a restart and posts when the slot comes', async () => {
    const posts: Posted[] = [];
    const first = start({ posts });
    await first.command('weekly mon 09:00 Europe/Berlin');
    first.db.close();
    opened.splice(opened.indexOf(first.db), 1);

    const second = start({ posts });
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
    const shipmate = start({ posts });
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
    const one = start({ posts, owner: 'one' });
    const two = start({ posts, owner: 'two' });
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

  it('lets only one of two processes claim a slot, even when both saw it due', () => {
    const stores = [openDatabase(file), openDatabase(file)].map((db) => {
      opened.push(db);
      return new DigestStore(db, () => monday);
    });
    const [one, two] = stores as [DigestStore, DigestStore];
    const fields = { spec: 'daily 09:00', cron: '0 9 * * *', timezone: 'UTC', quietDigest: 'line' as const };
    const schedule = one.setFromCommand(channel, { ...fields, nextRunAt: monday }, 'U0LEAD');
    const seenByTwo = two.due(monday);
    expect(seenByTwo).toHaveLength(1);
    expect(one.claim(schedule.id, monday, monday + day, 'one')).toBe(true);
    expect(two.claim(schedule.id, seenByTwo[0]!.nextRunAt, monday + day, 'two')).toBe(false);
    const run = {
      scheduleId: schedule.id,
      channel,
      trigger: 'scheduled' as const,
      slot: monday,
      periodFrom: 0,
      periodTo: monday,
    };
    expect(one.startRun({ ...run, claimedBy: 'one' })).toBeDefined();
    expect(two.startRun({ ...run, claimedBy: 'two' })).toBeUndefined();
  });

  it('pauses itself after three failures in a row and says so in the channel', async () => {
    const posts: Posted[] = [];
    const shipmate = start({ posts, failPosts: 3 });
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
    const shipmate = start({ posts, failPosts: 2 });
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
    const shipmate = start({ posts });
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
    const shipmate = start({ posts });
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
    const shipmate = start({ posts, digests });
    expect(shipmate.room.seedFromConfig().added).toEqual([channel]);
    expect(await shipmate.command('off')).toContain('is off');
    expect(shipmate.room.seedFromConfig().kept).toEqual([channel]);
    shipmate.setNow(monday + day);
    expect(await shipmate.room.scheduler.tick(monday + day)).toEqual([]);
    expect(await shipmate.command('')).toContain('is off (it was daily 09:00 (UTC))');
  });
});

describe('digest schedules from the config file', () => {
  let dir: string;
  const opened: Database[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-digest-seed-'));
  });
  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds config schedules without overwriting a schedule set with the command', async () => {
    const file = join(dir, 'shipmate.db');
    const digests: DigestConfig[] = [
      { channel, schedule: 'daily 09:00', timezone: 'Europe/Berlin' },
      { channel: 'C0OTHER', schedule: '0 8 * * 1-5', timezone: 'UTC' },
      { channel: 'C0BROKEN', schedule: 'every morning', timezone: 'UTC' },
      { channel: 'C0BADZONE', schedule: 'daily 09:00', timezone: 'Mars/Olympus' },
    ];
    const shipmate = processOn(file, { posts: [], digests });
    opened.push(shipmate.db);
    await shipmate.command('weekly fri 16:00 UTC');
    const report = shipmate.room.seedFromConfig();
    expect(report.kept).toEqual([channel]);
    expect(report.added).toEqual(['C0OTHER']);
    expect(report.problems).toHaveLength(2);
    expect(report.problems[0]).toContain(
      'digests.2 (C0BROKEN, "every morning"): I could not read that schedule',
    );
    expect(report.problems[1]).toContain('I do not know the time zone `Mars/Olympus`');
    expect(await shipmate.command('')).toContain('weekly fri 16:00 (UTC)');

    // A restart with the same file keeps the next run; a changed entry replaces it; a removed one goes.
    const restarted = processOn(file, {
      posts: [],
      digests: [{ channel: 'C0OTHER', schedule: '0 8 * * 1-5', timezone: 'UTC' }],
    });
    opened.push(restarted.db);
    expect(restarted.room.seedFromConfig()).toMatchObject({ kept: ['C0OTHER'], removed: 0 });
    const changed = processOn(file, { posts: [], digests: [] });
    opened.push(changed.db);
    expect(changed.room.seedFromConfig().removed).toBe(1);
    expect(await changed.command('')).toContain('weekly fri 16:00 (UTC)');
  });
});
