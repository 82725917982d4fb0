import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUse, lockDataDir } from '../../src/storage/data-dir-lock.js';

describe('lockDataDir', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('waits out a holder on another host until its lock goes untouched, then takes over', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipmate-lock-'));
    const elsewhere = { pid: 4242, host: 'other-machine', startedAt: '2026-12-01T00:00:00.000Z' };
    await writeFile(join(dir, 'shipmate.lock'), JSON.stringify(elsewhere));
    // Another host's pid cannot be checked from here: a freshly touched lock means it runs.
    const refused = await lockDataDir(dir, { staleMs: 30_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirInUse);
    expect((refused as Error).message).toContain('pid 4242 on other-machine');
    // Untouched for longer than staleMs: its holder is gone.
    const lock = await lockDataDir(dir, { staleMs: 30_000, now: () => Date.now() + 31_000 });
    expect(JSON.parse(await readFile(join(dir, 'shipmate.lock'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over an unreadable lock only by its age', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipmate-lock-'));
    await writeFile(join(dir, 'shipmate.lock'), '{"pid":');
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirInUse);
    const lock = await lockDataDir(dir, { now: () => Date.now() + 31_000 });
    await lock.release();
  });
});
