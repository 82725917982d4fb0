import { describe, expect, it } from 'vitest';
import { SqlRateBudget } from '../../src/storage/rate-budget-store.js';
import { isUniqueViolation, numberPlaceholders } from '../../src/storage/sql.js';
import { describeBackends } from '../support/backends.js';

describe('numberPlaceholders', () => {
  it.each([
    ['SELECT ? , ?', 'SELECT $1 , $2'],
    ["SELECT '?' , ?", "SELECT '?' , $1"],
    ['SELECT "a?b" FROM t WHERE x = ?', 'SELECT "a?b" FROM t WHERE x = $1'],
    ["SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , $1"],
  ])('numbers %s', (input, output) => {
    expect(numberPlaceholders(input)).toBe(output);
  });
});

describeBackends('the SQL seam', (open, backend) => {
  it('migrates an empty database and reads numbers back as numbers', async () => {
    const db = await open();
    const at = 1_780_000_000_000;
    await db.run(
      'INSERT INTO threads (channel, thread_ts, created_at, last_active_at) VALUES (?, ?, ?, ?)',
      'C1',
      '1.0',
      at,
      at,
    );
    const row = await db.get<{ created_at: number; n: number }>(
      'SELECT created_at, (SELECT COUNT(*) FROM threads) AS n FROM threads',
    );
    expect(row).toEqual({ created_at: at, n: 1 });
    expect(db.dialect).toBe(backend);
  });

  it('rolls a failed transaction back and reports a unique violation as such', async () => {
    const db = await open();
    const insert = 'INSERT INTO slack_messages (channel, ts, received_at) VALUES (?, ?, ?)';
    await db.run(insert, 'C1', '1.0', 1);
    const failure = await db
      .transaction(async (tx) => {
        await tx.run(insert, 'C1', '2.0', 1);
        await tx.run(insert, 'C1', '1.0', 1);
      })
      .catch((error: unknown) => error);
    expect(isUniqueViolation(failure)).toBe(true);
    expect(await db.all('SELECT ts FROM slack_messages ORDER BY ts')).toEqual([{ ts: '1.0' }]);
  });

  it('keeps statements from outside a transaction out of it', async () => {
    const db = await open();
    const insert = 'INSERT INTO slack_messages (channel, ts, received_at) VALUES (?, ?, ?)';
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tx = db.transaction(async (t) => {
      await t.run(insert, 'C1', 'in', 1);
      await held;
      throw new Error('roll back');
    });
    const outside = db.run(insert, 'C1', 'out', 1);
    release();
    await expect(tx).rejects.toThrow('roll back');
    await outside;
    expect(await db.all('SELECT ts FROM slack_messages ORDER BY ts')).toEqual([{ ts: 'out' }]);
  });

  it('delivers a notification to a listener', async () => {
    const db = await open();
    let resolve: (payload: string) => void = () => undefined;
    const got = new Promise<string>((settle) => {
      resolve = settle;
    });
    // LISTEN is in place once listen() resolves.
    await db.listen('shipmate_test', (payload) => resolve(payload));
    await db.notify('shipmate_test', 'hello');
    await expect(got).resolves.toBe('hello');
  });

  it('shares one Slack rate budget between processes', async () => {
    const db = await open();
    let now = 1_780_000_000_000;
    const clock = () => now;
    const [first, second] = [new SqlRateBudget(db, clock), new SqlRateBudget(db, clock)];
    const tier = { perMinute: 50, burst: 1 }; // chat.update: one per 1.2 s
    expect(await first.take('slack:update', tier)).toBe(0);
    expect(await second.take('slack:update', tier)).toBe(1200);
    now += 600;
    expect(await second.take('slack:update', tier)).toBe(600);
    now += 600;
    expect(await second.take('slack:update', tier)).toBe(0);
    expect(await first.take('slack:update', tier)).toBe(1200);
    // Another tier has a bucket of its own.
    expect(await first.take('slack:stream', { perMinute: 100, burst: 5 })).toBe(0);
  });
});
