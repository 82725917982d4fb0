import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { git } from './git-fixtures.js';

/**
 * A Gitea / Forgejo REST stand-in (API v1) serving exactly what GiteaProvider calls, with
 * Gitea's response shapes, error bodies (`{"message": "...", "url": ".../api/swagger"}`),
 * scoped tokens and refusals, each repository backed by a real bare git repository.
 *
 * References: the API reference rendered from Gitea's swagger.v1.json (docs.gitea.com/api, the
 * operations named beside each route); docs.gitea.com/development/api-usage (auth, paging);
 * docs.gitea.com/usage/pull-request (WIP prefixes); go-gitea/gitea services/convert/pull_review.go.
 */

export interface GiteaStandInOptions {
  /** A token with every scope shipmate needs; more with `addToken`. */
  token?: string;
  /** The bot's login (the token's user). */
  login?: string;
  /** ROOT_URL, the base of every `html_url`; default the stand-in's own origin. */
  htmlBaseUrl?: string;
  port?: number;
}

export interface GiteaRepoOptions {
  defaultBranch?: string;
  /** The bare repository pushes go to; pull requests need their branches to exist there. */
  gitDir: string;
  /** `permissions.push` the token's user has (default true). */
  canPush?: boolean;
}

export type GiteaPullState = 'open' | 'closed' | 'merged';

export interface GiteaPull {
  repo: string;
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  merged: boolean;
  head: string;
  headSha: string;
  base: string;
  labels: number[];
  poster: string;
  createdAt: string;
  updatedAt: string;
}

export interface GiteaLabel {
  repo: string;
  id: number;
  name: string;
  color: string;
  description: string;
}

export interface SeedReview {
  pull: number;
  user: string;
  state?: 'APPROVED' | 'REQUEST_CHANGES' | 'COMMENT' | 'PENDING';
  body?: string;
  dismissed?: boolean;
  comments?: Array<{ path: string; line: number; body: string; oldSide?: boolean; resolvedBy?: string }>;
}

export interface RecordedGiteaRequest {
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
  gitDir: string;
  canPush: boolean;
}

interface StoredReview {
  repo: string;
  pull: number;
  id: number;
  user: string;
  state: string;
  body: string;
  dismissed: boolean;
  submittedAt: string;
  comments: Array<{
    id: number;
    path: string;
    line: number;
    oldSide: boolean;
    body: string;
    resolvedBy?: string;
    at: string;
  }>;
}

interface StoredComment {
  repo: string;
  pull: number;
  id: number;
  user: string;
  body: string;
  at: string;
}

interface Injected {
  method: string;
  pattern: RegExp;
  status: number;
  message: string | undefined;
  remaining: number;
}

type Json = Record<string, unknown>;
type Result = [status: number, body: unknown, headers?: Record<string, string>];

/** Scopes are `read:x` / `write:x`; write implies read (docs.gitea.com/development/oauth2-provider#scopes). */
const allScopes = ['write:repository', 'write:issue', 'read:user'];
/** MAX_RESPONSE_ITEMS, 50 by default (docs.gitea.com/development/api-usage). */
const maxItems = 50;

