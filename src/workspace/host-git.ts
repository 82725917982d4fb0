import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { WorkspaceError } from '../errors.js';

/** PATH for host-side git and for sandboxed commands when the caller names none. */
export const standardPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface HostGitOptions {
  cwd?: string;
  timeoutMs?: number;
  path?: string;
}

/**
 * Runs git on the host with an environment that carries no host secrets: PATH, HOME and
 * LANG only, prompts off. Arguments are an array; nothing goes through a shell.
 */
export function runHostGit(args: string[], options: HostGitOptions = {}): Promise<string> {
  const env = {
    PATH: options.path ?? standardPath,
    HOME: homedir(),
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
  };
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd: options.cwd, env, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const detail = scrubUrlCredentials(String(stderr).trim() || error.message);
        reject(
          new WorkspaceError('git-failed', `git ${scrubUrlCredentials(args.join(' '))}: ${detail}`, {
            cause: scrubbedCause(error),
            fields: { args: args.map(scrubUrlCredentials), stderr: detail },
          }),
        );
      },
    );
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

function scrubbedCause(error: Error): Error {
  const copy = new Error(scrubUrlCredentials(error.message));
  copy.name = error.name;
  return copy;
}
