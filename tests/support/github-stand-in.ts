import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A GitHub REST stand-in for Octokit: repositories, pull requests, labels and
 * comments, with GitHub's response shapes (the fields a bot reads) and test
 * controls for PR state and injected failures.
 */

export interface GitHubStandInOptions {
  /** When set, requests must carry `authorization: token <token>` or `Bearer <token>`. */
  token?: string;
  port?: number;
  /** Base of `html_url`s; default `https://github.example`. */
  htmlBaseUrl?: string;
  /** The login that authored PRs and comments (the bot). */
  login?: string;
  now?: () => Date;
}

export interface RepoOptions {
  defaultBranch?: string;
  private?: boolean;
}

export type PullState = 'open' | 'closed' | 'merged';

export interface StoredPull {
  repo: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  draft: boolean;
  merged: boolean;
  merged_at: string | null;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
  head: { ref: string; sha: string; label: string };
  base: { ref: string };
  labels: string[];
}

export interface StoredComment {
  repo: string;
  issueNumber: number;
  id: number;
  body: string;
  /** Who wrote it; the bot's login when shipmate posted it. */
  author?: string;
  createdAt?: string;
}

/** An inline review comment on a PR's diff (what a reviewer left on a line). */
export interface StoredReviewComment {
  repo: string;
  pullNumber: number;
  id: number;
  author: string;
  body: string;
  path: string;
  /** The line in the file; null once the comment is outdated (its line left the diff). */
  line: number | null;
  originalLine: number;
  inReplyTo?: number;
  createdAt: string;
}

export interface RecordedGitHubRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingHttpHeaders;
}

interface StoredRepo {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
}

interface InjectedError {
  method: string;
  pattern: RegExp;
  status: number;
  remaining: number;
}

type RouteResult = [status: number, body: unknown, headers?: Record<string, string>];
type Json = Record<string, unknown>;

