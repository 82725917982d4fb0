import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapStandInScript, privateMountEnvironment } from '../../src/workspace/bwrap-mounts.js';

/**
 * shipmate's stand-in for bwrap, against a fake bwrap that prints the argv it gets: where the
 * private mounts land among sandbox-runtime's own arguments.
 */

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shipmate-standin-'));
  await writeFile(join(dir, 'bwrap'), bwrapStandInScript, { mode: 0o700 });
  // The "real" bwrap: one argument per line, then what it saw of the plan in its environment.
  await writeFile(
    join(dir, 'real'),
    '#!/bin/bash\nprintf "%s\\n" "$@"\nenv | grep -c "^SHIPMATE_BWRAP_" >&2\nexit 0\n',
    { mode: 0o700 },
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const plan = privateMountEnvironment({
  tmpBytes: 100,
  shmBytes: 50,
  homeBytes: 70,
  maskBytes: 7,
  home: '/data/tmp/cmd-1/home',
  readable: ['/tmp/work/tree', '/data/tmp/cmd-1', '/tmp'],
});

/** Runs the stand-in; `profile` becomes an `--args` file on fd 9, as sandbox-runtime passes one. */
function standIn(args: string[], env: Record<string, string> = plan, profile?: string[]) {
  const file = profile ? '/bin/sh' : join(dir, 'bwrap');
  const argv = profile
    ? [
        '-c',
        'exec 9<"$1" && shift && exec "$@"',
        'srt-args',
        join(dir, 'profile'),
        join(dir, 'bwrap'),
        ...args,
      ]
    : args;
  if (profile) spawnSync('/bin/sh', ['-c', 'printf "%s\\0" "$@" > "$0"', join(dir, 'profile'), ...profile]);
  const result = spawnSync(file, argv, { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  return { status: result.status, argv: result.stdout.split('\n').slice(0, -1), stderr: result.stderr };
}

const sandboxRuntime = [
  '--new-session',
  '--die-with-parent',
  '--unshare-net',
  '--bind',
  '/tmp/claude-http-1.sock',
  '/tmp/claude-http-1.sock',
  '--setenv',
  'HTTP_PROXY',
  'http://localhost:3128',
  '--ro-bind',
  '/',
  '/',
  '--bind',
  '/tmp/work/tree',
  '/tmp/work/tree',
  '--tmpfs',
  '/home',
  '--dev',
  '/dev',
  '--unshare-pid',
  '--proc',
  '/proc',
  '--',
  '/usr/bin/bash',
  '-c',
  'echo --ro-bind / / --dev /dev',
];

const expected = [
  '--new-session',
  '--die-with-parent',
  '--unshare-net',
  '--bind',
  '/tmp/claude-http-1.sock',
  '/tmp/claude-http-1.sock',
  '--setenv',
  'HTTP_PROXY',
  'http://localhost:3128',
  '--ro-bind',
  '/',
  '/',
  // the private /tmp, the host's /tmp/work (which holds a path the policy reads), the socket again
  '--size',
  '100',
  '--tmpfs',
  '/tmp',
  '--ro-bind-try',
  '/tmp/work',
  '/tmp/work',
  '--bind',
  '/tmp/claude-http-1.sock',
  '/tmp/claude-http-1.sock',
  // sandbox-runtime's own mounts land on the private /tmp
  '--bind',
  '/tmp/work/tree',
  '/tmp/work/tree',
  '--size',
  '7',
  '--tmpfs',
  '/home',
  '--dev',
  '/dev',
  '--size',
  '50',
  '--tmpfs',
  '/dev/shm',
  '--remount-ro',
  '/dev',
  '--size',
  '70',
  '--tmpfs',
  '/data/tmp/cmd-1/home',
  '--unshare-pid',
  '--proc',
  '/proc',
  '--',
  '/usr/bin/bash',
  '-c',
  'echo --ro-bind / / --dev /dev',
];

describe('the bwrap stand-in', () => {
  it('adds the private mounts where they belong and keeps the plan out of the sandbox', () => {
    const result = standIn(sandboxRuntime);
    expect(result.status).toBe(0);
    expect(result.argv).toEqual(expected);
    expect(result.stderr.trim()).toBe('0');
  });

  it('does the same when the mounts come in an --args file', () => {
    const mountsStart = sandboxRuntime.indexOf('--ro-bind');
    const mountsEnd = sandboxRuntime.indexOf('--dev');
    const result = standIn(
      [...sandboxRuntime.slice(0, mountsStart), '--args', '9', ...sandboxRuntime.slice(mountsEnd)],
      plan,
      sandboxRuntime.slice(mountsStart, mountsEnd),
    );
    expect(result.status).toBe(0);
    expect(result.argv).toEqual(expected);
  });

  it.each([
    {
      name: 'passes sandbox-runtime’s start-up probes through unchanged (no plan)',
      args: ['--unshare-user', '--dev-bind', '/', '/', 'true'],
      env: {},
      status: 0,
      argv: ['--unshare-user', '--dev-bind', '/', '/', 'true'],
    },
    {
      name: 'passes its whole-host user-namespace probe through even with a plan',
      args: ['--unshare-user', '--dev-bind', '/', '/', 'true'],
      env: plan,
      status: 0,
      argv: ['--unshare-user', '--dev-bind', '/', '/', 'true'],
    },
    {
      name: 'refuses a command line without the read-only root',
      args: ['--dev', '/dev', '--', 'true'],
      env: plan,
      status: 126,
      stderr: /no --ro-bind \/ \//,
    },
    {
      name: 'refuses a command line without --dev /dev',
      args: ['--ro-bind', '/', '/', '--', 'true'],
      env: plan,
      status: 126,
      stderr: /no --dev \/dev/,
    },
    {
      name: 'refuses an option it does not know (it could not tell its arguments apart)',
      args: ['--ro-bind', '/', '/', '--future-option', 'x', '--dev', '/dev', '--', 'true'],
      env: plan,
      status: 126,
      stderr: /unknown bubblewrap option --future-option/,
    },
  ])('$name', ({ args, env, status, argv, stderr }) => {
    const result = standIn(args, env);
    expect(result.status).toBe(status);
    if (argv) expect(result.argv).toEqual(argv);
    if (stderr) expect(result.stderr).toMatch(stderr);
  });

  it('leaves sizes out when this bwrap has no --size', () => {
    const unsized = privateMountEnvironment({
      tmpBytes: undefined,
      shmBytes: undefined,
      homeBytes: undefined,
      maskBytes: undefined,
      home: '/data/home',
      readable: [],
    });
    const result = standIn(
      ['--ro-bind', '/', '/', '--tmpfs', '/home', '--dev', '/dev', '--', 'true'],
      unsized,
    );
    expect(result.argv).toEqual([
      '--ro-bind',
      '/',
      '/',
      '--tmpfs',
      '/tmp',
      '--tmpfs',
      '/home',
      '--dev',
      '/dev',
      '--tmpfs',
      '/dev/shm',
      '--remount-ro',
      '/dev',
      '--tmpfs',
      '/data/home',
      '--',
      'true',
    ]);
  });

  it('refuses a path it cannot carry', () => {
    expect(() =>
      privateMountEnvironment({
        tmpBytes: 1,
        shmBytes: 1,
        homeBytes: 1,
        maskBytes: 1,
        home: '/data/ho\nme',
        readable: [],
      }),
    ).toThrow(/newline/);
  });
});
