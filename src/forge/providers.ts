import { Octokit } from '@octokit/rest';
import { ProviderError } from '../errors.js';

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
}

export const pullRequestTerms: ForgeTerms = { request: 'pull request', short: 'PR' };
export const mergeRequestTerms: ForgeTerms = { request: 'merge request', short: 'MR' };

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

  constructor(fullName: string, options: { token: string | undefined; apiUrl: string | undefined }) {
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

  async reviewComments(_number: number): Promise<ReviewComment[]> {
    return []; // TODO(forges): pulls.listReviewComments + issues.listComments
  }

  async checkAccess(_signal?: AbortSignal): Promise<ForgeAccess> {
    return { ok: true, canPush: undefined }; // TODO(forges): through checkGitHubAccess
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
      const reason = [detail?.message, ...(detail?.errors ?? []).map((item) => item.message)]
        .filter(Boolean)
        .join(': ');
      const sentence =
        status === 401
          ? 'GitHub rejected the token (401); check GITHUB_TOKEN'
          : status === 403
            ? `GitHub refused the request (403${reason ? `: ${reason}` : ''}); the token may lack permission or be rate limited`
            : status === 404
              ? `GitHub does not know ${this.owner}/${this.repo} (404), or the token cannot see it`
              : status === 422
                ? `GitHub did not accept it (422${reason ? `: ${reason}` : ''})`
                : status
                  ? `GitHub answered HTTP ${status}`
                  : 'GitHub could not be reached';
      throw new ProviderError('github-failed', `github request failed: ${status ?? 'network'} ${reason}`, {
        cause: error,
        userMessage: `${sentence}.`,
        fields: { status },
      });
    }
  }
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
