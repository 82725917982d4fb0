import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectDefaultBranch } from '../../src/workspace/default-branch.js';
import { runHostGit, runHostGitRaw, standardPath } from '../../src/workspace/host-git.js';
import { type ProcessSpec, runProcess } from '../../src/workspace/process-runner.js';
import { createRepo, git, type TestRepo } from '../support/git-fixtures.js';

/**
 * The two ways shipmate starts a child process (src/workspace/process-runner.ts for sandboxed
 * commands, src/workspace/host-git.ts for host git), without bubblewrap: what reaches the
 * child, what is killed and when the call returns.
 */

const secrets = {
  GITHUB_TOKEN: 'ghp_canary_child_env_token',
  SLACK_BOT_TOKEN: 'xoxb-canary-child-env',
  OPENAI_API_KEY: 'sk-canary-child-env',
  // Would make git run a command for every ssh URL if the parent's environment leaked.
  GIT_SSH_COMMAND: 'touch /tmp/shipmate-canary-ssh-command',
};

let base: string;
let bare: string;
let origin: TestRepo;
const savedHome = process.env.HOME;

beforeAll(async () => {
  Object.assign(process.env, secrets);
  base = await mkdtemp(join(tmpdir(), 'shipmate-children-'));
  origin = await createRepo({ files: { 'README.md': '# demo\n' }, defaultBranch: 'trunk' });
  bare = join(base, 'bare.git');
  await git(base, ['clone', '--quiet', '--bare', origin.dir, bare]);
});

afterAll(async () => {
  for (const name of Object.keys(secrets)) delete process.env[name];
  process.env.HOME = savedHome;
  await rm(base, { recursive: true, force: true });
  await origin.cleanup();
});

function spec(script: string, more: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    file: '/bin/bash',
    args: ['--norc', '--noprofile', '-c', script],
    cwd: base,
    env: { PATH: standardPath, LANG: 'C.UTF-8' },
    timeoutMs: 20_000,
    keepBytes: 1000,
    hardLimitBytes: 4 * 1024 * 1024,
    ...more,
  };
}

