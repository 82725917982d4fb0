import type { Config } from '../config.js';
import { checkGitHubAccess } from '../forge/forge-doctor.js';
import type { CheckResult } from './types.js';

/** GITHUB_TOKEN against each repository that has `github:` (can it see the repository, may it push). */
export async function checkForges(
  config: Pick<Readonly<Config>, 'repos' | 'github'>,
  deps: { checkGitHub?: typeof checkGitHubAccess; signal?: AbortSignal } = {},
): Promise<CheckResult[]> {
  const onGitHub = config.repos.filter((repo) => repo.github);
  if (onGitHub.length === 0) return [];
  const token = config.github.token;
  if (!token) {
    return [
      {
        name: 'github',
        status: 'warn',
        detail: `GITHUB_TOKEN is not set: no pull requests on ${onGitHub.map((repo) => repo.github).join(', ')}`,
        fix: 'set GITHUB_TOKEN (a fine-grained token with Contents and Pull requests read & write)',
      },
    ];
  }
  const check = deps.checkGitHub ?? checkGitHubAccess;
  return Promise.all(
    onGitHub.map(async (repo): Promise<CheckResult> => {
      const fullName = repo.github ?? '';
      const access = await check({
        token,
        apiUrl: config.github.apiUrl,
        repo: fullName,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      const name = `github ${fullName}`;
      if (!access.ok) {
        return {
          name,
          status: 'fail',
          detail: `HTTP ${access.status ?? '-'}: ${access.message}`,
          fix: access.fix,
        };
      }
      if (access.canPush === false) {
        return {
          name,
          status: 'warn',
          detail: 'the token can read the repository but not push to it',
          fix: 'give the token Contents: read & write and Pull requests: read & write on this repository',
        };
      }
      return {
        name,
        status: 'ok',
        detail: access.canPush ? 'the token can push and open pull requests' : 'reachable with the token',
      };
    }),
  );
}
