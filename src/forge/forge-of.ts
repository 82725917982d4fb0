import type { FileLink } from '../agent/ports.js';
import type { Config, RepoConfig } from '../config.js';
import type { ForgeKind } from './providers.js';

/** Which forge a repo names, and the repository's path there (`group/subgroup/name` on GitLab). */
export interface ForgeRef {
  kind: ForgeKind;
  path: string;
}

const kinds: readonly ForgeKind[] = ['github', 'gitlab', 'gitea', 'bitbucket'];

/** The forge a repo names (`github:`, `gitlab:`, `gitea:`, `bitbucket:`; the config allows one), or none. */
export function forgeOf(repo: Partial<Pick<RepoConfig, ForgeKind>>): ForgeRef | undefined {
  for (const kind of kinds) {
    const path = repo[kind];
    if (path) return { kind, path };
  }
  return undefined;
}

/** How the thread names each forge. */
export const forgeNames: Record<ForgeKind, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea',
  bitbucket: 'Bitbucket',
};

/** The variable that holds each forge's token, for sentences that tell a team what to fix. */
export const tokenVariables: Record<ForgeKind, string> = {
  github: 'GITHUB_TOKEN',
  gitlab: 'GITLAB_TOKEN',
  gitea: 'GITEA_TOKEN',
  bitbucket: 'BITBUCKET_TOKEN',
};

export const apiUrlVariables: Record<ForgeKind, string> = {
  github: 'GITHUB_API_URL',
  gitlab: 'GITLAB_API_URL',
  gitea: 'GITEA_API_URL',
  bitbucket: 'BITBUCKET_API_URL',
};

/** The public service of each forge, where no API URL is configured. */
const publicWeb: Record<ForgeKind, { web: string; api: RegExp }> = {
  github: { web: 'https://github.com', api: /^https:\/\/api\.github\.com(\/|$)/ },
  gitlab: { web: 'https://gitlab.com', api: /^https:\/\/gitlab\.com(\/|$)/ },
  gitea: { web: 'https://gitea.com', api: /^https:\/\/gitea\.com(\/|$)/ },
  bitbucket: { web: 'https://bitbucket.org', api: /^https:\/\/api\.bitbucket\.org(\/|$)/ },
};

/** Where each forge's API lives under a self-managed instance's web address. */
const apiSuffix: Record<ForgeKind, RegExp> = {
  github: /\/api\/v3\/?$/,
  gitlab: /\/api\/v4\/?$/,
  gitea: /\/api\/v1\/?$/,
  bitbucket: /\/(2\.0|rest\/api\/(1\.0|latest))\/?$/,
};

/**
 * The web address people browse, from the API base: the public host when none is set (or it
 * is the public API), else the API URL without its API path (GitHub Enterprise `/api/v3`,
 * GitLab `/api/v4`, Gitea and Forgejo `/api/v1`, Bitbucket `/2.0`).
 */
export function webBaseUrl(kind: ForgeKind, apiUrl: string | undefined): string {
  const known = publicWeb[kind];
  if (!apiUrl || known.api.test(apiUrl)) return known.web;
  return apiUrl.replace(apiSuffix[kind], '').replace(/\/+$/, '');
}

/**
 * The file link of a repo's forge, or undefined when it names none (plain git). Each forge's
 * own form: GitHub `/blob/<sha>/path#L1-L2`, GitLab `/-/blob/<sha>/path#L1-2`, Gitea
 * `/src/commit/<sha>/path#L1-L2`, Bitbucket `/src/<sha>/path#lines-1:2`.
 */
export function fileLinkFor(
  config: Pick<Config, ForgeKind>,
  repo: Partial<Pick<RepoConfig, ForgeKind>>,
): FileLink | undefined {
  const forge = forgeOf(repo);
  if (!forge) return undefined;
  const base = `${webBaseUrl(forge.kind, config[forge.kind].apiUrl)}/${forge.path}`;
  const file = (path: string) => path.split('/').map(encodeURIComponent).join('/');
  switch (forge.kind) {
    case 'github':
      return (commit, path, start, end) =>
        `${base}/blob/${commit}/${file(path)}#L${start}${end ? `-L${end}` : ''}`;
    case 'gitlab':
      return (commit, path, start, end) =>
        `${base}/-/blob/${commit}/${file(path)}#L${start}${end ? `-${end}` : ''}`;
    case 'gitea':
      return (commit, path, start, end) =>
        `${base}/src/commit/${commit}/${file(path)}#L${start}${end ? `-L${end}` : ''}`;
    case 'bitbucket':
      return (commit, path, start, end) =>
        `${base}/src/${commit}/${file(path)}#lines-${start}${end ? `:${end}` : ''}`;
  }
}
