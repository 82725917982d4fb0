import { ProviderError } from '../errors.js';
import { inertCode } from '../jobs/inert-text.js';
import { firstErrorLine, runHostGit, scrubUrlCredentials } from '../workspace/host-git.js';
import type { ImportPolicy } from '../workspace/types.js';
import { forgeNames, tokenVariables } from './forge-of.js';
import type { ForgeKind } from './providers.js';

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
  /** Whose credential form the token takes (default GitHub's). */
  forge?: ForgeKind | undefined;
}): Promise<void> {
  const { branch } = options;
  const refusal = pushRefusal(branch, options.prefix, options.defaultBranch);
  if (refusal) {
    throw new ProviderError('push-refused', `refusing to push: ${refusal}`, {
      userMessage: `I did not push: ${refusal}. I only push branches under \`${options.prefix}\`, never \`${options.defaultBranch}\`.`,
      fields: { branch },
    });
  }
  const forge = options.forge ?? (options.token ? 'github' : undefined);
  const env =
    options.token && carriesToken(options.url) ? authorizationEnv(options.token, forge ?? 'github') : {};
  const refspec = `refs/heads/${branch}:refs/heads/${branch}`;
  await runHostGit(['--git-dir', options.hostRepo, 'push', '--quiet', '--', options.url, refspec], {
    env,
    profile: 'network',
    timeoutMs: 300_000,
  }).catch((error: unknown) => {
    throw explainPushFailure(error, branch, forge);
  });
}

/**
 * What the remote said, as one sentence a team can act on (naming the forge and its token
 * variable); anything else keeps git's own first line. The token is never in it.
 */
function explainPushFailure(error: unknown, branch: string, forge: ForgeKind | undefined): unknown {
  const text = scrubUrlCredentials(error instanceof Error ? error.message : String(error));
  const sentence = pushSentence(text, branch, forge);
  // git's words may carry what the remote said (an ERR line): shown inert, never as Markdown.
  const userMessage =
    sentence ?? `git push failed: ${inertCode(firstErrorLine(error), 300) || '(no message)'}`;
  return new ProviderError('push-failed', text, { cause: error, userMessage, fields: { branch } });
}

/** The push failures a team can fix, by what each forge's git server prints. */
export function pushSentence(text: string, branch: string, forge: ForgeKind | undefined): string | undefined {
  const name = forge ? forgeNames[forge] : 'The remote';
  const variable = forge ? tokenVariables[forge] : 'the remote’s credentials';
  // GitLab: "You are not allowed to push code to protected branches"; GitHub: "protected branch
  // hook declined"; Gitea: "Not allowed to push to protected branch"; Bitbucket: "branch … is protected".
  if (/protected branch|branch .* is protected|push code to protected/i.test(text))
    return `${name} refused the push to \`${branch}\` because the branch is protected: allow pushes to branches under that prefix in the repository's branch protection, or change \`git.branchPrefix\`.`;
  if (/returned error: 429|rate limit|too many requests/i.test(text))
    return `${name} is rate limiting git pushes right now, so \`${branch}\` was not pushed: try again in a few minutes.`;
  if (
    /could not read Username|Authentication failed|returned error: 401|HTTP Basic: Access denied/i.test(text)
  )
    return `${name} refused my push credentials for \`${branch}\`; check that ${variable} may push to this repository.`;
  if (/returned error: 403|permission to .* denied|not allowed to (push|upload)|write access/i.test(text))
    return `${name} accepted ${variable} but it may not push to this repository (shipmate does not work from forks), so \`${branch}\` was not pushed: give the token write access to the repository.`;
  if (/repository .*not found|returned error: 404|does not appear to be a git repository/i.test(text))
    return `${name} has no repository at the configured \`url\` that ${variable} can see, so \`${branch}\` was not pushed: check the repo's \`url\` in the config and the token's repository access.`;
  if (/\[rejected\]|non-fast-forward|fetch first/i.test(text))
    return `\`${branch}\` moved on the remote since I last pushed, so I did not overwrite it. Fetch it, or ask me to start over.`;
  return undefined;
}

function carriesToken(url: string): boolean {
  return /^https:\/\//i.test(url) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/i.test(url);
}

/**
 * The basic-auth user each forge takes beside a token on git over HTTPS:
 * - GitHub: `x-access-token` (installation and personal tokens;
 *   https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation#about-authentication-as-a-github-app-installation).
 * - GitLab: `oauth2` (https://docs.gitlab.com/ee/api/oauth2.html#access-git-over-https-with-access-token;
 *   personal, project and group access tokens accept any user name, OAuth tokens only `oauth2`).
 * - Gitea / Forgejo: the token is the password and the user name is not checked
 *   (https://docs.gitea.com/development/api-usage#authentication; go-gitea/gitea services/auth/basic.go).
 * - Bitbucket Cloud: `x-token-auth` for repository, project and workspace access tokens
 *   (https://support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/).
 */
export const gitUsernames: Record<ForgeKind, string> = {
  github: 'x-access-token',
  gitlab: 'oauth2',
  gitea: 'shipmate',
  bitbucket: 'x-token-auth',
};

/** The push credential as an Authorization header in GIT_CONFIG_* env: never in argv or a file. */
export function authorizationEnv(token: string, forge: ForgeKind = 'github'): Record<string, string> {
  const basic = Buffer.from(`${gitUsernames[forge]}:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    // The header goes with every request git makes; a remote that redirects (a hostile forge,
    // a man in the middle) would get it sent to the host it names. Never follow one
    // (https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpfollowRedirects).
    GIT_CONFIG_KEY_1: 'http.followRedirects',
    GIT_CONFIG_VALUE_1: 'false',
  };
}
