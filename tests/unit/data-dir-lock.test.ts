import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUse, lockDataDir } from '../../src/storage/data-dir-lock.js';

const moduleUrl = new URL('../../src/storage/data-dir-lock.ts', import.meta.url).href;

describe('lockDataDir', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets exactly one of many concurrent starts in, and the next one after a release', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipmate-lock-'));
    const target = dir;
    const tries = await Promise.allSettled(Array.from({ length: 8 }, () => lockDataDir(target)));
    const won = tries.filter((outcome) => outcome.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const outcome of tries) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(DataDirInUse);
    }
    const refused = await lockDataDir(target).catch((error: unknown) => error);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDataDir>>>).value.release();
    const next = await lockDataDir(target);
    await next.release();
  });

  it('is free again the moment its holder is killed with kill -9', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipmate-lock-'));
    // Another process takes the lock, says so, and is then killed without a chance to clean up.
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { lockDataDir } = await import(${JSON.stringify(moduleUrl)});
         await lockDataDir(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirInUse);
    const gone = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await gone;
    // flock's own process notices the closed pipe and exits: the kernel drops the lock.
    let lock: Awaited<ReturnType<typeof lockDataDir>> | undefined;
    for (let attempt = 0; !lock && attempt < 1200; attempt++) {
      lock = await lockDataDir(dir).catch(() => undefined);
      if (!lock) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(lock).toBeDefined();
    await lock?.release();
  });
});
