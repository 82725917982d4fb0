import { Octokit } from '@octokit/rest';
import { ProviderError } from '../errors.js';
import { checkGitHubAccess } from './forge-doctor.js';
import { clip, forgeText, redactSecrets } from './forge-text.js';

export type PullRequestState = 'open' | 'draft' | 'merged' | 'closed';

export interface OpenedPullRequest {
  number: number;
  url: string;
}

/** The forges a repo can name in the config (`github:`, `gitlab:`, `gitea:`, `bitbucket:`). */
export type ForgeKind = 'github' | 'gitlab' | 'gitea' | 'bitbucket';

/** How the forge calls what shipmate opens, for the thread: "merge request" on GitLab. */
export interface ForgeTerms {
  /** "pull request" or "merge request". */
  request: string;
  /** "PR" or "MR". */
  short: string;
  /** How a number is written: "#" (pull requests) or "!" (GitLab merge requests); default "#". */
  sigil?: string;
}

/** The error code for a forge's answer: refused (a maintainer must act) or failed (try again). */
export function forgeErrorCode(status: number | undefined): 'forge-refused' | 'forge-failed' {
  return status !== undefined && [401, 403, 404, 409, 422].includes(status)
    ? 'forge-refused'
    : 'forge-failed';
}

export const pullRequestTerms: ForgeTerms = { request: 'pull request', short: 'PR', sigil: '#' };
export const mergeRequestTerms: ForgeTerms = { request: 'merge request', short: 'MR', sigil: '!' };

/** "pull request #3", "merge request !3". */
export function requestReference(terms: ForgeTerms, number: number, short = false): string {
  return `${short ? terms.short : terms.request} ${terms.sigil ?? '#'}${number}`;
}

/**
 * One open review comment on a request, as the forge returned it. Untrusted text: it goes to
 * the model as information, never as instructions, and never to the host's git.
 */
export interface ReviewComment {
  author: string;
  body: string;
  /** File and line the comment is anchored to, when it is an inline comment. */
  path?: string;
  line?: number;
  url?: string;
}

/** What the forge said about the repository and the configured token (doctor and start-up). */
export type ForgeAccess =
  | { ok: true; canPush: boolean | undefined }
  | { ok: false; status: number | undefined; message: string; fix: string };

/**
 * Where pull (merge) requests are opened: one class per forge, each the only code that knows
 * its forge's wire format. Plain git reports the pushed branch. Every failure is a
 * ProviderError whose userMessage names the forge and what to fix; no token in it.
 */
export interface PullRequestProvider {
  /** "GitHub", "GitLab", "Gitea", "Bitbucket" or "git". */
  readonly name: string;
  readonly terms: ForgeTerms;
  findOpen(head: string): Promise<OpenedPullRequest | undefined>;
  open(input: {
    title: string;
    body: string;
    head: string;
    base: string;
    draft: boolean;
  }): Promise<OpenedPullRequest | undefined>;
  update(number: number, input: { title: string; body: string }): Promise<void>;
  addLabels(number: number, labels: string[]): Promise<void>;
  state(number: number): Promise<PullRequestState>;
  /** Open (unresolved) review comments of the request, oldest first; general and inline. */
  reviewComments(number: number): Promise<ReviewComment[]>;
  /** Token valid, repository reachable, may push; never throws. */
  checkAccess(signal?: AbortSignal): Promise<ForgeAccess>;
}

export class GitHubProvider implements PullRequestProvider {
  readonly name = 'GitHub';
  readonly terms = pullRequestTerms;
  private readonly octokit: Octokit;
  private readonly owner: string;
  private readonly repo: string;

