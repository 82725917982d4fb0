import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxManager } from '@anthropic-ai/sandbox-runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { RunOptions } from '../../src/workspace/types.js';

/** Runaway commands are stopped and reported; numbers kept small so the file runs in seconds. */

let base: string;
let root: string;
let sandbox: SandboxRunner;
let unsandboxed: SandboxRunner;
let canary: Server;
let canaryPort = 0;
const mebibyte = 1024 * 1024;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'shipmate-limits-'));
  root = await mkdtemp(join(base, 'worktree-'));
  const common = {
    tempRoot: join(base, 'tmp'),
    denyRead: [],
    keepBytes: 1000,
    hardOutputLimitBytes: 4 * mebibyte,
    limits: {
      maxProcesses: 64,
      maxFileBytes: 8 * mebibyte,
      maxMemoryBytes: 256 * mebibyte,
      // Below the 8 MiB file size limit, so the tmpfs is what stops a write.
      maxTmpBytes: 6 * mebibyte,
      maxShmBytes: 4 * mebibyte,
    },
  };
  sandbox = await SandboxRunner.create({ mode: 'on', ...common });
  unsandboxed = await SandboxRunner.create({ mode: 'off', ...common });
  canary = createServer((_request, response) => response.end('CANARY-REACHED'));
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  canaryPort = (canary.address() as AddressInfo).port;
});

afterAll(async () => {
  canary.close();
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

/**
 * Per-command pids and memory limits (cgroups), and the private size-capped tmpfs. The same
 * commands run on the plain path and on the path of a network grant, which wraps through its
 * own `srt` process. These hold as root too: `ulimit -u` does not bind root, the pids cgroup does.
 */
const paths: { name: string; options: RunOptions }[] = [
  { name: 'plain', options: {} },
  { name: 'network grant', options: { extraDomains: ['grant.example.invalid'] } },
];

/** Forks until the kernel refuses (or 500 children), prints how many it got. */
const forkCounter =
  'perl -e \'my $n = 0; while ($n < 500) { my $pid = fork(); last unless defined $pid; if ($pid == 0) { sleep 1000; exit 0 } $n++ } print "forked $n\\n"\'';

describe('resource limits in force', () => {
  it('names them in its status, for /healthz and the start-up log', () => {
    const { limits, detail } = sandbox.status();
    for (const expected of [
      /pids: cgroup v[12] \(64\)/,
      /memory: cgroup v[12] \(256 MiB\)/,
      /disk: 2 GiB per worktree/,
      /\/tmp: 6 MiB tmpfs/,
      /\$HOME: 6 MiB tmpfs/,
      /\/dev\/shm: 4 MiB tmpfs/,
    ]) {
      expect(limits, `status: ${detail}`).toMatch(expected);
    }
    expect(detail).toContain(`limits: ${limits}`);
    expect(unsandboxed.status().limits).toMatch(/\/tmp and \/dev\/shm: the host’s \(sandbox off\)/);
  });

  it.each(paths)('stops a fork bomb at the pids limit ($name)', async ({ options }) => {
    const result = await sandbox.run(root, forkCounter, { ...options, timeoutMs: 30_000 });
    const forked = Number(/forked (\d+)/.exec(result.stdout)?.[1] ?? Number.NaN);
    expect(forked, result.stderr).toBeGreaterThan(0);
    expect(forked).toBeLessThan(64);
    expect(result.limitNote).toMatch(/process limit \(64 processes at once\)/);
  });

  it.each(paths)('kills a memory hog at the memory limit ($name)', async ({ options }) => {
    const result = await sandbox.run(
      root,
      'perl -e \'$x = "a" x (1024 * 1024 * 1024); print "survived\\n"\'',
      {
        ...options,
        timeoutMs: 30_000,
      },
    );
    expect(result.stdout).not.toContain('survived');
    expect(result.exitCode).toBe(128 + 9);
    expect(result.limitNote).toMatch(/killed a process at the memory limit \(256 MiB/);
  });

  it.each([
    { place: '/tmp', file: '/tmp/fill', cap: 6 },
    { place: '$TMPDIR', file: '"$TMPDIR/fill"', cap: 6 },
    { place: '$HOME', file: '"$HOME/fill"', cap: 6 },
    { place: '/dev/shm', file: '/dev/shm/fill', cap: 4 },
  ])('fails a write past the $cap MiB cap of $place with ENOSPC', async ({ file, cap }) => {
    const result = await sandbox.run(
      root,
      `head -c 1M /dev/zero > ${file} && echo fits; head -c ${cap + 1}M /dev/zero > ${file}; echo "rc=$?"`,
    );
    expect(result.stdout).toBe('fits\nrc=1\n');
    expect(result.stderr).toMatch(/No space left on device/);
    expect(result.limitNote).toMatch(/ran out of space/);
  });

  it.each(paths)('gives each command its own writable /tmp ($name)', async ({ options }) => {
    const name = `shipmate-private-${randomBytes(6).toString('hex')}`;
    const first = await sandbox.run(root, 'echo "$2" > "/tmp/$1" && cat "/tmp/$1"', {
      ...options,
      argv: [name, 'mine'],
    });
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('mine\n');
    expect(existsSync(join('/tmp', name))).toBe(false);
    const second = await sandbox.run(root, 'if [ -e "/tmp/$1" ]; then echo shared; else echo private; fi', {
      ...options,
      argv: [name],
    });
    expect(second.stdout).toBe('private\n');
  });

  it('still reaches sandbox-runtime’s proxy (its sockets live under /tmp)', async () => {
    // Loopback is in the sandbox's NO_PROXY list; --noproxy '' sends it through the proxy like any host.
    const fetch = `curl --noproxy '' -s -m 10 http://127.0.0.1:${canaryPort}/; echo " rc=$?"`;
    const denied = await sandbox.run(root, fetch, { timeoutMs: 30_000 });
    expect(denied.stdout).not.toContain('CANARY-REACHED');
    expect(denied.sandboxViolation).toMatch(/blocked network access to 127\.0\.0\.1/);
    const granted = await sandbox.run(root, fetch, {
      timeoutMs: 30_000,
      extraDomains: [`127.0.0.1:${canaryPort}`],
    });
    expect(granted.stdout).toContain('CANARY-REACHED');
  });

  it('keeps the private /tmp when sandbox-runtime passes its mounts to bwrap through --args', async () => {
    // Enough denied directories that the bwrap command line no longer fits in one argument.
    const denied = join(base, 'denied');
    const names = Array.from(
      { length: 1200 },
      (_, index) => `${String(index).padStart(4, '0')}-${'x'.repeat(90)}`,
    );
    await mkdir(denied);
    await Promise.all(names.map((name) => mkdir(join(denied, name))));
    const crowded = await SandboxRunner.create({
      mode: 'on',
      tempRoot: join(base, 'tmp-crowded'),
      denyRead: names.map((name) => join(denied, name)),
      limits: { maxTmpBytes: 8 * mebibyte },
    });
    const wrap = vi.spyOn(SandboxManager, 'wrapWithSandbox');
    try {
      expect(crowded.status().mode).toBe('bubblewrap');
      const result = await crowded.run(
        root,
        'echo ok > /tmp/probe-file && cat /tmp/probe-file && df -k /tmp | tail -1',
        {
          timeoutMs: 60_000,
        },
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^ok\ntmpfs\s+8192\s/);
      const wrapped = await wrap.mock.results.at(-1)?.value;
      expect(wrapped).toMatch(/--args 9/);
    } finally {
      wrap.mockRestore();
      await crowded.close();
    }
  });
});
