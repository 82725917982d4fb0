import { ProviderError } from '../errors.js';
import { firstErrorLine, runHostGit, scrubUrlCredentials } from '../workspace/host-git.js';
import type { ImportPolicy } from '../workspace/types.js';

export type { ChangedFile } from '../workspace/types.js';

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

/** What a change may contain (paths left out, the per-file size cap), checked on the host. */
export function importPolicy(repo: { allowWorkflowChanges: boolean }, maxFileBytes: number): ImportPolicy {
  return { exclude: (path) => excludedReason(path, repo.allowWorkflowChanges), maxFileBytes };
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
  /** The thread's host-owned bare repository (never the checkout the sandbox writes). */
  hostRepo: string;
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
  await runHostGit(['--git-dir', options.hostRepo, 'push', '--quiet', '--', options.url, refspec], {
    env,
    profile: 'network',
    timeoutMs: 300_000,
  }).catch((error: unknown) => {
    throw explainPushFailure(error, branch);
  });
}

/** A refused credential or a moved branch as a sentence; anything else keeps git's own words. */
function explainPushFailure(error: unknown, branch: string): unknown {
  const text = scrubUrlCredentials(error instanceof Error ? error.message : String(error));
  const refused =
    /could not read Username|Authentication failed|returned error: 40[13]|permission to .* denied/i;
  const moved = /\[rejected\]|non-fast-forward|fetch first/i;
  const sentence = refused.test(text)
    ? `The remote refused my push credentials for \`${branch}\`; check that GITHUB_TOKEN may push to this repository.`
    : moved.test(text)
      ? `\`${branch}\` moved on the remote since I last pushed, so I did not overwrite it. Fetch it, or ask me to start over.`
      : undefined;
  if (!sentence) {
    const detail = firstErrorLine(error);
    return new ProviderError('push-failed', text, {
      cause: error,
      userMessage: `git push failed: ${detail}`,
      fields: { branch },
    });
  }
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
