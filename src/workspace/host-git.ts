import { homedir } from 'node:os';
import { execa } from 'execa';
import { WorkspaceError } from '../errors.js';

/** PATH for host-side git and for sandboxed commands when the caller names none. */
export const standardPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface HostGitOptions {
  cwd?: string;
  timeoutMs?: number;
  path?: string;
  /** Bytes written to git's stdin (a patch for `apply`, records for `update-index -z`). */
  input?: Buffer | string;
  /** Extra environment (GIT_INDEX_FILE, GIT_CONFIG_* for a push credential, author names). */
  env?: Record<string, string>;
  /**
   * 'network' keeps the operator's own global git config (credential helpers, url rewrites,
   * ssh keys through HOME) for fetches and pushes of host-owned repositories. Everything else
   * runs with no system or global config at all.
   */
  profile?: 'isolated' | 'network';
  /** Keep stdout as bytes (patches with non-UTF-8 content). */
  binary?: boolean;
}

/**
 * Config that no repository, attribute file or hook can undo: no hooks, no fsmonitor, no
 * attributes file, no submodule recursion, only the transports shipmate uses (never `ext::`),
 * and the path checks git applies on Windows and macOS (a `.GIT` or `.git.` is refused too).
 */
export const hardenedGitConfig: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.attributesFile=/dev/null',
  'core.protectNTFS=true',
  'core.protectHFS=true',
  'core.pager=cat',
  'core.askPass=',
  'diff.external=',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'protocol.allow=never',
  'protocol.file.allow=always',
  'protocol.https.allow=always',
  'protocol.http.allow=always',
  'protocol.ssh.allow=always',
  'protocol.git.allow=always',
  // A `protocol.<name>.allow` in the operator's global config (read for fetches and pushes) is
  // more specific than `protocol.allow` and would win over it: deny the command runners by name.
  'protocol.ext.allow=never',
  'protocol.fd.allow=never',
].flatMap((setting) => ['-c', setting]);

function environment(options: HostGitOptions): Record<string, string> {
  const base: Record<string, string> = {
    PATH: options.path ?? standardPath,
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_ATTR_NOSYSTEM: '1',
  };
  const profile: Record<string, string> =
    options.profile === 'network'
      ? { HOME: homedir() }
      : { HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  return { ...base, ...profile, ...options.env };
}

/**
 * Runs git on the host: argument arrays, no shell, no hooks, an environment with no host
 * secrets, and (unless `profile: 'network'`) no config but the repository's own. Host git
 * only ever runs in repositories the host alone writes (mirrors, thread repositories).
 */
export function runHostGit(args: string[], options: HostGitOptions = {}): Promise<string> {
  return runHostGitRaw(args, options).then((out) => out.toString('utf8'));
}

/** True when `gitDir` (a host-owned repository) has object `sha` of `type` (its alternates count). */
export function hasObject(gitDir: string, sha: string, type: 'commit' | 'tree'): Promise<boolean> {
  return runHostGit(['--git-dir', gitDir, 'cat-file', '-e', `${sha}^{${type}}`]).then(
    () => true,
    () => false,
  );
}

/** Past this much output (on either stream) git is stopped: no host-owned repository answers with more. */
const maxOutputBytes = 256 * 1024 * 1024;

export async function runHostGitRaw(args: string[], options: HostGitOptions = {}): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const result = await execa('git', [...hardenedGitConfig, ...args], {
    cwd: options.cwd ?? '/',
    // The whole environment: nothing of process.env (which holds shipmate's tokens) is added.
    env: environment(options),
    extendEnv: false,
    // Without input git reads /dev/null, so a command that wants stdin cannot wait on it.
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    encoding: 'buffer',
    stripFinalNewline: false,
    maxBuffer: maxOutputBytes,
    // SIGTERM lets git remove its lock files; SIGKILL follows if it has not exited 5 s later.
    // Both go to git's process group: ssh, remote helpers and aliases hold its pipes otherwise.
    timeout: timeoutMs,
    forceKillAfterDelay: 5000,
    killDescendants: true,
    // NODE_DEBUG=execa would otherwise print every command line and its output to stderr.
    verbose: 'none',
    reject: false,
  });
  if (!result.failed)
    return Buffer.from(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
  const stderr = Buffer.from(result.stderr).toString('utf8').trim();
  // A deadline or the output cap is said first; git's own words follow (firstErrorLine finds them).
  const stopped = result.timedOut
    ? `timed out after ${timeoutMs / 1000} s`
    : result.isMaxBuffer
      ? `printed more than ${maxOutputBytes / 1024 / 1024} MiB`
      : undefined;
  // A spawn failure (ENOENT, EACCES) has a code and the underlying error's own text.
  const exited = result.code
    ? (result.originalMessage ?? result.code)
    : `exited ${result.exitCode ?? result.signal}`;
  const detail = stopped ? [stopped, stderr].filter(Boolean).join('\n') : stderr || exited;
  throw gitFailure(args, detail, result.code ? result.cause : undefined);
}

function gitFailure(args: string[], stderr: string, cause?: unknown): WorkspaceError {
  const detail = scrubUrlCredentials(stderr);
  const shown = args.filter((arg) => !arg.startsWith('-c') && !arg.includes('=')).slice(0, 4);
  return new WorkspaceError('git-failed', `git ${scrubUrlCredentials(shown.join(' '))}: ${detail}`, {
    ...(cause instanceof Error ? { cause: new Error(scrubUrlCredentials(cause.message)) } : {}),
    fields: { args: args.map(scrubUrlCredentials), stderr: detail },
  });
}

/** `https://user:token@host/x` → `https://***@host/x`, wherever it appears in the text. */
export function scrubUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

/** The first meaningful line of git's error output (skipping "Cloning into…" chatter). */
export function firstErrorLine(error: unknown): string {
  const stderr = error instanceof WorkspaceError ? error.fields.stderr : undefined;
  const text = typeof stderr === 'string' ? stderr : error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((line) => line.trim());
  const line =
    lines.find((candidate) => /^(fatal|error):/i.test(candidate)) ?? lines.find(Boolean) ?? 'unknown error';
  return scrubUrlCredentials(line);
}
