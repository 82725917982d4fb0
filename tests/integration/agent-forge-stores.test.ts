import { expect, it } from 'vitest';
import type { ChatMessage } from '../../src/agent/model-client.js';
import { SessionStore } from '../../src/agent/session-store.js';
import { type UsageRecord, UsageStore } from '../../src/agent/usage-store.js';
import { ChangeStore, type NewChange } from '../../src/forge/change-store.js';
import type { Database } from '../../src/storage/database.js';
import { describeBackends } from '../support/backends.js';

const hour = 3600_000;
const start = 1_780_000_000_000;

/** A clock the test moves by hand, so time windows are exact. */
function manualClock() {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describeBackends('SessionStore', (open) => {
  const first: ChatMessage[] = [
    { role: 'user', content: 'q1' },
    { role: 'assistant', content: 'a1' },
  ];
  const turn = (jobId: string, overrides: Partial<Parameters<SessionStore['save']>[0]> = {}) => ({
    channel: 'C1',
    threadTs: '1.0',
    jobId,
    transcript: first,
    turnStart: 0,
    lastTs: '1.0',
    previous: undefined,
    ...overrides,
  });

  it('has no session for a thread nobody talked in', async () => {
    const sessions = new SessionStore(await open());
    expect(await sessions.forJob('C1', '1.0', 'j1')).toBeUndefined();
  });

  it('continues where the last turn ended, and a retried job redoes only its own turn', async () => {
    const sessions = new SessionStore(await open());
    await sessions.save(turn('j1'));
    const forSecond = await sessions.forJob('C1', '1.0', 'j2');
    expect(forSecond).toEqual({ transcript: first, lastTs: '1.0', turns: 1 });
    await sessions.save(
      turn('j2', {
        transcript: [...first, { role: 'user', content: 'q2' }, { role: 'assistant', content: 'a2' }],
        turnStart: 2,
        lastTs: '2.0',
        previous: forSecond,
      }),
    );
    // j2 retried (its reply failed to post): it sees the session as it was before its own turn.
    expect(await sessions.forJob('C1', '1.0', 'j2')).toEqual({ transcript: first, lastTs: '1.0', turns: 1 });
    expect(await sessions.forJob('C1', '1.0', 'j3')).toMatchObject({ lastTs: '2.0', turns: 2 });
    expect((await sessions.forJob('C1', '1.0', 'j3'))?.transcript).toHaveLength(4);
  });

  it('starts the first job of a thread afresh when it is retried', async () => {
    const sessions = new SessionStore(await open());
    await sessions.save(turn('j1', { channel: 'C2' }));
    expect(await sessions.forJob('C2', '1.0', 'j1')).toBeUndefined();
  });

  it('keeps each thread its own session', async () => {
    const sessions = new SessionStore(await open());
    await sessions.save(turn('j1'));
    await sessions.save(
      turn('j9', { threadTs: '5.0', lastTs: '5.0', transcript: [{ role: 'user', content: 'other' }] }),
    );
    expect((await sessions.forJob('C1', '1.0', 'jx'))?.transcript).toEqual(first);
    expect((await sessions.forJob('C1', '5.0', 'jx'))?.transcript).toEqual([
      { role: 'user', content: 'other' },
    ]);
    expect(await sessions.forJob('C9', '1.0', 'jx')).toBeUndefined();
  });

  it('gives back tool calls and text outside ASCII as they were saved', async () => {
    const sessions = new SessionStore(await open());
    const transcript: ChatMessage[] = [
      { role: 'user', content: 'Warum schlägt der Checkout fehl? 🛒 "quoted" \'single\'' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'shell', arguments: '{"command":"ls"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'README.md\nsrc\n' },
    ];
    await sessions.save(turn('j1', { transcript }));
    expect((await sessions.forJob('C1', '1.0', 'j2'))?.transcript).toEqual(transcript);
  });

  it('reads a transcript it cannot parse as no session rather than failing the job', async () => {
    const db = await open();
    const sessions = new SessionStore(db);
    await sessions.save(turn('j1'));
    await db.run("UPDATE sessions SET transcript = '{not json' WHERE channel = ?", 'C1');
    expect(await sessions.forJob('C1', '1.0', 'j2')).toBeUndefined();
  });
});

describeBackends('UsageStore', (open) => {
  const usage = (overrides: Partial<UsageRecord> = {}): UsageRecord => ({
    jobId: 'j1',
    channel: 'C1',
    userId: 'U1',
    model: 'gpt-test',
    promptTokens: 1000,
    completionTokens: 200,
    cost: 0.0125,
    steps: 3,
    durationMs: 4200,
    ...overrides,
  });

  it('counts no tokens for a channel that used none', async () => {
    const store = new UsageStore(await open());
    expect(await store.channelTokensToday('C1')).toBe(0);
  });

  it('adds up prompt and completion tokens of the channel, not of other channels', async () => {
    const store = new UsageStore(await open());
    await store.record(usage());
    await store.record(usage({ jobId: 'j2', promptTokens: 50, completionTokens: 7, cost: undefined }));
    await store.record(usage({ jobId: 'j3', channel: 'C2', promptTokens: 9_999 }));
    expect(await store.channelTokensToday('C1')).toBe(1257);
    expect(await store.channelTokensToday('C2')).toBe(10_199);
  });

  it('counts only the last 24 hours, the 24th hour included', async () => {
    const clock = manualClock();
    const store = new UsageStore(await open(), clock.now);
    await store.record(usage({ jobId: 'old', promptTokens: 500, completionTokens: 0 }));
    clock.advance(1);
    await store.record(usage({ jobId: 'edge', promptTokens: 40, completionTokens: 0 }));
    clock.advance(12 * hour);
    await store.record(usage({ jobId: 'new', promptTokens: 3, completionTokens: 0 }));
    clock.advance(12 * hour);
    // Now exactly 24 hours after 'edge' and a millisecond more after 'old'.
    expect(await store.channelTokensToday('C1')).toBe(43);
    clock.advance(12 * hour);
    expect(await store.channelTokensToday('C1')).toBe(3);
    clock.advance(1);
    expect(await store.channelTokensToday('C1')).toBe(0);
  });

  it('sums past what a 32-bit integer holds, as a plain number', async () => {
    const store = new UsageStore(await open());
    await store.record(usage({ promptTokens: 3_000_000_000, completionTokens: 1 }));
    await store.record(usage({ jobId: 'j2', promptTokens: 2_500_000_000, completionTokens: 0 }));
    const total = await store.channelTokensToday('C1');
    expect(total).toBe(5_500_000_001);
    expect(typeof total).toBe('number');
  });

  it('has no budget override until a writer sets one, then the newest one per channel', async () => {
    const store = new UsageStore(await open());
    expect(await store.channelBudget('C1')).toBeUndefined();
    await store.setChannelBudget('C1', 2_000_000, 'U1');
    await store.setChannelBudget('C2', 10, 'U1');
    await store.setChannelBudget('C1', 5_000_000_000, 'U2');
    expect(await store.channelBudget('C1')).toBe(5_000_000_000);
    expect(await store.channelBudget('C2')).toBe(10);
    expect(await store.channelBudget('C3')).toBeUndefined();
  });
});

describeBackends('ChangeStore', (open) => {
  const change = (overrides: Partial<NewChange> = {}): NewChange => ({
    jobId: 'job-1',
    channel: 'C1',
    threadTs: '1.0',
    userId: 'U1',
    repo: 'shop',
    branch: 'shipmate/fix-typo-abc',
    baseCommit: 'a'.repeat(40),
    title: 'Fix the typo',
    summary: 'Fixes the typo on the pricing page.',
    labels: [],
    ...overrides,
  });
  const stores = async () => {
    const clock = manualClock();
    const db: Database = await open();
    return { clock, changes: new ChangeStore(db, clock.now), db };
  };

  it('saves a proposed change and reads it back, without staged fields when none were given', async () => {
    const { changes } = await stores();
    await changes.save(change({ labels: ['needs-human-review'] }));
    expect(await changes.get('job-1')).toEqual({
      ...change({ labels: ['needs-human-review'] }),
      state: 'proposed',
      prNumber: undefined,
      prUrl: undefined,
      staged: undefined,
      createdAt: start,
      updatedAt: start,
    });
    expect(await changes.get('job-2')).toBeUndefined();
  });

  it('keeps the staged parent, tree and patch, and the patch may be left out', async () => {
    const { changes } = await stores();
    const patch = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-it\'s\n+it is "so" ✓\n';
    await changes.save(change({ staged: { parent: 'p1', tree: 't1', patch } }));
    await changes.save(change({ jobId: 'job-2', staged: { parent: 'p2', tree: 't2' } }));
    expect((await changes.get('job-1'))?.staged).toEqual({ parent: 'p1', tree: 't1', patch });
    expect((await changes.get('job-2'))?.staged).toEqual({ parent: 'p2', tree: 't2' });
  });

  it('restages a saved change, and says so when there is no such change', async () => {
    const { changes, clock } = await stores();
    await changes.save(change({ staged: { parent: 'p1', tree: 't1' } }));
    clock.advance(5);
    expect(await changes.stage('job-1', { parent: 'p2', tree: 't2', patch: '+x\n' })).toBe(true);
    expect(await changes.get('job-1')).toMatchObject({
      staged: { parent: 'p2', tree: 't2', patch: '+x\n' },
      createdAt: start,
      updatedAt: start + 5,
    });
    expect(await changes.stage('job-1', { parent: 'p3', tree: 't3' })).toBe(true);
    expect((await changes.get('job-1'))?.staged).toEqual({ parent: 'p3', tree: 't3' });
    expect(await changes.stage('missing', { parent: 'p', tree: 't' })).toBe(false);
  });

  it('saving the same job again updates its text and staging, and keeps its pull request', async () => {
    const { changes, clock } = await stores();
    await changes.save(change({ staged: { parent: 'p1', tree: 't1', patch: 'old' } }));
    await changes.markOpened('job-1', 7, 'https://github.example/acme/shop/pull/7', 'opened');
    clock.advance(10);
    await changes.save(
      change({ title: 'Fix two typos', labels: ['docs'], staged: { parent: 'p1', tree: 't2' } }),
    );
    expect(await changes.get('job-1')).toMatchObject({
      title: 'Fix two typos',
      labels: ['docs'],
      staged: { parent: 'p1', tree: 't2' },
      state: 'opened',
      prNumber: 7,
      createdAt: start,
      updatedAt: start + 10,
    });
    expect((await changes.get('job-1'))?.staged).not.toHaveProperty('patch');
  });

  it('marks a change opened, pushed or discarded', async () => {
    const { changes, clock } = await stores();
    await changes.save(change());
    await changes.save(change({ jobId: 'job-2' }));
    await changes.save(change({ jobId: 'job-3' }));
    clock.advance(1);
    await changes.markOpened('job-1', 12, 'https://github.example/acme/shop/pull/12', 'opened');
    await changes.markOpened('job-2', undefined, undefined, 'pushed');
    await changes.markDiscarded('job-3');
    expect(await changes.get('job-1')).toMatchObject({
      state: 'opened',
      prNumber: 12,
      prUrl: 'https://github.example/acme/shop/pull/12',
      updatedAt: start + 1,
    });
    expect(await changes.get('job-2')).toMatchObject({
      state: 'pushed',
      prNumber: undefined,
      prUrl: undefined,
    });
    expect(await changes.get('job-3')).toMatchObject({ state: 'discarded', prNumber: undefined });
  });

  it('finds the newest pull request opened from a thread, and none in a thread without one', async () => {
    const { changes, clock } = await stores();
    await changes.save(change());
    expect(await changes.openedInThread('C1', '1.0')).toBeUndefined();
    await changes.markOpened('job-1', 1, 'u1', 'opened');
    clock.advance(1);
    await changes.save(change({ jobId: 'job-2' }));
    await changes.markOpened('job-2', 2, 'u2', 'opened');
    clock.advance(1);
    // Newer, but only pushed: it has no pull request to update.
    await changes.save(change({ jobId: 'job-3' }));
    await changes.markOpened('job-3', undefined, undefined, 'pushed');
    await changes.save(change({ jobId: 'job-4', threadTs: '2.0' }));
    await changes.markOpened('job-4', 4, 'u4', 'opened');
    expect((await changes.openedInThread('C1', '1.0'))?.jobId).toBe('job-2');
    expect((await changes.openedInThread('C1', '2.0'))?.prNumber).toBe(4);
    expect(await changes.openedInThread('C2', '1.0')).toBeUndefined();
  });

  it('picks the same change on both backends when two were made in one millisecond', async () => {
    const { changes } = await stores();
    for (const jobId of ['job-b', 'job-c', 'job-a']) {
      await changes.save(change({ jobId }));
      await changes.markOpened(jobId, 1, 'u', 'opened');
    }
    expect((await changes.openedInThread('C1', '1.0'))?.jobId).toBe('job-c');
  });

  it('lists the pull requests opened in a period, oldest first, in one channel or all', async () => {
    const { changes, clock } = await stores();
    const opened = async (jobId: string, channel: string, prNumber: number) => {
      await changes.save(change({ jobId, channel }));
      await changes.markOpened(jobId, prNumber, `u${prNumber}`, 'opened');
    };
    await opened('before', 'C1', 1);
    clock.advance(hour);
    const from = clock.now();
    await opened('first', 'C1', 2);
    await changes.save(change({ jobId: 'proposed-only' }));
    clock.advance(1);
    await opened('other-channel', 'C2', 3);
    clock.advance(1);
    await opened('last', 'C1', 4);
    clock.advance(hour);
    const to = clock.now();
    await opened('after', 'C1', 5);
    expect((await changes.openedBetween(from, to)).map((record) => record.jobId)).toEqual([
      'first',
      'other-channel',
      'last',
    ]);
    expect((await changes.openedBetween(from, to, 'C1')).map((record) => record.jobId)).toEqual([
      'first',
      'last',
    ]);
    expect(await changes.openedBetween(from, to, 'C9')).toEqual([]);
  });
});
