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
          .filter((line) => !line.startsWith('hint:'))
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

/** The branch the worktree is on; the sandbox can move HEAD, so commits check it first. */
export async function currentBranch(root: string): Promise<string | undefined> {
  const ref = await git(root, ['symbolic-ref', '-q', 'HEAD']).catch(() => '');
  return ref.trim().replace(/^refs\/heads\//, '') || undefined;
}

const safeBranch = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]+(?<![./])$/;

/** Why a branch may not be pushed, or undefined when it may (under the prefix, not the default). */
export function pushRefusal(branch: string, prefix: string, defaultBranch: string): string | undefined {
  if (branch === defaultBranch) return `\`${branch}\` is the default branch`;
  if (!branch.startsWith(prefix) || branch.length <= prefix.length)
    return `\`${branch}\` is not under \`${prefix}\``;
  if (!safeBranch.test(branch) || branch.endsWith('.lock')) return `\`${branch}\` is not a plain branch name`;
  return undefined;
}

/**
 * Pushes the local branch to the same branch on the remote (explicit refspec, never a
 * default branch, never outside the bot's prefix: refused before git runs). The token
 * travels as an Authorization header in GIT_CONFIG_* env: never in argv, a config file,
 * the worktree or the sandbox. Only https remotes get it (and http on loopback, for tests).
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
  const refusal = pushRefusal(branch, options.prefix, options.defaultBranch);
  if (refusal) {
    throw new ProviderError('push-refused', `refusing to push: ${refusal}`, {
      userMessage: `I did not push: ${refusal}. I only push branches under \`${options.prefix}\`, never \`${options.defaultBranch}\`.`,
      fields: { branch },
    });
  }
  const env = options.token && carriesToken(options.url) ? authorizationEnv(options.token) : {};
  const refspec = `refs/heads/${branch}:refs/heads/${branch}`;
  await git(options.root, ['push', options.url, refspec], env).catch((error: unknown) => {
    throw explainPushFailure(error, branch);
  });
}

/** A refused credential or a moved branch as a sentence; anything else keeps git's own words. */
function explainPushFailure(error: unknown, branch: string): unknown {
  const text = error instanceof Error ? error.message : String(error);
  const refused =
    /could not read Username|Authentication failed|returned error: 40[13]|permission to .* denied/i;
  const moved = /\[rejected\]|non-fast-forward|fetch first/i;
  const sentence = refused.test(text)
    ? `The remote refused my push credentials for \`${branch}\`; check that GITHUB_TOKEN may push to this repository.`
    : moved.test(text)
      ? `\`${branch}\` moved on the remote since I last pushed, so I did not overwrite it. Fetch it, or ask me to start over.`
      : undefined;
  if (!sentence) return error;
  return new ProviderError('push-failed', text, { cause: error, userMessage: sentence, fields: { branch } });
}

function carriesToken(url: string): boolean {
  return /^https:\/\//i.test(url) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/i.test(url);
}

export function authorizationEnv(token: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}