  constructor(
    private readonly fullName: string,
    private readonly options: { token: string | undefined; apiUrl: string | undefined },
  ) {
    [this.owner, this.repo] = fullName.split('/') as [string, string];
    this.octokit = new Octokit({
      auth: options.token,
      ...(options.apiUrl ? { baseUrl: options.apiUrl.replace(/\/$/, '') } : {}),
      userAgent: 'shipmate',
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
  }

  async findOpen(head: string): Promise<OpenedPullRequest | undefined> {
    const { data } = await this.call(() =>
      this.octokit.pulls.list({
        owner: this.owner,
        repo: this.repo,
        state: 'open',
        head: `${this.owner}:${head}`,
      }),
    );
    const pull = data[0];
    return pull ? { number: pull.number, url: pull.html_url } : undefined;
  }

  async open(input: { title: string; body: string; head: string; base: string; draft: boolean }) {
    const { data } = await this.call(() =>
      this.octokit.pulls.create({ owner: this.owner, repo: this.repo, ...input }),
    );
    return { number: data.number, url: data.html_url };
  }

  async update(number: number, input: { title: string; body: string }): Promise<void> {
    await this.call(() =>
      this.octokit.pulls.update({ owner: this.owner, repo: this.repo, pull_number: number, ...input }),
    );
  }

  async addLabels(number: number, labels: string[]): Promise<void> {
    if (labels.length === 0) return;
    await this.call(() =>
      this.octokit.issues.addLabels({ owner: this.owner, repo: this.repo, issue_number: number, labels }),
    );
  }

  async state(number: number): Promise<PullRequestState> {
    const { data } = await this.call(() =>
      this.octokit.pulls.get({ owner: this.owner, repo: this.repo, pull_number: number }),
    );
    if (data.merged) return 'merged';
    if (data.state === 'closed') return 'closed';
    return data.draft ? 'draft' : 'open';
  }

  /**
   * Inline review comments (`GET /repos/{owner}/{repo}/pulls/{n}/comments`,
   * https://docs.github.com/en/rest/pulls/comments#list-review-comments-on-a-pull-request) and
   * conversation comments (`GET /repos/{owner}/{repo}/issues/{n}/comments`,
   * https://docs.github.com/en/rest/issues/comments#list-issue-comments), oldest first, without
   * the PR author's own (shipmate opened it). REST has no "resolved" flag (only GraphQL's
   * review threads do), so an inline comment whose line is gone from the diff (`line` and
   * `position` null: outdated, https://docs.github.com/en/rest/pulls/comments) counts as handled.
   */
  async reviewComments(number: number): Promise<ReviewComment[]> {
    const where = { owner: this.owner, repo: this.repo };
    const { data: pull } = await this.call(() => this.octokit.pulls.get({ ...where, pull_number: number }));
    const self = pull.user?.login;
    const [inline, conversation] = await Promise.all([
      this.call(() =>
        this.octokit.paginate(this.octokit.pulls.listReviewComments, {
          ...where,
          pull_number: number,
          per_page: 100,
        }),
      ),
      this.call(() =>
        this.octokit.paginate(this.octokit.issues.listComments, {
          ...where,
          issue_number: number,
          per_page: 100,
        }),
      ),
    ]);
    const comments = [
      ...inline
        .filter((comment) => comment.line != null || comment.position != null)
        .map((comment) => ({
          at: comment.created_at,
          author: comment.user?.login ?? 'someone',
          body: comment.body,
          path: comment.path,
          line: comment.line ?? comment.original_line ?? undefined,
          url: comment.html_url,
        })),
      ...conversation.map((comment) => ({
        at: comment.created_at,
        author: comment.user?.login ?? 'someone',
        body: comment.body ?? '',
        path: undefined,
        line: undefined,
        url: comment.html_url,
      })),
    ];
    return comments
      .filter((comment) => comment.author !== self && comment.body.trim() !== '')
      .sort((a, b) => a.at.localeCompare(b.at))
      .map(({ at: _at, path, line, url, ...rest }) => ({
        ...rest,
        ...(path ? { path } : {}),
        ...(line ? { line } : {}),
        ...(url ? { url } : {}),
      }));
  }

  /** `GET /repos/{owner}/{repo}` with the token (forge-doctor.ts): reachable, and may it push. */
  async checkAccess(signal?: AbortSignal): Promise<ForgeAccess> {
    const token = this.options.token;
    if (!token) {
      return {
        ok: false,
        status: undefined,
        message: 'GITHUB_TOKEN is not set',
        fix: 'set GITHUB_TOKEN (a fine-grained token with Contents and Pull requests read & write)',
      };
    }
    const access = await checkGitHubAccess({
      token,
      apiUrl: this.options.apiUrl,
      repo: this.fullName,
      ...(signal ? { signal } : {}),
    });
    return access.ok
      ? { ok: true, canPush: access.canPush }
      : { ok: false, status: access.status, message: access.message, fix: access.fix };
  }

  /** Octokit errors become one plain sentence; the token never appears in it. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const status = (error as { status?: number }).status;
      const detail = (
        error as { response?: { data?: { message?: string; errors?: Array<{ message?: string }> } } }
      ).response?.data;
      // Hidden first, cut after: a token straddling the cut would otherwise survive in part.
      const reason = redactSecrets(
        [detail?.message, ...(detail?.errors ?? []).map((item) => item.message)]
          .filter((part) => typeof part === 'string' && part.length > 0)
          .join(': '),
        [this.options.token],
      );
      const headers = (error as { response?: { headers?: Record<string, string | undefined> } }).response
        ?.headers;
      const sentence = gitHubSentence(this.fullName, status, reason, headers);
      throw new ProviderError(
        forgeErrorCode(status),
        `github request failed: ${status ?? 'network'} ${clip(reason, 300)}`,
        {
          cause: error,
          userMessage: `${sentence}.`,
          fields: { status },
        },
      );
    }
  }
}

/**
 * What GitHub's status means for the team (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api):
 * 401 a bad token; 403 or 429 with `x-ratelimit-remaining: 0` the rate limit
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit),
 * else a token without the permission; 404 a repository the token cannot see; 422 a refusal.
 */
function gitHubSentence(
  repo: string,
  status: number | undefined,
  reason: string,
  headers: Record<string, string | undefined> | undefined,
): string {
  // What GitHub wrote goes into the thread inert: no link, mention or emphasis renders.
  const shown = forgeText(reason, [], 300);
  const said = shown ? `: ${shown}` : '';
  const limited = headers?.['x-ratelimit-remaining'] === '0' || /rate limit/i.test(reason);
  if (status === 401) return 'GitHub rejected the token (401); check GITHUB_TOKEN';
  if ((status === 403 || status === 429) && limited) {
    const reset = Number(headers?.['x-ratelimit-reset']);
    const when =
      Number.isFinite(reset) && reset > 0
        ? ` after ${new Date(reset * 1000).toISOString().slice(11, 16)} UTC`
        : ' later';
    return `GitHub refused the request (${status}${said}); its API rate limit is used up: try again${when}`;
  }
  if (status === 403)
    return `GitHub refused the request (403${said}); GITHUB_TOKEN lacks permission on ${repo}: give it Contents and Pull requests read & write`;
  if (status === 404)
    return `GitHub does not know ${repo} (404), or GITHUB_TOKEN cannot see it: check \`github:\` in the config and the token's repository access`;
  if (status === 422) return `GitHub did not accept it (422${said})`;
  return status ? `GitHub answered HTTP ${status}` : 'GitHub could not be reached';
}

/** No code host API: the branch is pushed and people open the PR in their host's UI. */
export class PlainGitProvider implements PullRequestProvider {
  readonly name = 'git';
  readonly terms = pullRequestTerms;
  async findOpen(): Promise<undefined> {
    return undefined;
  }
  async open(): Promise<undefined> {
    return undefined;
  }
  async update(): Promise<void> {}
  async addLabels(): Promise<void> {}
  async state(): Promise<PullRequestState> {
    return 'open';
  }
  async reviewComments(): Promise<ReviewComment[]> {
    return [];
  }
  async checkAccess(): Promise<ForgeAccess> {
    return { ok: true, canPush: undefined };
  }
}
