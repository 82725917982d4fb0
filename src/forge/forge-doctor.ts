import { Octokit } from '@octokit/rest';

/** What GitHub said about one repository and the configured token. */
export type GitHubAccess =
  | { ok: true; repo: string; canPush: boolean | undefined; private: boolean | undefined }
  | { ok: false; repo: string; status: number | undefined; message: string; fix: string };

/**
 * `GET /repos/{owner}/{repo}` with GITHUB_TOKEN: can the token see the repository, and may it
 * push (`permissions.push`, https://docs.github.com/en/rest/repos/repos#get-a-repository)?
 * `GET /user` is not used: a GitHub App's installation token may not call it. Never throws;
 * the token never appears in what it returns.
 */
export async function checkGitHubAccess(input: {
  token: string;
  apiUrl: string | undefined;
  repo: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<GitHubAccess> {
  const [owner = '', name = ''] = input.repo.split('/');
  const octokit = new Octokit({
    auth: input.token,
    ...(input.apiUrl ? { baseUrl: input.apiUrl.replace(/\/$/, '') } : {}),
    userAgent: 'shipmate',
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const timeout = AbortSignal.timeout(input.timeoutMs ?? 15_000);
  const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
  const scrub = (text: string) => text.replaceAll(input.token, '***');
  try {
    const { data } = await octokit.repos.get({ owner, repo: name, request: { signal } });
    return {
      ok: true,
      repo: input.repo,
      canPush: data.permissions?.push,
      private: data.private,
    };
  } catch (error) {
    const status = (error as { status?: number }).status;
    const said = (error as { response?: { data?: { message?: unknown } } }).response?.data?.message;
    const message = scrub(
      typeof said === 'string' ? said : error instanceof Error ? error.message : 'no answer',
    );
    return { ok: false, repo: input.repo, status, message, fix: fixFor(status, input.repo) };
  }
}

function fixFor(status: number | undefined, repo: string): string {
  if (status === 401) return 'GitHub rejected the token: check GITHUB_TOKEN';
  if (status === 403)
    return 'the token lacks permission (or is rate limited): give it Contents and Pull requests read & write';
  if (status === 404)
    return `the token cannot see ${repo}: check \`github:\` in the config and the token's repository access`;
  if (status) return `GitHub answered HTTP ${status}: try again later`;
  return 'GitHub could not be reached: check the network (and GITHUB_API_URL for GitHub Enterprise)';
}