/** Processes on the host whose command line carries `marker`. */
function survivors(marker: string): string[] {
  const output = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return output.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

function expectNoSecrets(text: string): void {
  for (const [name, value] of Object.entries(secrets)) {
    expect(text).not.toContain(name);
    expect(text).not.toContain(value);
  }
}

describe('runProcess (the sandbox runner underneath bubblewrap)', () => {
  it('gives the child exactly the environment it was handed, none of process.env', async () => {
    const result = await runProcess(spec('env', { env: { PATH: standardPath, ONLY: 'this' } }));
    expect(result.exitCode).toBe(0);
    expectNoSecrets(result.stdout);
    expect(result.stdout).toMatch(/^ONLY=this$/m);
    expect(result.stdout).not.toMatch(/^HOME=/m);
  });

  it('passes stdin, and ignores a command that does not read it', async () => {
    const echoed = await runProcess(spec('cat', { stdin: 'from stdin\n' }));
    expect(echoed.stdout).toBe('from stdin\n');
    const ignored = await runProcess(spec('true', { stdin: 'x'.repeat(4 * 1024 * 1024) }));
    expect(ignored.exitCode).toBe(0);
    const none = await runProcess(spec('cat'));
    expect(none.stdout).toBe('');
  });

  it('reports the exit code and a signal the command died of', async () => {
    const exited = await runProcess(spec('echo out; echo err >&2; exit 3'));
    expect(exited).toMatchObject({ exitCode: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
    expect(exited.limitNote).toBeUndefined();
    const killed = await runProcess(spec('kill -TERM $$'));
    expect(killed).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false, cancelled: false });
  });

  it('kills the whole process group at the deadline and runs the extra teardown', async () => {
    const marker = `deadline${Date.now()}`;
    let tornDown = 0;
    const result = await runProcess(
      spec(`(exec -a ${marker}-bg sleep 1e9) & exec -a ${marker} sleep 1e9`, {
        timeoutMs: 500,
        killTree: async () => {
          tornDown += 1;
        },
      }),
    );
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true, cancelled: false });
    expect(result.durationMs).toBeLessThan(2500);
    expect(result.limitNote).toMatch(/timed out after 0\.5 s/);
    expect(tornDown).toBe(1);
    expect(survivors(marker)).toEqual([]);
  });

  it('kills the group on cancel, also when the signal was aborted before the start', async () => {
    const marker = `cancel${Date.now()}`;
    const controller = new AbortController();
    const running = runProcess(
      spec(`(exec -a ${marker} sleep 1e9) & (exec -a ${marker} sleep 1e9); wait`, {
        signal: controller.signal,
      }),
    );
    setTimeout(() => controller.abort(), 200);
    const result = await running;
    expect(result).toMatchObject({ exitCode: null, cancelled: true, timedOut: false });
    expect(result.limitNote).toMatch(/cancelled/);
    const early = await runProcess(
      spec(`exec -a ${marker}-early sleep 1e9`, { signal: AbortSignal.abort() }),
    );
    expect(early).toMatchObject({ exitCode: null, cancelled: true });
    expect(early.durationMs).toBeLessThan(2000);
    expect(survivors(marker)).toEqual([]);
  });

  it('stops runaway output at the hard limit and keeps its head and tail', async () => {
    const runaway = await runProcess(spec('yes'));
    expect(runaway).toMatchObject({ exitCode: null, timedOut: false, cancelled: false });
    expect(runaway.limitNote).toMatch(/more than 4 MiB of output/);
    expect(runaway.stdout.length).toBeLessThan(2000);
    const long = await runProcess(spec('seq 1 100000'));
    expect(long.stdout.startsWith('1\n2\n3\n')).toBe(true);
    expect(long.stdout.endsWith('99999\n100000\n')).toBe(true);
    expect(long.stdout).toMatch(/… \[\d+ bytes cut\] …/);
  });

  it('returns when the command exits, killing what it left running in the background', async () => {
    const marker = `straggler${Date.now()}`;
    const result = await runProcess(spec(`(exec -a ${marker} sleep 30) & echo done`));
    expect(result).toMatchObject({ exitCode: 0, stdout: 'done\n' });
    expect(result.durationMs).toBeLessThan(2000);
    expect(survivors(marker)).toEqual([]);
  });

  it('does not wait past the grace for a process that left the group and holds the pipes', async () => {
    // execa alone would wait for the pipes to close, here 3 s (decision 0007).
    const result = await runProcess(spec('setsid sleep 3 & sleep 0.2; echo done', { timeoutMs: 1000 }));
    expect(result).toMatchObject({ exitCode: 0, stdout: 'done\n', timedOut: false });
    expect(result.durationMs).toBeLessThan(1500);
  });

  it('throws a WorkspaceError when the program cannot be started', async () => {
    await expect(runProcess({ ...spec(''), file: '/nonexistent/program', args: [] })).rejects.toMatchObject({
      code: 'command-spawn-failed',
      message: expect.stringContaining('/nonexistent/program'),
    });
  });
});

