/**
 * Workspace figures: warm worktree vs fresh clone, and sandbox overhead per command.
 * Run: npx tsx bench/workspace-bench.ts [--files 3000] [--commits 10000] [--runs 30]
 * Prints figures; asserts nothing.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { SandboxManager } from '@anthropic-ai/sandbox-runtime';
import { buildFilesystemPolicy } from '../src/workspace/sandbox-policy.js';
import { SandboxRunner } from '../src/workspace/sandbox-runner.js';
import type { RepoSpec } from '../src/workspace/types.js';
import { WorkspaceManager } from '../src/workspace/worktree-manager.js';
import { createLargeRepo } from '../tests/support/git-fixtures.js';

const execFileAsync = promisify(execFile);

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) ? value : fallback;
}

const files = option('files', 3_000);
const commits = option('commits', 10_000);
const runs = option('runs', 30);

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

async function medianOf(count: number, work: (index: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) samples.push((await timed(() => work(index))).ms);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** A plain child process with the same kind of reduced env: the baseline the sandbox adds to. */
function plainExec(command: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['--norc', '--noprofile', '-c', command], {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

export async function runWorkspaceBench(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'shipmate-bench-'));
  const dataDir = join(base, 'data');
  console.log(`workspace bench: ${files} files, ${commits} commits, ${runs} runs per command figure\n`);
  const made = await timed(() => createLargeRepo({ files, commits }));
  const origin = made.value;
  console.log(`generated the repository with git fast-import in ${ms(made.ms)}   goal < 20 s`);
  const sandbox = await SandboxRunner.create({
    mode: 'on',
    tempRoot: join(dataDir, 'tmp'),
    denyRead: [dataDir],
  });
  const plainRunner = await SandboxRunner.create({
    mode: 'off',
    tempRoot: join(dataDir, 'tmp-off'),
    denyRead: [],
  });
  console.log(`sandbox: ${sandbox.status().mode} (${sandbox.status().detail})\n`);
  try {
    const repo: RepoSpec = { name: 'large', url: origin.dir, defaultBranch: origin.defaultBranch };
    const manager = new WorkspaceManager({ dataDir, sandbox, fetchIntervalMs: 60 * 60 * 1000 });
    const url = pathToFileURL(origin.dir).href;
    const clone = await medianOf(3, (index) =>
      execFileAsync('git', ['clone', '--quiet', '--no-local', url, join(base, `clone-${index}`)]),
    );
    const cold = await timed(() => manager.acquire(repo, 'bench-cold'));
    const warm = await medianOf(5, (index) => manager.acquire(repo, `bench-warm-${index}`));
    const reuse = await medianOf(5, () => manager.acquire(repo, 'bench-warm-0'));
    console.log('worktrees');
    console.log(`  fresh git clone (file://, median of 3):  ${ms(clone)}`);
    console.log(`  first acquire (mirror clone + worktree):  ${ms(cold.ms)}`);
    console.log(`  warm acquire, new thread (median of 5):   ${ms(warm)}   goal < 300 ms`);
    console.log(`  follow-up acquire, same thread (median):  ${ms(reuse)}`);
    console.log(`  clone / warm acquire:                     ${(clone / warm).toFixed(1)}×   goal ≥ 10×\n`);

    const root = cold.value.root;
    console.log(`sandbox overhead per command (median of ${runs}, cwd = worktree of ${files} files)`);
    for (const command of ['true', 'rg -l "export const" . | wc -l', 'git log --oneline -1']) {
      const plain = await medianOf(runs, () => plainExec(command, root));
      const off = await medianOf(runs, () => plainRunner.run(root, command));
      const on = await medianOf(runs, () => sandbox.run(root, command));
      console.log(`  ${command}`);
      console.log(`    plain spawn:           ${ms(plain)}`);
      console.log(
        `    runner, sandbox off:   ${ms(off)}   (+${ms(off - plain)}: limits launcher, scratch dir)`,
      );
      console.log(
        `    runner, bubblewrap:    ${ms(on)}   (+${ms(on - plain)} over plain, ratio ${(on / plain).toFixed(1)}×)   goal < 50 ms overhead`,
      );
    }
    const policy = buildFilesystemPolicy({
      root,
      scratch: join(dataDir, 'tmp'),
      denyRead: [dataDir],
      mounts: {},
    });
    const wrap = await medianOf(runs, async () => {
      await SandboxManager.wrapWithSandbox('true', undefined, { filesystem: policy });
      SandboxManager.cleanupAfterCommand();
    });
    console.log(
      `\n  of which sandbox-runtime wrapWithSandbox alone: ${ms(wrap)} (host cwd scanned: ${process.cwd()})`,
    );
  } finally {
    await sandbox.close();
    await plainRunner.close();
    await rm(base, { recursive: true, force: true });
    await origin.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runWorkspaceBench();
