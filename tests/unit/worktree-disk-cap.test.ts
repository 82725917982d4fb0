import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureDiskUsage, walkDiskUsage } from '../../src/workspace/disk-usage.js';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { RepoSpec } from '../../src/workspace/types.js';
import { WorkspaceManager } from '../../src/workspace/worktree-manager.js';
import { createRepo, type TestRepo } from '../support/git-fixtures.js';

/**
 * The per-worktree disk cap, checked after each command: the checkout and the thread's sandbox
 * git dir together, by allocated blocks, links not followed. Past it the uncommitted work is
 * discarded and the command's result says so.
 */

const mebibyte = 1024 * 1024;
let origin: TestRepo;
let repo: RepoSpec;
let dataDir: string;
let sandbox: SandboxRunner;
let manager: WorkspaceManager;
let thread = 0;

beforeAll(async () => {
  origin = await createRepo({
    files: { 'README.md': '# demo\n', 'src/app.ts': 'export const answer = 42;\n' },
  });
  repo = { name: 'demo', url: origin.dir, defaultBranch: origin.defaultBranch };
  dataDir = await mkdtemp(join(tmpdir(), 'shipmate-diskcap-'));
  sandbox = await SandboxRunner.create({
    mode: 'on',
    tempRoot: join(dataDir, 'tmp'),
    denyRead: [dataDir],
    limits: { maxWorktreeBytes: 4 * mebibyte, maxFileBytes: 64 * mebibyte },
  });
  manager = new WorkspaceManager({ dataDir, sandbox });
});

afterAll(async () => {
  await sandbox.close();
  await rm(dataDir, { recursive: true, force: true });
  await origin.cleanup();
});

describe('the worktree disk cap', () => {
  it('is named in the status', () => {
    expect(sandbox.status().limits).toMatch(/disk: 4 MiB per worktree \(checked after each command\)/);
  });

  it.each([
    { what: 'one large file', command: 'head -c 6M /dev/urandom > big.bin', left: 'big.bin', over: true },
    {
      what: 'many small files',
      command: 'mkdir many && for i in $(seq 1 30); do head -c 200K /dev/urandom > many/f$i; done',
      left: 'many',
      over: true,
    },
    {
      what: 'git objects (the sandbox git dir counts too)',
      command: 'head -c 5M /dev/urandom > blob && git add blob && git rm -q --cached blob && rm blob',
      left: undefined,
      over: true,
    },
    {
      what: 'a 10 GiB sparse file (its blocks count, not its size)',
      command: 'truncate -s 10G sparse.img',
      left: 'sparse.img',
      over: false,
    },
    {
      what: 'a symlink to / (never followed)',
      command: 'ln -s / everything',
      left: 'everything',
      over: false,
    },
    {
      what: 'a file under the cap',
      command: 'head -c 1M /dev/urandom > small.bin',
      left: 'small.bin',
      over: false,
    },
  ])('after $what: over the cap = $over', async ({ command, left, over }) => {
    thread += 1;
    const workspace = await manager.acquire(repo, `C1-${thread}.1`);
    await workspace.writeFile('README.md', '# demo, edited\n');
    const result = await workspace.run(command);
    expect(result.stderr).toBe('');
    if (over) {
      expect(result.limitNote).toMatch(/took more than 4 MiB of disk, the limit per worktree/);
      expect(result.limitNote).toMatch(/uncommitted work was discarded/);
      expect(await workspace.readFile('README.md')).toBe('# demo\n');
      if (left) expect(existsSync(join(workspace.root, left))).toBe(false);
      // The rebuilt worktree works and is clean.
      const status = await workspace.run('git status --short && echo clean');
      expect(status.stdout).toBe('clean\n');
    } else {
      expect(result.limitNote ?? '').not.toMatch(/limit per worktree/);
      expect(await workspace.readFile('README.md')).toBe('# demo, edited\n');
      if (left) expect(existsSync(join(workspace.root, left))).toBe(true);
    }
  });
});

describe('measuring a tree (du, and the lstat walk used when du cannot)', () => {
  it.each([
    {
      what: 'plain files',
      setup: 'head -c 3M /dev/urandom > a && head -c 1M /dev/urandom > b',
      over2MiB: true,
    },
    { what: 'a 10 GiB sparse file', setup: 'truncate -s 10G sparse', over2MiB: false },
    { what: 'a symlink to /', setup: 'ln -s / everything', over2MiB: false },
    {
      what: 'one 1.5 MiB file under three hard links',
      setup: 'head -c 1536K /dev/urandom > a && ln a b && ln a c',
      over2MiB: false,
    },
  ])('$what: both agree, over 2 MiB = $over2MiB', async ({ setup, over2MiB }) => {
    const tree = join(dataDir, `tree-${Math.random().toString(36).slice(2)}`);
    await mkdir(tree);
    execFileSync('/bin/bash', ['-c', setup], { cwd: tree });
    const cap = 2 * mebibyte;
    const [du, walked] = [
      await measureDiskUsage([tree], cap),
      await walkDiskUsage([tree], 10 * 1024 * mebibyte),
    ];
    expect(walked.bytes).toBe(du.bytes);
    expect(du.over).toBe(over2MiB);
    expect((await walkDiskUsage([tree], cap)).over).toBe(over2MiB);
  });

  it('stops the walk once past the cap', async () => {
    const tree = join(dataDir, 'tree-many');
    await mkdir(tree);
    execFileSync('/bin/bash', ['-c', 'for i in $(seq 1 50); do head -c 64K /dev/urandom > f$i; done'], {
      cwd: tree,
    });
    const walked = await walkDiskUsage([tree], 256 * 1024);
    expect(walked.over).toBe(true);
    expect(walked.bytes).toBeLessThan((await measureDiskUsage([tree], Number.MAX_SAFE_INTEGER)).bytes);
  });
});

describe('host-side walks of a checkout and running commands', () => {
  // Found by a red-team run: a Discard click rebuilt the checkout (rm -r by path) while a
  // command in the same thread swapped a directory for a symlink to a host path, and the walk
  // deleted host files. Commands and host walks of one thread now take turns.
  it('waits for the thread’s running command before it rebuilds the checkout', async () => {
    thread += 1;
    const workspace = await manager.acquire(repo, `C9-race.${thread}`);
    const victim = await mkdtemp(join(tmpdir(), 'shipmate-victim-'));
    for (let index = 0; index < 20; index += 1) execFileSync('touch', [join(victim, `f${index}`)]);
    await workspace.writeFile('d/keep.txt', 'x');
    const order: string[] = [];
    const swapping = workspace
      .run(
        'for i in $(seq 1 300); do mv d d.real && ln -s "$1" d && rm d && mv d.real d; done; echo swapped',
        { argv: [victim] },
      )
      .then((result) => {
        order.push('command');
        return result;
      });
    const discarded = workspace.discard().then(() => order.push('discard'));
    const [result] = await Promise.all([swapping, discarded]);
    expect(result.stdout).toContain('swapped');
    expect(order).toEqual(['command', 'discard']);
    expect(execFileSync('ls', [victim], { encoding: 'utf8' }).split('\n').filter(Boolean)).toHaveLength(20);
    expect(existsSync(join(workspace.root, 'd'))).toBe(false);
    await rm(victim, { recursive: true, force: true });
  });
});