export class GiteaStandIn {
  readonly pulls: GiteaPull[] = [];
  readonly labels: GiteaLabel[] = [];
  readonly requests: RecordedGiteaRequest[] = [];
  private readonly repos = new Map<string, StoredRepo>();
  private readonly tokens = new Map<string, { login: string; scopes: string[] }>();
  private readonly reviews: StoredReview[] = [];
  private readonly comments: StoredComment[] = [];
  private readonly errors: Injected[] = [];
  private readonly counters = new Map<string, number>();
  private ids = 0;
  private clock = Date.parse('2026-01-05T09:00:00Z');
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly options: GiteaStandInOptions = {}) {
    this.tokens.set(this.token, { login: this.login, scopes: allScopes });
  }

  get token(): string {
    return this.options.token ?? 'gitea-test-token-0123456789abcdef0123456789ab';
  }

  get login(): string {
    return this.options.login ?? 'shipmate-bot';
  }

  get origin(): string {
    if (!this.server) throw new Error('GiteaStandIn is not started; call start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  /** What GITEA_API_URL is set to: `<ROOT_URL>/api/v1`. */
  get apiUrl(): string {
    return `${this.origin}/api/v1`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) =>
        send(response, 500, { message: `stand-in failure: ${String(error)}`, url: this.swagger }),
      );
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

  addRepo(fullName: string, options: GiteaRepoOptions): this {
    const [owner, name] = fullName.split('/');
    if (!owner || !name) throw new Error(`repository must be "owner/name", got "${fullName}"`);
    this.repos.set(fullName.toLowerCase(), {
      id: this.repos.size + 1,
      owner,
      name,
      defaultBranch: options.defaultBranch ?? 'main',
      gitDir: options.gitDir,
      canPush: options.canPush ?? true,
    });
    return this;
  }

  /** Another token, e.g. one created with fewer scopes (Settings → Applications → Generate New Token). */
  addToken(token: string, options: { scopes: string[]; login?: string }): this {
    this.tokens.set(token, { login: options.login ?? this.login, scopes: options.scopes });
    return this;
  }

  pull(number: number): GiteaPull {
    const pull = this.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw new Error(`no pull request #${number}`);
    return pull;
  }

  /** The names of a pull request's labels. */
  labelsOf(number: number): string[] {
    const pull = this.pull(number);
    return pull.labels.map((id) => this.labels.find((label) => label.id === id)?.name ?? `#${id}`);
  }

  setPullState(number: number, state: GiteaPullState): void {
    const pull = this.pull(number);
    pull.state = state === 'open' ? 'open' : 'closed';
    pull.merged = state === 'merged';
    pull.updatedAt = this.tick();
  }

  /** A submitted review (with inline comments) as a person would leave it in the web UI. */
  seedReview(review: SeedReview): number {
    const pull = this.pull(review.pull);
    const at = this.tick();
    const id = this.nextId();
    this.reviews.push({
      repo: pull.repo,
      pull: pull.number,
      id,
      user: review.user,
      state: review.state ?? 'REQUEST_CHANGES',
      body: review.body ?? '',
      dismissed: review.dismissed ?? false,
      submittedAt: at,
      comments: (review.comments ?? []).map((comment) => ({
        id: this.nextId(),
        path: comment.path,
        line: comment.line,
        oldSide: comment.oldSide ?? false,
        body: comment.body,
        ...(comment.resolvedBy ? { resolvedBy: comment.resolvedBy } : {}),
        at,
      })),
    });
    return id;
  }

  /** A comment in the pull request's conversation (an issue comment). */
  seedComment(pull: number, user: string, body: string): number {
    const id = this.nextId();
    this.comments.push({ repo: this.pull(pull).repo, pull, id, user, body, at: this.tick() });
    return id;
  }

  /**
   * The next `times` requests matching `method` and `path` (under /api/v1; `*` is one segment)
   * fail with `status` and Gitea's error body, with `message` when given.
   */
  injectError(
    method: string,
    path: string,
    status: number,
    options: { message?: string; times?: number } = {},
  ) {
    this.errors.push({
      method: method.toUpperCase(),
      pattern: patternToRegExp(path),
      status,
      message: options.message,
      remaining: options.times ?? 1,
    });
    return this;
  }

  /** Forgets pull requests, labels, reviews, comments, requests and injected errors. */
  reset(): void {
    for (const list of [this.pulls, this.labels, this.requests, this.reviews, this.comments, this.errors])
      list.length = 0;
    this.counters.clear();
  }

  private get swagger(): string {
    return `${this.server ? this.origin : 'http://127.0.0.1'}/api/swagger`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    const body = parseJson(text);
    const query = Object.fromEntries(url.searchParams);
    const path = url.pathname.replace(/\/+$/, '');
    this.requests.push({
      method,
      path: path.replace(/^\/api\/v1/, ''),
      query,
      body,
      headers: request.headers,
    });
    if (!path.startsWith('/api/v1/')) return send(response, 404, this.notFound());
    const route = path.slice('/api/v1'.length);
    const caller = this.caller(request);
    // No or an unknown token: "token is required" (401), as Gitea answers reqToken() routes.
    if (!caller) return send(response, 401, { message: 'token is required', url: this.swagger });
    const injected = this.takeInjected(method, route);
    if (injected) return send(response, injected.status, { message: injected.message, url: this.swagger });
    const needed = requiredScope(method, route);
    if (needed && !hasScope(caller.scopes, needed)) {
      // Gitea 1.20+ checks scopes per route group before the handler runs.
      const message = `token does not have at least one of required scope(s): [${needed}]`;
      return send(response, 403, { message, url: this.swagger });
    }
    if (text && body === undefined)
      return send(response, 422, { message: 'invalid JSON body', url: this.swagger });
    const [status, result, headers] = await this.route(
      method,
      route,
      query,
      (body ?? {}) as Json,
      caller.login,
    );
    send(response, status, result, headers);
  }

  private async route(
    method: string,
    path: string,
    query: Record<string, string>,
    body: Json,
    login: string,
  ) {
    // GET /user — userGetCurrent.
    if (method === 'GET' && path === '/user') return this.ok(this.userJson(login));
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const repo = match && this.repos.get(`${match[1]}/${match[2]}`.toLowerCase());
    if (!repo) return [404, this.notFound()] as Result;
    const rest = match[3] ?? '';
    // GET /repos/{owner}/{repo} — repoGet; `permissions` are the caller's.
    if (rest === '' && method === 'GET') return this.ok(this.repoJson(repo));
    // GET /repos/{owner}/{repo}/pulls — repoListPullRequests (state, page, limit).
    if (rest === '/pulls' && method === 'GET') {
      const state = query.state ?? 'open';
      const pulls = this.pullsOf(repo)
        .filter((pull) => state === 'all' || pull.state === state)
        .sort((a, b) => b.number - a.number);
      return this.paged(
        pulls.map((pull) => this.pullJson(pull)),
        query,
      );
    }
    // POST /repos/{owner}/{repo}/pulls — repoCreatePullRequest: 201, 404, 409, 422.
    if (rest === '/pulls' && method === 'POST') return this.createPull(repo, body, login);
    const pullMatch = /^\/(pulls|issues)\/(\d+)(\/.*)?$/.exec(rest);
    if (pullMatch) {
      const pull = this.pullsOf(repo).find((candidate) => candidate.number === Number(pullMatch[2]));
      if (!pull) return [404, this.notFound()] as Result;
      return this.pullRoute(method, `${pullMatch[1]}${pullMatch[3] ?? ''}`, pull, body, query, login);
    }
    // GET /repos/{owner}/{repo}/labels — issueListLabels; POST — issueCreateLabel (201).
    if (rest === '/labels' && method === 'GET') return this.paged(this.labelsIn(repo).map(labelJson), query);
    if (rest === '/labels' && method === 'POST') return this.createLabel(repo, body);
    return [404, this.notFound()] as Result;
  }

  private pullRoute(
    method: string,
    rest: string,
    pull: GiteaPull,
    body: Json,
    query: Record<string, string>,
    login: string,
  ): Result {
    // GET /repos/{owner}/{repo}/pulls/{index} — repoGetPullRequest.
    if (rest === 'pulls' && method === 'GET') return this.ok(this.pullJson(pull));
    // PATCH …/pulls/{index} — repoEditPullRequest; Gitea answers 201 Created, not 200.
    if (rest === 'pulls' && method === 'PATCH') {
      if (typeof body.title === 'string' && body.title.trim()) pull.title = body.title;
      if (typeof body.body === 'string') pull.body = body.body;
      pull.updatedAt = this.tick();
      return [201, this.pullJson(pull)];
    }
    // POST …/issues/{index}/labels — issueAddLabel: ids (or names since 1.20), answers all labels.
    if (rest === 'issues/labels' && method === 'POST') {
      const wanted = Array.isArray(body.labels) ? body.labels : [];
      for (const item of wanted) {
        const label = this.labels.find(
          (candidate) => candidate.repo === pull.repo && (candidate.id === item || candidate.name === item),
        );
        if (label && !pull.labels.includes(label.id)) pull.labels.push(label.id);
      }
      return this.ok(pull.labels.map((id) => labelJson(this.labels.find((label) => label.id === id)!)));
    }
    // GET …/issues/{index}/comments — issueGetComments (the conversation, not code comments).
    if (rest === 'issues/comments' && method === 'GET') {
      const comments = this.comments.filter(
        (comment) => comment.repo === pull.repo && comment.pull === pull.number,
      );
      return this.ok(comments.map((comment) => this.commentJson(pull, comment)));
    }
    // GET …/pulls/{index}/reviews — repoListPullReviews; pending reviews only to their author.
    if (rest === 'pulls/reviews' && method === 'GET') {
      const reviews = this.reviewsOf(pull).filter(
        (review) => review.state !== 'PENDING' || review.user === login,
      );
      return this.paged(
        reviews.map((review) => this.reviewJson(pull, review)),
        query,
      );
    }
    // GET …/pulls/{index}/reviews/{id}/comments — repoGetPullReviewComments.
    const reviewMatch = /^pulls\/reviews\/(\d+)\/comments$/.exec(rest);
    if (reviewMatch && method === 'GET') {
      const review = this.reviewsOf(pull).find((candidate) => candidate.id === Number(reviewMatch[1]));
      if (!review) return [404, this.notFound()];
      return this.ok(review.comments.map((comment) => this.reviewCommentJson(pull, review, comment)));
    }
    return [404, this.notFound()];
  }

  private async createPull(repo: StoredRepo, body: Json, login: string): Promise<Result> {
    // `title` is `binding:"Required"` in CreatePullRequestOption: a 422 validation error.
    if (typeof body.title !== 'string' || !body.title.trim())
      return [422, { message: '[Title]: Required', url: this.swagger }];
    const head = typeof body.head === 'string' ? body.head : '';
    const base = typeof body.base === 'string' && body.base ? body.base : repo.defaultBranch;
    // Same branch on both sides: "BaseHeadSame" (routers/api/v1/repo/pull.go).
    if (head === base)
      return [
        422,
        {
          message: 'Invalid PullRequest: There are no changes between the head and the base',
          url: this.swagger,
        },
      ];
    // A branch missing from the repository: NotFound ("The target couldn't be found.").
    const [headSha, baseSha] = await Promise.all([branchSha(repo, head), branchSha(repo, base)]);
    if (!headSha || !baseSha) return [404, this.notFound()];
    const fullName = `${repo.owner}/${repo.name}`;
    const existing = this.pullsOf(repo).find(
      (pull) => pull.state === 'open' && pull.head === head && pull.base === base,
    );
    if (existing) {
      const message = `pull request already exists for these targets [id: ${existing.number}, issue_id: ${existing.number}, head_repo_id: ${repo.id}, base_repo_id: ${repo.id}, head_branch: ${head}, base_branch: ${base}]`;
      return [409, { message, url: this.swagger }];
    }
    const at = this.tick();
    const pull: GiteaPull = {
      repo: fullName,
      number: this.nextIndex(fullName),
      title: body.title,
      body: typeof body.body === 'string' ? body.body : '',
      state: 'open',
      merged: false,
      head,
      headSha,
      base,
      labels: [],
      poster: login,
      createdAt: at,
      updatedAt: at,
    };
    this.pulls.push(pull);
    return [201, this.pullJson(pull)];
  }

  private createLabel(repo: StoredRepo, body: Json): Result {
    if (typeof body.name !== 'string' || !body.name)
      return [422, { message: '[Name]: Required', url: this.swagger }];
    // Colors are six hex digits, with or without '#' (CreateLabelOption, label.NormalizeColor).
    const color = typeof body.color === 'string' ? body.color.replace(/^#/, '') : '';
    if (!/^[0-9a-f]{6}$/i.test(color))
      return [422, { message: `invalid color "${String(body.color ?? '')}"`, url: this.swagger }];
    const label: GiteaLabel = {
      repo: `${repo.owner}/${repo.name}`,
      id: this.nextId(),
      name: body.name,
      color,
      description: typeof body.description === 'string' ? body.description : '',
    };
    this.labels.push(label);
    return [201, labelJson(label)];
  }

  /** Pages of `limit` (capped at MAX_RESPONSE_ITEMS), with X-Total-Count and a Link header. */
  private paged(items: unknown[], query: Record<string, string>): Result {
    const limit = Math.min(Math.max(Number(query.limit) || maxItems, 1), maxItems);
    const page = Math.max(Number(query.page) || 1, 1);
    const slice = items.slice((page - 1) * limit, page * limit);
    const headers: Record<string, string> = { 'x-total-count': String(items.length) };
    if (page * limit < items.length) headers.link = `<?page=${page + 1}&limit=${limit}>; rel="next"`;
    return [200, slice, headers];
  }

  private ok(body: unknown): Result {
    return [200, body];
  }

  private notFound(): Json {
    return { errors: [], message: "The target couldn't be found.", url: this.swagger };
  }

  private caller(request: IncomingMessage) {
    // "Authorization: token …" (API tokens, for historical reasons) or "Authorization: bearer …".
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    return match ? this.tokens.get(match[1]!) : undefined;
  }

  private takeInjected(method: string, path: string): Injected | undefined {
    const found = this.errors.find((error) => error.method === method && error.pattern.test(path));
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) this.errors.splice(this.errors.indexOf(found), 1);
    const fallback: Record<number, string> = {
      404: "The target couldn't be found.",
      429: 'rate limit exceeded',
    };
    return { ...found, message: found.message ?? fallback[found.status] ?? `error ${found.status}` };
  }

  private userJson(login: string): Json {
    return {
      id: 7,
      login,
      login_name: '',
      full_name: 'shipmate',
      email: `${login}@noreply.example`,
      is_admin: false,
      username: login,
    };
  }

  private repoJson(repo: StoredRepo): Json {
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      id: repo.id,
      owner: { id: 1, login: repo.owner, username: repo.owner },
      name: repo.name,
      full_name: fullName,
      private: true,
      empty: false,
      default_branch: repo.defaultBranch,
      html_url: `${this.html}/${fullName}`,
      clone_url: `${this.html}/${fullName}.git`,
      permissions: { admin: false, push: repo.canPush, pull: true },
    };
  }

  private pullJson(pull: GiteaPull): Json {
    const repo = this.repos.get(pull.repo.toLowerCase())!;
    const branch = (ref: string, sha: string) => ({
      label: ref,
      ref,
      sha,
      repo_id: repo.id,
      repo: { id: repo.id, full_name: pull.repo },
    });
    return {
      id: 1000 + pull.number,
      url: `${this.html}/${pull.repo}/pulls/${pull.number}`,
      number: pull.number,
      user: { id: 7, login: pull.poster },
      title: pull.title,
      body: pull.body,
      labels: pull.labels.map((id) => labelJson(this.labels.find((label) => label.id === id)!)),
      state: pull.state,
      // A title with a WORK_IN_PROGRESS_PREFIXES prefix is a draft (WIP:, [WIP]; case-insensitive).
      draft: /^(wip:|\[wip\])/i.test(pull.title),
      is_locked: false,
      html_url: `${this.html}/${pull.repo}/pulls/${pull.number}`,
      merged: pull.merged,
      mergeable: pull.state === 'open',
      base: branch(pull.base, '0'.repeat(40)),
      head: branch(pull.head, pull.headSha),
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
    };
  }

  private reviewJson(pull: GiteaPull, review: StoredReview): Json {
    return {
      id: review.id,
      user: { id: 9, login: review.user },
      body: review.body,
      state: review.state,
      dismissed: review.dismissed,
      stale: false,
      official: true,
      comments_count: review.comments.length,
      submitted_at: review.submittedAt,
      html_url: `${this.html}/${pull.repo}/pulls/${pull.number}#issuecomment-${review.id}`,
    };
  }

  private reviewCommentJson(
    pull: GiteaPull,
    review: StoredReview,
    comment: StoredReview['comments'][number],
  ): Json {
    return {
      id: comment.id,
      body: comment.body,
      user: { id: 9, login: review.user },
      resolver: comment.resolvedBy ? { id: 10, login: comment.resolvedBy } : null,
      pull_request_review_id: review.id,
      path: comment.path,
      // LineNum → position (new side), OldLineNum → original_position (old side).
      position: comment.oldSide ? 0 : comment.line,
      original_position: comment.oldSide ? comment.line : 0,
      commit_id: pull.headSha,
      created_at: comment.at,
      html_url: `${this.html}/${pull.repo}/pulls/${pull.number}/files#issuecomment-${comment.id}`,
    };
  }

  private commentJson(pull: GiteaPull, comment: StoredComment): Json {
    return {
      id: comment.id,
      body: comment.body,
      user: { id: comment.user === this.login ? 7 : 9, login: comment.user },
      created_at: comment.at,
      html_url: `${this.html}/${pull.repo}/pulls/${pull.number}#issuecomment-${comment.id}`,
    };
  }

  private get html(): string {
    return (this.options.htmlBaseUrl ?? this.origin).replace(/\/+$/, '');
  }

  private pullsOf(repo: StoredRepo): GiteaPull[] {
    const fullName = `${repo.owner}/${repo.name}`.toLowerCase();
    return this.pulls.filter((pull) => pull.repo.toLowerCase() === fullName);
  }

  private labelsIn(repo: StoredRepo): GiteaLabel[] {
    return this.labels.filter(
      (label) => label.repo.toLowerCase() === `${repo.owner}/${repo.name}`.toLowerCase(),
    );
  }

  private reviewsOf(pull: GiteaPull): StoredReview[] {
    return this.reviews.filter((review) => review.repo === pull.repo && review.pull === pull.number);
  }

  /** Issues and pull requests share one index per repository. */
  private nextIndex(repo: string): number {
    const next = (this.counters.get(repo) ?? 0) + 1;
    this.counters.set(repo, next);
    return next;
  }

  private nextId(): number {
    this.ids += 1;
    return this.ids;
  }

  /** Each event a second after the last, so "oldest first" is well defined. */
  private tick(): string {
    this.clock += 1_000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

/** Which scope a route needs: /user → user, labels and issues → issue, the rest → repository. */
function requiredScope(method: string, path: string): string | undefined {
  const access = method === 'GET' ? 'read' : 'write';
  if (path === '/user') return `${access}:user`;
  if (/^\/repos\/[^/]+\/[^/]+\/(labels|issues)(\/|$)/.test(path)) return `${access}:issue`;
  if (path.startsWith('/repos/')) return `${access}:repository`;
  return undefined;
}

function hasScope(granted: string[], needed: string): boolean {
  const [access, area] = needed.split(':');
  return (
    granted.includes(needed) ||
    granted.includes('all') ||
    (access === 'read' && granted.includes(`write:${area}`))
  );
}

async function branchSha(repo: StoredRepo, branch: string): Promise<string | undefined> {
  if (!branch) return undefined;
  return git(repo.gitDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(
    (sha) => sha || undefined,
    () => undefined,
  );
}

function labelJson(label: GiteaLabel): Json {
  return {
    id: label.id,
    name: label.name,
    color: label.color,
    description: label.description,
    exclusive: false,
    is_archived: false,
  };
}

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped}$`);
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
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
    // Malformed JSON: the caller answers 422 like Gitea's binding.
    return undefined;
  }
}