export class GitHubStandIn {
  readonly pulls: StoredPull[] = [];
  readonly comments: StoredComment[] = [];
  readonly reviewComments: StoredReviewComment[] = [];
  readonly requests: RecordedGitHubRequest[] = [];
  private readonly repos = new Map<string, StoredRepo>();
  private readonly errors: InjectedError[] = [];
  private readonly issueCounters = new Map<string, number>();
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly options: GitHubStandInOptions = {}) {}

  get apiUrl(): string {
    if (!this.server) throw new Error('GitHubStandIn is not started; call start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  get token(): string {
    return this.options.token ?? 'test-github-token';
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        sendJson(response, 500, { message: `stand-in failure: ${String(error)}` });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  addRepo(fullName: string, options: RepoOptions = {}): this {
    const [owner, name] = fullName.split('/');
    if (!owner || !name) throw new Error(`repository must be "owner/name", got "${fullName}"`);
    this.repos.set(fullName.toLowerCase(), {
      id: this.repos.size + 1,
      owner,
      name,
      defaultBranch: options.defaultBranch ?? 'main',
      private: options.private ?? true,
    });
    return this;
  }

  /** Finds a PR by number; `repo` is needed only when several repositories have that number. */
  pull(number: number, repo?: string): StoredPull {
    const matches = this.pulls.filter(
      (pull) => pull.number === number && (!repo || pull.repo.toLowerCase() === repo.toLowerCase()),
    );
    if (matches.length !== 1)
      throw new Error(`expected one pull request #${number}, found ${matches.length}`);
    return matches[0]!;
  }

  setPullState(number: number, state: PullState, repo?: string): void {
    const pull = this.pull(number, repo);
    const at = this.timestamp();
    pull.state = state === 'open' ? 'open' : 'closed';
    pull.merged = state === 'merged';
    pull.merged_at = state === 'merged' ? at : null;
    pull.closed_at = state === 'open' ? null : at;
    pull.updated_at = at;
  }

  /**
   * The next `times` requests matching `method` and `pathPattern` fail with `status`.
   * A string pattern is matched whole; `*` or `{name}` stand for one path segment.
   */
  injectError(method: string, pathPattern: string | RegExp, status: number, times = 1): this {
    const pattern = typeof pathPattern === 'string' ? patternToRegExp(pathPattern) : pathPattern;
    this.errors.push({ method: method.toUpperCase(), pattern, status, remaining: times });
    return this;
  }

  /**
   * A reviewer's inline comment on `path:line` of PR `number` (as if left in the "Files changed"
   * tab); `outdated` leaves `line` and `position` null, as GitHub does once the line left the diff.
   */
  addReviewComment(
    number: number,
    comment: {
      author: string;
      body: string;
      path: string;
      line: number;
      outdated?: boolean;
      inReplyTo?: number;
    },
    repo?: string,
  ): StoredReviewComment {
    const pull = this.pull(number, repo);
    const stored: StoredReviewComment = {
      repo: pull.repo,
      pullNumber: pull.number,
      id: 5000 + this.reviewComments.length + 1,
      author: comment.author,
      body: comment.body,
      path: comment.path,
      line: comment.outdated ? null : comment.line,
      originalLine: comment.line,
      ...(comment.inReplyTo ? { inReplyTo: comment.inReplyTo } : {}),
      createdAt: this.timestamp(),
    };
    this.reviewComments.push(stored);
    return stored;
  }

  /** A comment in the PR's conversation tab, by `author` (GitHub stores it as an issue comment). */
  addIssueComment(number: number, comment: { author: string; body: string }, repo?: string): StoredComment {
    const pull = this.pull(number, repo);
    const stored: StoredComment = {
      repo: pull.repo,
      issueNumber: pull.number,
      id: this.comments.length + 1,
      body: comment.body,
      author: comment.author,
      createdAt: this.timestamp(),
    };
    this.comments.push(stored);
    return stored;
  }

  /** Forgets PRs, comments, requests and injected errors; registered repositories stay. */
  reset(): void {
    this.pulls.length = 0;
    this.comments.length = 0;
    this.reviewComments.length = 0;
    this.requests.length = 0;
    this.errors.length = 0;
    this.issueCounters.clear();
  }

  async waitForRequest(
    predicate: (request: RecordedGitHubRequest) => boolean,
    timeoutMs = 5_000,
  ): Promise<RecordedGitHubRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching GitHub request within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '').replace(/\/+$/, '');
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    const body = parseJson(text);
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method, path, query, body, headers: request.headers });

    if (!this.isAuthorized(request)) {
      sendJson(response, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
      return;
    }
    const injected = this.takeInjectedError(method, path);
    if (injected !== undefined) {
      sendInjectedError(response, injected);
      return;
    }
    if (text && body === undefined) {
      sendJson(response, 400, { message: 'Problems parsing JSON' });
      return;
    }
    const [status, result, headers] = this.route(method, path, query, (body ?? {}) as Json);
    sendJson(response, status, result, headers);
  }

  private route(method: string, path: string, query: Record<string, string>, body: Json): RouteResult {
    if (method === 'GET' && path === '/user') return [200, { login: this.login, id: 1, type: 'Bot' }];
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const repo = match && this.repos.get(`${match[1]}/${match[2]}`.toLowerCase());
    if (!repo) return notFound();
    const rest = match[3] ?? '';
    if (rest === '' && method === 'GET') return [200, this.repoJson(repo)];
    if (rest === '/pulls' && method === 'GET') return [200, this.listPulls(repo, query)];
    if (rest === '/pulls' && method === 'POST') return this.createPull(repo, body);
    const pullMatch = /^\/pulls\/(\d+)$/.exec(rest);
    if (pullMatch) {
      const pull = this.findPull(repo, Number(pullMatch[1]));
      if (!pull) return notFound();
      if (method === 'GET') return [200, this.pullJson(pull)];
      if (method === 'PATCH') return this.updatePull(pull, body);
    }
    const reviewMatch = /^\/pulls\/(\d+)\/comments$/.exec(rest);
    if (reviewMatch && method === 'GET') {
      const pull = this.findPull(repo, Number(reviewMatch[1]));
      if (!pull) return notFound();
      return this.page(
        path,
        query,
        this.reviewComments
          .filter((comment) => comment.repo === pull.repo && comment.pullNumber === pull.number)
          .map((comment) => this.reviewCommentJson(repo, pull, comment)),
      );
    }
    const listComments = /^\/issues\/(\d+)\/comments$/.exec(rest);
    if (listComments && method === 'GET') {
      const pull = this.findPull(repo, Number(listComments[1]));
      if (!pull) return notFound();
      return this.page(
        path,
        query,
        this.comments
          .filter((comment) => comment.repo === pull.repo && comment.issueNumber === pull.number)
          .map((comment) => this.issueCommentJson(repo, pull, comment)),
      );
    }
    const issueMatch = /^\/issues\/(\d+)\/(labels|comments)$/.exec(rest);
    if (issueMatch && method === 'POST') {
      const pull = this.findPull(repo, Number(issueMatch[1]));
      if (!pull) return notFound();
      return issueMatch[2] === 'labels' ? this.addLabels(pull, body) : this.addComment(repo, pull, body);
    }
    return notFound();
  }

  private listPulls(repo: StoredRepo, query: Record<string, string>): unknown[] {
    const state = query.state ?? 'open';
    return this.pullsOf(repo)
      .filter((pull) => state === 'all' || pull.state === state)
      .filter((pull) => !query.head || pull.head.label.toLowerCase() === query.head.toLowerCase())
      .filter((pull) => !query.base || pull.base.ref === query.base)
      .sort((a, b) => b.number - a.number)
      .map((pull) => this.pullJson(pull));
  }

  private createPull(repo: StoredRepo, body: Json): RouteResult {
    const missing = ['title', 'head', 'base'].filter(
      (field) => typeof body[field] !== 'string' || !body[field],
    );
    if (missing.length > 0) {
      const errors = missing.map((field) => ({ resource: 'PullRequest', field, code: 'missing_field' }));
      return [422, validationFailed(errors)];
    }
    const head = String(body.head);
    const label = head.includes(':') ? head : `${repo.owner}:${head}`;
    const ref = label.slice(label.indexOf(':') + 1);
    const existing = this.pullsOf(repo).find((pull) => pull.state === 'open' && pull.head.label === label);
    if (existing) {
      const message = `A pull request already exists for ${label}.`;
      return [422, validationFailed([{ resource: 'PullRequest', code: 'custom', message }])];
    }
    const number = this.nextIssueNumber(repo);
    const at = this.timestamp();
    const pull: StoredPull = {
      repo: `${repo.owner}/${repo.name}`,
      number,
      title: String(body.title),
      body: typeof body.body === 'string' ? body.body : null,
      state: 'open',
      draft: body.draft === true,
      merged: false,
      merged_at: null,
      closed_at: null,
      created_at: at,
      updated_at: at,
      head: { ref, label, sha: fakeSha(`${label}#${number}`) },
      base: { ref: String(body.base) },
      labels: [],
    };
    this.pulls.push(pull);
    return [201, this.pullJson(pull)];
  }

  private updatePull(pull: StoredPull, body: Json): RouteResult {
    if (body.state === 'open' && pull.merged) {
      return [
        422,
        validationFailed([
          {
            resource: 'PullRequest',
            code: 'custom',
            message: 'state cannot be changed. The pull request has been merged.',
          },
        ]),
      ];
    }
    if (typeof body.title === 'string') pull.title = body.title;
    if (typeof body.body === 'string') pull.body = body.body;
    if (typeof body.base === 'string') pull.base.ref = body.base;
    if (body.state === 'open' || body.state === 'closed') {
      pull.state = body.state;
      pull.closed_at = body.state === 'closed' ? this.timestamp() : null;
    }
    pull.updated_at = this.timestamp();
    return [200, this.pullJson(pull)];
  }

  private addLabels(pull: StoredPull, body: Json): RouteResult {
    const labels = Array.isArray(body.labels) ? body.labels : [];
    for (const label of labels) {
      const name = typeof label === 'string' ? label : String((label as Json)?.name ?? '');
      if (name && !pull.labels.includes(name)) pull.labels.push(name);
    }
    return [200, pull.labels.map((name) => labelJson(name))];
  }

  private addComment(repo: StoredRepo, pull: StoredPull, body: Json): RouteResult {
    if (typeof body.body !== 'string' || !body.body) {
      return [422, validationFailed([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }])];
    }
    const comment: StoredComment = {
      repo: pull.repo,
      issueNumber: pull.number,
      id: this.comments.length + 1,
      body: body.body,
      author: this.login,
      createdAt: this.timestamp(),
    };
    this.comments.push(comment);
    const htmlUrl = `${this.htmlRepoUrl(repo)}/pull/${pull.number}#issuecomment-${comment.id}`;
    const at = this.timestamp();
    return [
      201,
      { id: comment.id, body: comment.body, html_url: htmlUrl, user: { login: this.login }, created_at: at },
    ];
  }

  /**
   * One page of a list: `per_page` (default 30, at most 100) and `page` (from 1), with a `Link`
   * header naming the next page while there is one, which Octokit's paginate follows
   * (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api).
   */
  private page(path: string, query: Record<string, string>, items: unknown[]): RouteResult {
    const perPage = Math.min(100, Math.max(1, Number(query.per_page) || 30));
    const page = Math.max(1, Number(query.page) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    if (page * perPage >= items.length) return [200, slice];
    const next = new URLSearchParams({ ...query, per_page: String(perPage), page: String(page + 1) });
    return [200, slice, { link: `<${this.apiUrl}${path}?${next}>; rel="next"` }];
  }

  /**
   * A review comment as `GET /repos/{owner}/{repo}/pulls/{n}/comments` returns it
   * (https://docs.github.com/en/rest/pulls/comments#list-review-comments-on-a-pull-request):
   * `line`/`position` null when outdated, `original_line` kept.
   */
  private reviewCommentJson(repo: StoredRepo, pull: StoredPull, comment: StoredReviewComment): Json {
    return {
      id: comment.id,
      pull_request_review_id: comment.id + 1000,
      diff_hunk: '@@ -1,1 +1,1 @@',
      path: comment.path,
      position: comment.line,
      original_position: comment.originalLine,
      line: comment.line,
      original_line: comment.originalLine,
      side: 'RIGHT',
      commit_id: pull.head.sha,
      original_commit_id: pull.head.sha,
      ...(comment.inReplyTo ? { in_reply_to_id: comment.inReplyTo } : {}),
      user: { login: comment.author, type: 'User' },
      body: comment.body,
      created_at: comment.createdAt,
      updated_at: comment.createdAt,
      html_url: `${this.htmlRepoUrl(repo)}/pull/${pull.number}#discussion_r${comment.id}`,
      pull_request_url: `${this.apiUrl}/repos/${pull.repo}/pulls/${pull.number}`,
    };
  }

  /** An issue comment as `GET /repos/{owner}/{repo}/issues/{n}/comments` returns it (https://docs.github.com/en/rest/issues/comments#list-issue-comments). */
  private issueCommentJson(repo: StoredRepo, pull: StoredPull, comment: StoredComment): Json {
    const at = comment.createdAt ?? pull.created_at;
    return {
      id: comment.id,
      body: comment.body,
      user: {
        login: comment.author ?? this.login,
        type: comment.author && comment.author !== this.login ? 'User' : 'Bot',
      },
      created_at: at,
      updated_at: at,
      html_url: `${this.htmlRepoUrl(repo)}/pull/${pull.number}#issuecomment-${comment.id}`,
      issue_url: `${this.apiUrl}/repos/${pull.repo}/issues/${pull.number}`,
    };
  }

  private repoJson(repo: StoredRepo): Json {
    return {
      id: repo.id,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      owner: { login: repo.owner },
      default_branch: repo.defaultBranch,
      html_url: this.htmlRepoUrl(repo),
      private: repo.private,
    };
  }

  private pullJson(pull: StoredPull): Json {
    const repo = this.repos.get(pull.repo.toLowerCase())!;
    const apiBase = `${this.apiUrl}/repos/${pull.repo}`;
    return {
      id: 1000 + this.pulls.indexOf(pull),
      number: pull.number,
      url: `${apiBase}/pulls/${pull.number}`,
      html_url: `${this.htmlRepoUrl(repo)}/pull/${pull.number}`,
      state: pull.state,
      draft: pull.draft,
      merged: pull.merged,
      merged_at: pull.merged_at,
      closed_at: pull.closed_at,
      created_at: pull.created_at,
      updated_at: pull.updated_at,
      title: pull.title,
      body: pull.body,
      labels: pull.labels.map((name) => labelJson(name)),
      user: { login: this.login },
      head: { ...pull.head, repo: { full_name: pull.repo } },
      base: { ref: pull.base.ref, label: `${repo.owner}:${pull.base.ref}`, repo: { full_name: pull.repo } },
    };
  }

  private pullsOf(repo: StoredRepo): StoredPull[] {
    const fullName = `${repo.owner}/${repo.name}`.toLowerCase();
    return this.pulls.filter((pull) => pull.repo.toLowerCase() === fullName);
  }

  private findPull(repo: StoredRepo, number: number): StoredPull | undefined {
    return this.pullsOf(repo).find((pull) => pull.number === number);
  }

  private nextIssueNumber(repo: StoredRepo): number {
    const key = `${repo.owner}/${repo.name}`.toLowerCase();
    const next = (this.issueCounters.get(key) ?? 0) + 1;
    this.issueCounters.set(key, next);
    return next;
  }

  private takeInjectedError(method: string, path: string): number | undefined {
    const error = this.errors.find(
      (candidate) => candidate.method === method && candidate.pattern.test(path),
    );
    if (!error) return undefined;
    error.remaining -= 1;
    if (error.remaining <= 0) this.errors.splice(this.errors.indexOf(error), 1);
    return error.status;
  }

  private isAuthorized(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? '';
    const match = /^(?:token|bearer)\s+(.+)$/i.exec(header);
    return match?.[1] === this.token;
  }

  private htmlRepoUrl(repo: StoredRepo): string {
    return `${this.options.htmlBaseUrl ?? 'https://github.example'}/${repo.owner}/${repo.name}`;
  }

  private get login(): string {
    return this.options.login ?? 'shipmate-bot';
  }

  private timestamp(): string {
    return (this.options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function sendInjectedError(response: ServerResponse, status: number): void {
  if (status === 403 || status === 429) {
    const reset = String(Math.floor(Date.now() / 1000) + 60);
    const headers = { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset };
    sendJson(response, status, { message: 'API rate limit exceeded for installation.' }, headers);
    return;
  }
  const body = status === 422 ? validationFailed([]) : status === 404 ? notFound()[1] : undefined;
  sendJson(response, status, body ?? { message: status >= 500 ? 'Server Error' : `Error ${status}` });
}

function validationFailed(errors: Json[]): Json {
  return {
    message: 'Validation Failed',
    errors,
    documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
  };
}

function notFound(): RouteResult {
  return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
}

function labelJson(name: string): Json {
  return { id: hashNumber(name), name, color: 'ededed', default: false };
}

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split(/(\*|\{[^}]+\})/)
    .map((part) =>
      part === '*' || /^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.+?^$()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${escaped}$`);
}

function fakeSha(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

function hashNumber(seed: string): number {
  return Number.parseInt(fakeSha(seed).slice(0, 8), 16);
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Malformed JSON: the caller answers 400 like GitHub.
    return undefined;
  }
}
