import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
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

export function runHostGitRaw(args: string[], options: HostGitOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...hardenedGitConfig, ...args], {
      cwd: options.cwd ?? '/',
      env: environment(options),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 300_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > 256 * 1024 * 1024) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.once('error', (error) => reject(gitFailure(args, error.message, error)));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const stderr = Buffer.concat(err).toString('utf8').trim();
      reject(gitFailure(args, stderr || `exited ${code ?? signal}`));
    });
  });
}

function gitFailure(args: string[], stderr: string, cause?: Error): WorkspaceError {
  const detail = scrubUrlCredentials(stderr);
  const shown = args.filter((arg) => !arg.startsWith('-c') && !arg.includes('=')).slice(0, 4);
  return new WorkspaceError('git-failed', `git ${scrubUrlCredentials(shown.join(' '))}: ${detail}`, {
    ...(cause ? { cause: new Error(scrubUrlCredentials(cause.message)) } : {}),
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