describe('runHostGit', () => {
  it('gives git no variable of process.env, in both profiles', async () => {
    for (const profile of ['isolated', 'network'] as const) {
      // A shell alias prints the environment git hands its own children.
      const env = await runHostGit(['-c', 'alias.showenv=!env', 'showenv'], { cwd: base, profile });
      expectNoSecrets(env);
      expect(env).toMatch(/^GIT_TERMINAL_PROMPT=0$/m);
      if (profile === 'isolated') {
        expect(env).toMatch(/^HOME=\/nonexistent$/m);
        expect(env).toMatch(/^GIT_CONFIG_GLOBAL=\/dev\/null$/m);
        expect(env).toMatch(/^GIT_CONFIG_NOSYSTEM=1$/m);
      }
    }
  });

  it('keeps stdout byte for byte: no decoding, no trailing newline stripped', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0xc3, 0x28, 0x0a]);
    const sha = (
      await runHostGit(['--git-dir', bare, 'hash-object', '-w', '--stdin'], { input: bytes })
    ).trim();
    const out = await runHostGitRaw(['--git-dir', bare, 'cat-file', 'blob', sha]);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.equals(bytes)).toBe(true);
    expect(await runHostGit(['--git-dir', bare, 'rev-parse', 'HEAD'])).toMatch(/^[0-9a-f]{40}\n$/);
  });

  it('feeds NUL-separated records on stdin and never waits on a stdin it was not given', async () => {
    const index = join(base, 'index-records');
    const blob = (
      await runHostGit(['--git-dir', bare, 'hash-object', '-w', '--stdin'], { input: 'x\n' })
    ).trim();
    await runHostGit(['--git-dir', bare, 'update-index', '-z', '--index-info'], {
      input: `100644 ${blob}\ta b.txt\u0000100644 ${blob}\tc.txt\u0000`,
      env: { GIT_INDEX_FILE: index },
    });
    const listed = await runHostGit(['--git-dir', bare, 'ls-files', '-z'], {
      env: { GIT_INDEX_FILE: index },
    });
    expect(listed.split('\0').filter(Boolean)).toEqual(['a b.txt', 'c.txt']);
    // `--stdin` with no input reads an empty stdin: the empty blob, at once.
    const empty = await runHostGit(['--git-dir', bare, 'hash-object', '--stdin'], { timeoutMs: 5000 });
    expect(empty.trim()).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  });

  it('fails with git’s own words and credentials scrubbed', async () => {
    const failure = runHostGit(['ls-remote', '--', 'https://user:s3cret@127.0.0.1:1/x.git'], {
      timeoutMs: 10_000,
    });
    await expect(failure).rejects.toMatchObject({ code: 'git-failed' });
    const error = (await failure.then(
      () => undefined,
      (caught: unknown) => caught,
    )) as Error;
    expect(error.message).not.toContain('s3cret');
    expect(error.message).toMatch(/\*\*\*@127\.0\.0\.1/);
  });

  it('stops git at its deadline', async () => {
    const started = performance.now();
    await expect(
      runHostGit(['-c', 'alias.wait=!sleep 30', 'wait'], { cwd: base, timeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'git-failed', message: expect.stringMatching(/timed out after 0\.3 s/) });
    expect(performance.now() - started).toBeLessThan(6000);
  });

  it('refuses ext:: even when the operator’s global config allows it', async () => {
    const home = join(base, 'home-ext');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.gitconfig'), '[protocol "ext"]\n\tallow = always\n');
    const marker = join(base, 'ext-ran');
    process.env.HOME = home;
    try {
      await expect(
        runHostGit(['ls-remote', '--', `ext::sh -c touch% ${marker}`], { profile: 'network' }),
      ).rejects.toMatchObject({ code: 'git-failed' });
    } finally {
      process.env.HOME = savedHome;
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('detectDefaultBranch', () => {
  it('reads the branch HEAD points at, and falls back to main', async () => {
    expect(await detectDefaultBranch(bare)).toBe('trunk');
    expect(await detectDefaultBranch(join(base, 'missing.git'))).toBe('main');
  });

  it('runs nothing for a URL that is an option', async () => {
    const marker = join(base, 'upload-pack-ran');
    expect(await detectDefaultBranch(`--upload-pack=touch ${marker}; false`)).toBe('main');
    expect(existsSync(marker)).toBe(false);
  });

  it('keeps the operator’s git config but not shipmate’s environment', async () => {
    // The operator's ~/.gitconfig is honoured (as for mirror fetches): its ssh command writes
    // the environment git runs it with to a file, which must hold no variable of process.env.
    const home = join(base, 'home-ssh');
    const seen = join(base, 'ssh-env');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.gitconfig'), `[core]\n\tsshCommand = "env > ${seen}; false"\n`);
    process.env.HOME = home;
    try {
      expect(await detectDefaultBranch('ssh://git@example.invalid/demo.git')).toBe('main');
    } finally {
      process.env.HOME = savedHome;
    }
    const env = readFileSync(seen, 'utf8');
    expect(env).toMatch(new RegExp(`^HOME=${home}$`, 'm'));
    expectNoSecrets(env);
    expect(existsSync('/tmp/shipmate-canary-ssh-command')).toBe(false);
  });
});
