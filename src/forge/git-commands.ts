import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { ProviderError } from '../errors.js';

export interface ChangedFile {
  path: string;
  added: number;
  deleted: number;
}

/** Files a commit never includes unless the repo allows it. */
const secretLike = [
  /(^|\/)\.env(\.|$)/,
  /\.pem$/,
  /(^|\/)id_(rsa|dsa|ecdsa|ed25519)/,
  /\.key$/,
  /\.p12$/,
  /(^|\/)\.npmrc$/,
];
const workflowLike = [/^\.github\/workflows\//, /^\.gitlab-ci\.yml$/, /^\.circleci\//];

export function excludedReason(path: string, allowWorkflowChanges: boolean): string | undefined {
  if (secretLike.some((pattern) => pattern.test(path))) return 'looks like a secret';
  if (!allowWorkflowChanges && workflowLike.some((pattern) => pattern.test(path))) return 'CI workflow file';
  return undefined;
}

/**
 * git on the host, in a thread's worktree: argument arrays, no shell, no hooks, a clean
 * environment. Extra config (the push credential) travels in GIT_CONFIG_* variables, so it
 * is never in argv, a config file, or the worktree.
 */
export function git(cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: homedir(),
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', ...args],
      { cwd, env, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const detail = String(stderr)
          .trim()
          .split('\n')
          .slice(-3)
          .join(' ')
          .replace(/\/\/[^/\s@]+@/g, '//***@');
        reject(
          new ProviderError('git-failed', `git ${args[0]} failed: ${detail}`, {
            userMessage: `git ${args[0]} failed: ${detail}`,
          }),
        );
      },
    );
  });
}

/** Stages everything (index rebuilt on the host), unstages excluded files, and reports the diff. */
export async function stageChanges(
  root: string,
  allowWorkflowChanges: boolean,
): Promise<{ files: ChangedFile[]; excluded: Array<{ path: string; reason: string }>; patch: string }> {
  await git(root, ['read-tree', 'HEAD']);
  await git(root, ['add', '-A']);
  const staged = (await git(root, ['diff', '--cached', '--name-only', '-z'])).split('\0').filter(Boolean);
  const excluded = staged
    .map((path) => ({ path, reason: excludedReason(path, allowWorkflowChanges) }))
    .filter((entry): entry is { path: string; reason: string } => entry.reason !== undefined);
  if (excluded.length > 0) await git(root, ['reset', '-q', '--', ...excluded.map((entry) => entry.path)]);
  const numstat = await git(root, ['diff', '--cached', '--numstat']);
  const files = numstat
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [added, deleted, ...path] = line.split('\t');
      return { path: path.join('\t'), added: Number(added) || 0, deleted: Number(deleted) || 0 };
    });
  const patch = files.length > 0 ? await git(root, ['diff', '--cached']) : '';
  return { files, excluded, patch };
}

export async function commitStaged(
  root: string,
  message: string,
  author: { name: string; email: string },
): Promise<string> {
  await git(root, [
    '-c',
    `user.name=${author.name}`,
    '-c',
    `user.email=${author.email}`,
    'commit',
    '-q',
    '--no-verify',
    '-m',
    message,
  ]);
  return (await git(root, ['rev-parse', 'HEAD'])).trim();
}

/**
 * Pushes the worktree's HEAD to `branch` on the remote. Refuses anything outside the bot's
 * prefix and the default branch before git runs. An https remote gets the token as an
 * Authorization header through GIT_CONFIG_* env, never in a file or argv.
 */
export async function pushBranch(options: {
  root: string;
  url: string;
  branch: string;
  prefix: string;
  defaultBranch: string;
  token: string | undefined;
}): Promise<void> {
  const { branch } = options;
  if (!branch.startsWith(options.prefix) || branch === options.defaultBranch || branch.includes('..')) {
    throw new ProviderError('push-refused', `refusing to push ${branch}`, {
      userMessage: `I only push branches under \`${options.prefix}\`, never \`${options.defaultBranch}\`.`,
    });
  }
  const env: Record<string, string> = {};
  if (options.token && /^https:\/\//.test(options.url)) {
    const basic = Buffer.from(`x-access-token:${options.token}`).toString('base64');
    Object.assign(env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
  }
  await git(options.root, ['push', options.url, `HEAD:refs/heads/${branch}`], env);
}
