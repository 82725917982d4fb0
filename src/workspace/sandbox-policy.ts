import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkspaceError } from '../errors.js';
import { isWithin } from './path-confinement.js';

/**
 * The filesystem part of sandbox-runtime's config (`SandboxRuntimeConfig['filesystem']`) as
 * shipmate builds it: plain absolute paths. The library's type (0.0.83) also admits
 * `{ path, literal }` entries, which shipmate does not write and so need not read back.
 */
export interface FilesystemPolicy {
  denyRead: string[];
  allowRead: string[];
  allowWrite: string[];
  denyWrite: string[];
}

/**
 * What one command may see of its thread beyond the checkout, taken from shipmate's own
 * records (never from a `.git` file the sandbox could have rewritten): the thread's sandbox
 * git dir (writable: the agent's own git) and object stores it may read (the mirror's and the
 * thread repository's, read-only).
 */
export interface SandboxMounts {
  gitDir?: string;
  readOnly?: string[];
}

/** Never readable inside the sandbox, whatever the caller lists. */
const alwaysDeniedReads = [
  '/root',
  '/home',
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/ssh',
  '/run/secrets',
  '/var/run/secrets',
];

export interface PolicyInput {
  root: string;
  scratch: string;
  denyRead: string[];
  mounts: SandboxMounts;
}

/**
 * The per-command filesystem policy: read everything but the denied regions (shipmate's data
 * dir, install dir, working dir, config, homes, credentials), with the checkout, its scratch
 * dir, its own git dir and the object stores re-opened; write only the checkout, the scratch
 * dir and the thread's own git dir.
 */
export function buildFilesystemPolicy(input: PolicyInput): FilesystemPolicy {
  const { root, scratch, mounts } = input;
  const denyRead = unique([...input.denyRead, ...alwaysDeniedReads, homedir()].filter(existsSync));
  const readOnly = (mounts.readOnly ?? []).filter(existsSync);
  const allowRead = [root, scratch, ...readOnly];
  const allowWrite = [root, scratch];
  const denyWrite = [join(root, '.git'), ...readOnly];
  if (mounts.gitDir) {
    allowRead.push(mounts.gitDir);
    allowWrite.push(mounts.gitDir);
  }
  // sandbox-runtime always allows writes to /tmp/claude when it exists: a channel between
  // sandboxes. Close it.
  if (existsSync('/tmp/claude')) denyWrite.push('/tmp/claude');
  return { denyRead, allowRead, allowWrite, denyWrite };
}

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Shell text that sets TMPDIR, the positional args and the caller's env vars from transport
 * variables, then runs `command`. No caller data enters the text: values travel in the
 * environment, and names are checked against a strict pattern.
 */
export function composeScript(
  command: string,
  input: { argv?: string[]; env?: Record<string, string> },
): { script: string; transport: Record<string, string> } {
  const transport: Record<string, string> = {};
  const lines = ['export TMPDIR="$SHIPMATE_TMPDIR"; unset SHIPMATE_TMPDIR'];
  const argv = input.argv ?? [];
  if (argv.length > 0) {
    const names = argv.map((_, index) => `SHIPMATE_ARG_${index}`);
    argv.forEach((value, index) => {
      transport[`SHIPMATE_ARG_${index}`] = value;
    });
    lines.push(`set -- ${names.map((name) => `"$${name}"`).join(' ')}; unset ${names.join(' ')}`);
  }
  Object.entries(input.env ?? {}).forEach(([name, value], index) => {
    if (!envNamePattern.test(name) || name.startsWith('SHIPMATE_')) {
      throw new WorkspaceError('invalid-env-name', `"${name}" is not a usable environment variable name`);
    }
    transport[`SHIPMATE_ENV_${index}`] = value;
    lines.push(`export ${name}="$SHIPMATE_ENV_${index}"; unset SHIPMATE_ENV_${index}`);
  });
  lines.push(command);
  return { script: lines.join('\n'), transport };
}

export interface ViolationInput {
  stderr: string;
  /** Lines sandbox-runtime recorded for this command (proxy denies, …). */
  recorded: string[];
  policy: FilesystemPolicy;
  networkAllowed: boolean;
  /** The command's working directory, for relative paths in error lines. */
  cwd: string;
}

/** A plain sentence when the sandbox (rather than the command itself) stopped something. */
export function describeViolation(input: ViolationInput): string | undefined {
  const sentences: string[] = [];
  for (const line of input.recorded) {
    const network = line.match(/deny network-outbound (\S+)/);
    if (network)
      sentences.push(
        `The sandbox blocked network access to ${network[1]}: that host is not on this repository's allowed domains.`,
      );
  }
  const write = blockedWritePath(input);
  if (write !== undefined) {
    sentences.push(
      `The sandbox blocked a write to ${write}: only the worktree and a private temp directory are writable.`,
    );
  }
  const read = blockedReadPath(input);
  if (read !== undefined) {
    sentences.push(
      `The sandbox hides ${read}: shipmate's data, other threads' worktrees, home directories and credentials are not readable.`,
    );
  }
  if (!input.networkAllowed && sentences.length === 0 && looksLikeNetworkFailure(input.stderr)) {
    sentences.push('The sandbox has no network access: no domains are allowed for this repository.');
  }
  return sentences.length > 0 ? unique(sentences).join(' ') : undefined;
}

function blockedWritePath({ stderr, policy, cwd }: ViolationInput): string | undefined {
  for (const { path, error } of pathErrors(stderr, cwd)) {
    if (error === 'No such file or directory') continue;
    const writable = policy.allowWrite.some((dir) => isWithin(dir, path));
    const protectedInside = policy.denyWrite.some((denied) => isWithin(denied, path));
    if (error === 'Read-only file system' ? !writable || protectedInside : protectedInside) return path;
  }
  return undefined;
}

function blockedReadPath({ stderr, policy, cwd }: ViolationInput): string | undefined {
  for (const { path, error } of pathErrors(stderr, cwd)) {
    if (error !== 'No such file or directory' && error !== 'Permission denied') continue;
    const denied = policy.denyRead.some((dir) => isWithin(dir, path));
    const reopened = (policy.allowRead ?? []).some((dir) => isWithin(dir, path));
    if (denied && !reopened) return path;
  }
  return undefined;
}

const pathErrorPattern =
  /['‘"]?([^\s'‘’"]+?)['’"]?: (Read-only file system|Permission denied|No such file or directory|Operation not permitted)/g;

/** Each "<path>: <errno text>" in the output ("cat: '/x': …", "bash: line 1: .git: …"), made absolute. */
function pathErrors(stderr: string, cwd: string): { path: string; error: string }[] {
  return [...stderr.matchAll(pathErrorPattern)].flatMap((match) => {
    const [, raw, error] = match;
    if (!raw || !error || /^line$|^\d+$/.test(raw)) return [];
    return [{ path: resolve(cwd, raw), error }];
  });
}

function looksLikeNetworkFailure(stderr: string): boolean {
  return /Could not resolve host|Temporary failure in name resolution|Network is unreachable|Couldn't connect to server|Connection refused|getaddrinfo|ENOTFOUND|ECONNREFUSED/i.test(
    stderr,
  );
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
