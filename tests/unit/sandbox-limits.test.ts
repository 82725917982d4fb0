import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';

/** Runaway commands are stopped and reported; numbers kept small so the file runs in seconds. */

let base: string;
let root: string;
let sandbox: SandboxRunner;
let unsandboxed: SandboxRunner;
const mebibyte = 1024 * 1024;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'shipmate-limits-'));
  root = await mkdtemp(join(base, 'worktree-'));
  const common = {
    tempRoot: join(base, 'tmp'),
    denyRead: [],
    keepBytes: 1000,
    hardOutputLimitBytes: 4 * mebibyte,
    limits: { maxProcesses: 64, maxFileBytes: 8 * mebibyte },
  };
  sandbox = await SandboxRunner.create({ mode: 'on', ...common });
  unsandboxed = await SandboxRunner.create({ mode: 'off', ...common });
});

afterAll(async () => {
  await sandbox.close();
  await unsandboxed.close();
  await rm(base, { recursive: true, force: true });
});

/** Processes on the host whose command line carries `marker` (none may survive a run). */
function survivors(marker: string): string[] {
  const output = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return output.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe('command limits', () => {
  it('kills `sleep 1e9` at the timeout and says so', async () => {
    const result = await sandbox.run(root, 'sleep 1e9', { timeoutMs: 1500 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.durationMs).toBeLessThan(1500 + 1500);
    expect(result.limitNote).toMatch(/timed out after 1\.5 s/);
  });

  it('contains a fork bomb and kills every process it made', async () => {
    const marker = `bomb${Date.now()}`;
    const result = await sandbox.run(root, `${marker}(){ ${marker}|${marker}& }; ${marker}; sleep 30`, {
      timeoutMs: 2000,
    });
    expect(result.timedOut).toBe(true);
    expect(result.durationMs).toBeLessThan(2000 + 3000);
    expect(survivors(marker)).toEqual([]);
  });

  it('stops the classic fork bomb without leaving processes behind', async () => {
    const result = await sandbox.run(root, ':(){ :|:& };:', { timeoutMs: 2000 });
    expect(result.durationMs).toBeLessThan(2000 + 3000);
    expect(survivors(':|:&')).toEqual([]);
  });

  it('stops a disk filler at the file size limit', async () => {
    const result = await sandbox.run(root, 'yes > big', { timeoutMs: 10_000 });
    expect(result.exitCode).not.toBe(0);
    expect((await stat(join(root, 'big'))).size).toBeLessThanOrEqual(8 * mebibyte);
    expect(result.limitNote).toMatch(/file size limit \(8 MiB per file\)/);
    await rm(join(root, 'big'));
  });

  it('kills the whole tree when the job is cancelled', async () => {
    const controller = new AbortController();
    const running = sandbox.run(root, 'sleep 1e9 & sleep 1e9; wait', {
      signal: controller.signal,
      timeoutMs: 60_000,
    });
    setTimeout(() => controller.abort(), 300);
    const result = await running;
    expect(result.cancelled).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.durationMs).toBeLessThan(5000);
    expect(result.limitNote).toMatch(/cancelled/);
  });

  it('keeps the head and the tail of long output and says how much was cut', async () => {
    const result = await sandbox.run(root, 'seq 1 100000');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.startsWith('1\n2\n3\n')).toBe(true);
    expect(result.stdout.endsWith('99999\n100000\n')).toBe(true);
    const total = Array.from({ length: 100_000 }, (_, index) => `${index + 1}\n`).join('').length;
    expect(result.stdout).toContain(`… [${total - 1000} bytes cut] …`);
  });

  it('kills a command whose output runs away past the hard limit', async () => {
    const result = await sandbox.run(root, 'yes', { timeoutMs: 20_000 });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBeNull();
    expect(result.limitNote).toMatch(/more than 4 MiB of output/);
    expect(result.stdout.length).toBeLessThan(2000);
  });
});

describe('sandbox off (development only)', () => {
  it('says so loudly in its status', () => {
    expect(unsandboxed.status().mode).toBe('off');
    expect(unsandboxed.status().detail).toMatch(/SANDBOX OFF/);
  });

  it('still reduces the environment and enforces the timeout', async () => {
    process.env.GITHUB_TOKEN = 'ghp_canary_off_mode';
    const env = await unsandboxed.run(root, 'env');
    expect(env.stdout).not.toContain('GITHUB_TOKEN');
    expect(env.stdout).toMatch(/^CI=true$/m);
    const slow = await unsandboxed.run(root, 'sleep 1e9', { timeoutMs: 500 });
    expect(slow.timedOut).toBe(true);
  });
});
