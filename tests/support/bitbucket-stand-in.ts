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
 * A Bitbucket Cloud REST stand-in (API 2.0) serving exactly what BitbucketProvider calls, with
 * Bitbucket's shapes: paginated lists (`{pagelen, page, size, values, next}`), error bodies
 * (`{"type": "error", "error": {"message", "detail"?, "fields"?}}`), access tokens as bearer
 * tokens with scopes, and each repository backed by a real bare git repository.
 *
 * References: developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests (list, create,
 * get, update, comments), …/rest/api-group-repositories (GET a repository), …/rest/api-group-users
 * (GET /user, /user/permissions/repositories), …/rest/intro (#pagination, #filtering with BBQL,
 * #scopes, #access-tokens), support.atlassian.com/bitbucket-cloud ("Using access tokens",
 * "Repository Access Token permissions"). Where the docs say nothing about a status or a message,
 * each behaviour cites the public report it was seen in (GitHub issue threads quoting real
 * api.bitbucket.org answers), or says "not documented; assumed from …". Claims an earlier version
 * made that could not be sourced again are marked "unsourced".
 */

export interface BitbucketStandInOptions {
  /** A repository access token with every scope shipmate needs; more with `addToken`. */
  token?: string;
  /** Base of every `links.html.href`; default the stand-in's own origin. */
  htmlBaseUrl?: string;
  port?: number;
}

export interface BitbucketRepoOptions {
  mainBranch?: string;
  gitDir: string;
}

export type BitbucketPullState = 'OPEN' | 'MERGED' | 'DECLINED' | 'SUPERSEDED';

/**
 * `access-token`: a repository/project/workspace access token (no user: GET /user and the
 * cross-workspace /user/permissions are refused). `user`: an OAuth or user API token.
 */
export type BitbucketTokenKind = 'access-token' | 'user';

export interface BitbucketAccount {
  uuid: string;
  display_name: string;
  nickname: string;
}

export interface BitbucketPull {
  repo: string;
  id: number;
  title: string;
  description: string;
  state: BitbucketPullState;
  draft: boolean;
  source: string;
  sourceSha: string;
  destination: string;
  author: BitbucketAccount;
  reviewers: Array<{ uuid: string }>;
  createdOn: string;
  updatedOn: string;
}

export interface SeedBitbucketComment {
  pull: number;
  /** Another person's display name, or `bot` for the token's own account. */
  user: string;
  body: string;
  inline?: { path: string; to?: number; from?: number };
  parent?: number;
  deleted?: boolean;
  resolved?: boolean;
  pending?: boolean;
}

export interface RecordedBitbucketRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingHttpHeaders;
}

interface StoredRepo {
  workspace: string;
  slug: string;
  uuid: string;
  mainBranch: string;
  gitDir: string;
}

interface StoredComment extends SeedBitbucketComment {
  repo: string;
  id: number;
  author: BitbucketAccount;
  createdOn: string;
}

interface Token {
  kind: BitbucketTokenKind;
  scopes: string[];
  account: BitbucketAccount;
  permission: 'read' | 'write' | 'admin';
}

interface Injected {
  method: string;
  pattern: RegExp;
  status: number;
  body: unknown;
  remaining: number;
}

type Json = Record<string, unknown>;
type Result = [status: number, body: unknown];

/** Scopes an access token can be given (Repository Access Token permissions). */
const allScopes = ['repository', 'repository:write', 'pullrequest', 'pullrequest:write'];

export class BitbucketStandIn {
  readonly pulls: BitbucketPull[] = [];
  readonly comments: StoredComment[] = [];
  readonly requests: RecordedBitbucketRequest[] = [];
  private readonly repos = new Map<string, StoredRepo>();
  private readonly tokens = new Map<string, Token>();
  private readonly errors: Injected[] = [];
  private readonly counters = new Map<string, number>();
  /**
   * Answer GET /user/permissions/repositories as Bitbucket has since the CHANGE-2770 sunset
   * (410 Gone). Off by default: the tests written before it expect the documented answer.
   */
  crossWorkspaceGone = false;
  private ids = 100;
  private clock = Date.parse('2026-01-05T09:00:00Z');
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly options: BitbucketStandInOptions = {}) {
    this.addToken(this.token, { scopes: allScopes });
  }

  get token(): string {
    return this.options.token ?? 'ATCTT3xFfGN0bitbucketTestToken0123456789abcdef';
  }

  /** The account an access token acts as: "the token will be treated as the user", named after it. */
  get bot(): BitbucketAccount {
    return this.tokens.get(this.token)!.account;
  }

  get origin(): string {
    if (!this.server) throw new Error('BitbucketStandIn is not started; call start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  /** What BITBUCKET_API_URL is set to (the real one is https://api.bitbucket.org/2.0). */
  get apiUrl(): string {
    return `${this.origin}/2.0`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) =>
        send(response, 500, errorBody(`stand-in failure: ${String(error)}`)),
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

  addRepo(fullName: string, options: BitbucketRepoOptions): this {
    const [workspace, slug] = fullName.split('/');
    if (!workspace || !slug) throw new Error(`repository must be "workspace/repo", got "${fullName}"`);
    this.repos.set(fullName.toLowerCase(), {
      workspace,
      slug,
      uuid: `{${uuidFor(fullName)}}`,
      mainBranch: options.mainBranch ?? 'main',
      gitDir: options.gitDir,
    });
    return this;
  }

  /** Another token: fewer scopes, a read-only user, or a user (not access) token. */
  addToken(
    token: string,
    options: {
      scopes?: string[];
      kind?: BitbucketTokenKind;
      permission?: Token['permission'];
      name?: string;
    } = {},
  ): this {
    const name = options.name ?? 'shipmate';
    this.tokens.set(token, {
      kind: options.kind ?? 'access-token',
      scopes: options.scopes ?? allScopes,
      permission: options.permission ?? 'write',
      account: { uuid: `{${uuidFor(`account:${token}`)}}`, display_name: name, nickname: name },
    });
    return this;
  }

  pull(id: number): BitbucketPull {
    const pull = this.pulls.find((candidate) => candidate.id === id);
    if (!pull) throw new Error(`no pull request #${id}`);
    return pull;
  }

  setPullState(id: number, state: BitbucketPullState): void {
    const pull = this.pull(id);
    pull.state = state;
    pull.updatedOn = this.tick();
  }

  /** A comment as a person (or the bot) would leave it; returns its id. */
  seedComment(comment: SeedBitbucketComment): number {
    const pull = this.pull(comment.pull);
    const id = this.nextId();
    const author =
      comment.user === 'bot'
        ? this.bot
        : {
            uuid: `{${uuidFor(`user:${comment.user}`)}}`,
            display_name: comment.user,
            nickname: comment.user,
          };
    this.comments.push({ ...comment, repo: pull.repo, pull: pull.id, id, author, createdOn: this.tick() });
    return id;
  }

  /** The next `times` requests matching `method` and `path` (under /2.0; `*` is one segment) fail with `status`. */
  injectError(
    method: string,
    path: string,
    status: number,
    options: { message?: string; detail?: unknown; times?: number } = {},
  ): this {
    // 403 "Forbidden" is a real body (avivsinai/bitbucket-cli#30: {"type": "error", "error":
    // {"message": "Forbidden"}}); 404 "Resource not found" is quoted in
    // mantisbt-plugins/source-integration#376. The 429 text is unsourced (assumed).
    const fallback: Record<number, string> = {
      403: 'Forbidden',
      404: 'Resource not found',
      429: 'Rate limit for this resource has been exceeded',
    };
    const message = options.message ?? fallback[status] ?? 'Something went wrong';
    this.errors.push({
      method: method.toUpperCase(),
      pattern: patternToRegExp(path),
      status,
      body: errorBody(message, options.detail === undefined ? {} : { detail: options.detail }),
      remaining: options.times ?? 1,
    });
    return this;
  }

  reset(): void {
    for (const list of [this.pulls, this.comments, this.requests, this.errors]) list.length = 0;
    this.counters.clear();
    this.crossWorkspaceGone = false;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    const body = parseJson(text);
    const query = Object.fromEntries(url.searchParams);
    const path = url.pathname.replace(/\/+$/, '');
    this.requests.push({ method, path: path.replace(/^\/2\.0/, ''), query, body, headers: request.headers });
    if (!path.startsWith('/2.0/')) return send(response, 404, errorBody('Resource not found'));
    const route = path.slice('/2.0'.length);
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const token = bearer ? this.tokens.get(bearer) : undefined;
    // An unknown bearer token: 401 {"type": "error", "error": {"message": "Token is invalid,
    // expired, or not supported for this endpoint."}} (real answers quoted in
    // avivsinai/bitbucket-cli#174 and #30, AsyncFuncAI/deepwiki-open#444).
    if (bearer && !token)
      return send(response, 401, errorBody('Token is invalid, expired, or not supported for this endpoint.'));
    // Anonymous: a private repository one may not see is a 404, not a 403 (badges/shields#8520:
    // "BB cloud now serves a 404 for private repo that you don't have access to"). /user without
    // a login: 401; the message "Unauthorized" is not documented; assumed.
    if (!token) {
      if (route.startsWith('/user')) return send(response, 401, errorBody('Unauthorized'));
      return send(response, 404, errorBody(noRepository));
    }
    const injected = this.takeInjected(method, route);
    if (injected) return send(response, injected.status, injected.body);
    // A token without the scope an endpoint needs: 403 "Your credentials lack one or more required
    // privilege scopes." with `detail.required` (gildas/bitbucket-cli#56 quotes the body) and the
    // granted scopes beside it (pingdotgg/t3code#6291: "the full 403 response body showing
    // required vs. granted scopes"). Checked before the body and the repository: not documented;
    // assumed from the scope being a property of the endpoint.
    const needed = requiredScope(method, route);
    if (needed && !hasScope(token.scopes, needed)) {
      const detail = { granted: token.scopes, required: [needed] };
      return send(
        response,
        403,
        errorBody('Your credentials lack one or more required privilege scopes.', { detail }),
      );
    }
    // A body that is not a JSON object: 400; the message and `fields` are not documented; assumed.
    if (text && (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)))
      return send(response, 400, errorBody('Bad request', { fields: { '': 'expected a dictionary' } }));
    const [status, result] = await this.route(method, route, url.searchParams, (body ?? {}) as Json, token);
    send(response, status, result);
  }

  private async route(
    method: string,
    path: string,
    params: URLSearchParams,
    body: Json,
    token: Token,
  ): Promise<Result> {
    if (method === 'GET' && (path === '/user' || path === '/user/permissions/repositories')) {
      // Access tokens are scoped to one repository, project or workspace and have no user
      // (support.atlassian.com "Repository access tokens": the token acts as its own bot
      // account). That GET /user answers them 403 with "This API is not accessible by this
      // authentication mechanism" is unsourced: no public answer found; assumed.
      //
      // GET /user/permissions/repositories is one of the cross-workspace APIs Atlassian sunset in
      // 2026 (developer.atlassian.com/cloud/bitbucket/changelog/#CHANGE-2770, replacements in
      // #CHANGE-3022; woodpecker-ci/woodpecker#6401 "Remove usage of deprecated
      // /user/permissions/repositories", amitsaha/gitbackup#228: removed endpoints answer
      // "410 Gone"). The stand-in still serves it as documented before the sunset; see
      // `crossWorkspaceGone` to have it answer as Bitbucket does now.
      if (path === '/user/permissions/repositories' && this.crossWorkspaceGone)
        return [410, crossWorkspaceGoneBody];
      if (token.kind === 'access-token')
        return [403, errorBody('This API is not accessible by this authentication mechanism')];
      if (path === '/user')
        return [200, { type: 'user', ...token.account, account_id: '5b10a2844c20165700ede21g' }];
      return this.permissions(token, params);
    }
    const match = /^\/repositories\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const repo = match && this.repos.get(`${match[1]}/${match[2]}`.toLowerCase());
    // Unknown repository: 404 (api-group-repositories: "If the repository does not exist").
    // The message is the one Bitbucket gives git over HTTPS (community.atlassian.com "Having
    // trouble switching to API tokens"); that the REST body carries the same text is assumed.
    if (!repo) return [404, errorBody(noRepository)];
    const rest = match[3] ?? '';
    // GET /repositories/{workspace}/{repo_slug}
    if (rest === '' && method === 'GET') return [200, this.repoJson(repo)];
    if (rest === '/pullrequests' && method === 'GET') return this.listPulls(repo, params);
    if (rest === '/pullrequests' && method === 'POST') return this.createPull(repo, body, token);
    const pullMatch = /^\/pullrequests\/(\d+)(\/comments)?$/.exec(rest);
    if (!pullMatch) return [404, errorBody('Resource not found')];
    const pull = this.pullsOf(repo).find((candidate) => candidate.id === Number(pullMatch[1]));
    // An unknown pull request: 404 (api-group-pullrequests); the message is not documented; assumed.
    if (!pull) return [404, errorBody(`Pull request #${pullMatch[1]} not found`)];
    if (!pullMatch[2] && method === 'GET') return [200, this.pullJson(pull)];
    if (!pullMatch[2] && method === 'PUT') return this.updatePull(pull, body);
    if (pullMatch[2] && method === 'GET') {
      // Deleted comments are listed too, flagged `deleted: true` (earlier claim citing
      // bitbucket.org/site/master/issues/10686; unsourced: not found again). Pages of up to 100:
      // the global maximum of the pagination doc (rest/intro/#pagination, quoted in
      // MitjaBezensek/SharpBucket#36); that the comments endpoint keeps it is assumed.
      const comments = this.commentsOf(pull);
      return this.page(
        comments.map((comment) => this.commentJson(repo, pull, comment)),
        params,
        100,
        path,
      );
    }
    return [404, errorBody('Resource not found')];
  }

  /**
   * GET …/pullrequests: `state` is repeatable and defaults to OPEN (api-group-pullrequests: "By
   * default only open pull requests are returned … repeat the `state` parameter"). Drafts count as
   * OPEN (earlier claim citing BCLOUD-23659; unsourced here). A `q` naming `state` lifts the
   * default: not documented; assumed from MunifTanjim/node-bitbucket#16. `q` is BBQL; one that does
   * not parse is a 400 (status reported in gfargo/coco#1709; the message is not documented;
   * assumed). Pages of at most 50: a larger `pagelen` is refused, not clamped, with 400
   * {"type": "error", "error": {"message": "Invalid pagelen"}} (real answer quoted in
   * jenkinsci/bitbucket-branch-source-plugin#1182; BitbucketPHP/Client#37).
   */
  private listPulls(repo: StoredRepo, params: URLSearchParams): Result {
    const states = params.getAll('state');
    const q = params.get('q');
    let filter: (item: Json) => boolean;
    try {
      filter = q ? compileBbql(q) : () => true;
    } catch (error) {
      return [400, errorBody(`Invalid query: ${(error as Error).message}`)];
    }
    const wanted = states.length > 0 ? states : q && /\bstate\b/.test(q) ? undefined : ['OPEN'];
    const pulls = this.pullsOf(repo)
      .filter((pull) => !wanted || wanted.includes(pull.state))
      .map((pull) => this.pullJson(pull))
      .filter(filter)
      .reverse();
    return this.page(pulls, params, 50, `/repositories/${repo.workspace}/${repo.slug}/pullrequests`);
  }

  /**
   * POST …/pullrequests. api-group-pullrequests: "The minimum required fields to create a pull
   * request are title and source, specified by a branch name", and "If the pull request's
   * destination is not specified, it will default to the repository.mainbranch". The refusal's
   * body, 400 {"type": "error", "error": {"fields": {"title": ["This field is required."]},
   * "message": "title: This field is required."}}, is the one Bitbucket gives a PUT without a title
   * (renovatebot/renovate#3509); that POST answers alike, and a missing `source` likewise, is
   * assumed. A blank title counts as missing: not documented; assumed.
   */
  private async createPull(repo: StoredRepo, body: Json, token: Token): Promise<Result> {
    if (typeof body.title !== 'string' || !body.title.trim())
      return [
        400,
        errorBody('title: This field is required.', { fields: { title: ['This field is required.'] } }),
      ];
    const source = branchName(body.source);
    if (!source)
      return [
        400,
        errorBody('source: This field is required.', { fields: { source: ['This field is required.'] } }),
      ];
    const destination = branchName(body.destination) ?? repo.mainBranch;
    const [sourceSha, destinationSha] = await Promise.all([
      branchSha(repo, source),
      branchSha(repo, destination),
    ]);
    // An unpushed source branch: 400 "source: branch not found: <name>" (TeamCodeStream/codestream#391
    // quotes "Bad Request: source: branch not found: …"); the `fields` beside it are assumed from
    // the title refusal above, and the destination's counterpart is assumed.
    if (!sourceSha)
      return [
        400,
        errorBody(`source: branch not found: ${source}`, {
          fields: { source: [`branch not found: ${source}`] },
        }),
      ];
    if (!destinationSha)
      return [
        400,
        errorBody(`destination: branch not found: ${destination}`, {
          fields: { destination: [`branch not found: ${destination}`] },
        }),
      ];
    // Nothing to merge: 400 "There are no changes to be pulled" (developerasun/myDocumentBox-tool#20
    // quotes "Bad Request: There are no changes to be pulled"). That the same branch as source and
    // destination gets this very answer is not documented; assumed.
    if (source === destination || sourceSha === destinationSha)
      return [400, errorBody('There are no changes to be pulled')];
    const description = typeof body.description === 'string' ? body.description : '';
    // Creating one again for the same source and destination updates the open one instead of
    // being refused (atlassian-python-api#669, the Bitbucket Cloud create() docstring: "adding
    // this multiple times for the same source branch updates the pull request!"). Not in
    // Atlassian's docs; the 201 status of that answer is assumed.
    const open = this.pullsOf(repo).find(
      (pull) => pull.state === 'OPEN' && pull.source === source && pull.destination === destination,
    );
    if (open) {
      Object.assign(open, { title: body.title, description, updatedOn: this.tick() });
      return [201, this.pullJson(open)];
    }
    const fullName = `${repo.workspace}/${repo.slug}`;
    const at = this.tick();
    const pull: BitbucketPull = {
      repo: fullName,
      id: this.nextPullId(fullName),
      title: body.title,
      description,
      state: 'OPEN',
      draft: body.draft === true,
      source,
      sourceSha,
      destination,
      author: token.account,
      reviewers: reviewerUuids(body.reviewers),
      createdOn: at,
      updatedOn: at,
    };
    this.pulls.push(pull);
    return [201, this.pullJson(pull)];
  }

  /**
   * PUT …/pullrequests/{id}. api-group-pullrequests: "Only open pull requests can be mutated";
   * the 400 and its message are not documented; assumed. A PUT without a title is refused with
   * 400 "title: This field is required." (renovatebot/renovate#3509 quotes the body). Left out,
   * `reviewers` empties and `draft` goes back to false: not documented; assumed from "PUT takes
   * the resource whole" (an earlier claim citing Bitbucket MCP servers; gfargo/coco#1920 calls the
   * same question unverified).
   */
  private updatePull(pull: BitbucketPull, body: Json): Result {
    if (pull.state !== 'OPEN') return [400, errorBody('Only open pull requests can be updated.')];
    if (typeof body.title !== 'string' || !body.title.trim()) return [400, titleRequired];
    pull.title = body.title;
    if (typeof body.description === 'string') pull.description = body.description;
    pull.reviewers = reviewerUuids(body.reviewers);
    pull.draft = body.draft === true;
    pull.updatedOn = this.tick();
    return [200, this.pullJson(pull)];
  }

  /** Pages of up to 100 (the global maximum, rest/intro/#pagination); not documented for this endpoint; assumed. */
  private permissions(token: Token, params: URLSearchParams): Result {
    const values = [...this.repos.values()].map((repo) => ({
      type: 'repository_permission',
      permission: token.permission,
      user: { type: 'user', ...token.account },
      repository: {
        type: 'repository',
        full_name: `${repo.workspace}/${repo.slug}`,
        name: repo.slug,
        uuid: repo.uuid,
      },
    }));
    const q = params.get('q');
    try {
      return this.page(
        values.filter(q ? compileBbql(q) : () => true),
        params,
        50,
        '/user/permissions/repositories',
      );
    } catch (error) {
      return [400, errorBody(`Invalid query: ${(error as Error).message}`)];
    }
  }

  /**
   * A page: `{pagelen, page, size, values, next?}` (rest/intro/#pagination: default `pagelen` 10),
   * `next` a full URL to the following page and absent on the last one ("The lack of a next link
   * in the response indicates the end of the collection", quoted in BCLOUD-22441). A `pagelen`
   * above the endpoint's maximum is refused with 400 "Invalid pagelen" (see listPulls); a
   * `pagelen` or `page` that is not a positive whole number likewise: not documented; assumed.
   */
  private page(items: unknown[], params: URLSearchParams, max: number, path: string): Result {
    const pagelenParam = params.get('pagelen');
    const pageParam = params.get('page');
    const pagelen = pagelenParam === null ? 10 : wholeNumber(pagelenParam);
    if (pagelen === undefined || pagelen > max) return [400, errorBody('Invalid pagelen')];
    const page = pageParam === null ? 1 : wholeNumber(pageParam);
    if (page === undefined) return [400, errorBody('Invalid page')];
    const values = items.slice((page - 1) * pagelen, page * pagelen);
    const result: Json = { pagelen, page, size: items.length, values };
    if (page * pagelen < items.length) {
      const next = new URL(`${this.apiUrl}${path}?${params}`);
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('pagelen', String(pagelen));
      result.next = next.href;
    }
    return [200, result];
  }

  private takeInjected(method: string, path: string): Injected | undefined {
    const found = this.errors.find((error) => error.method === method && error.pattern.test(path));
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) this.errors.splice(this.errors.indexOf(found), 1);
    return found;
  }

  private repoJson(repo: StoredRepo): Json {
    const fullName = `${repo.workspace}/${repo.slug}`;
    return {
      type: 'repository',
      full_name: fullName,
      name: repo.slug,
      slug: repo.slug,
      uuid: repo.uuid,
      is_private: true,
      scm: 'git',
      mainbranch: { type: 'branch', name: repo.mainBranch },
      links: { html: { href: `${this.html}/${fullName}` } },
    };
  }

  private pullJson(pull: BitbucketPull): Json {
    const repository = { type: 'repository', full_name: pull.repo, name: pull.repo.split('/')[1] };
    const api = `${this.apiUrl}/repositories/${pull.repo}/pullrequests/${pull.id}`;
    return {
      type: 'pullrequest',
      id: pull.id,
      title: pull.title,
      description: pull.description,
      summary: { type: 'rendered', raw: pull.description, markup: 'markdown' },
      state: pull.state,
      draft: pull.draft,
      author: { type: 'user', ...pull.author },
      source: { branch: { name: pull.source }, commit: { hash: pull.sourceSha.slice(0, 12) }, repository },
      destination: { branch: { name: pull.destination }, repository },
      reviewers: pull.reviewers,
      participants: [],
      close_source_branch: false,
      comment_count: this.commentsOf(pull).filter((comment) => !comment.deleted).length,
      created_on: pull.createdOn,
      updated_on: pull.updatedOn,
      links: {
        self: { href: api },
        html: { href: `${this.html}/${pull.repo}/pull-requests/${pull.id}` },
        comments: { href: `${api}/comments` },
      },
    };
  }

  private commentJson(repo: StoredRepo, pull: BitbucketPull, comment: StoredComment): Json {
    const fullName = `${repo.workspace}/${repo.slug}`;
    return {
      type: 'pullrequest_comment',
      id: comment.id,
      // A deleted comment keeps its place with its content emptied.
      content: { type: 'rendered', raw: comment.deleted ? '' : comment.body, markup: 'markdown' },
      user: { type: 'user', ...comment.author },
      deleted: comment.deleted ?? false,
      pending: comment.pending ?? false,
      created_on: comment.createdOn,
      updated_on: comment.createdOn,
      ...(comment.inline
        ? {
            inline: {
              path: comment.inline.path,
              from: comment.inline.from ?? null,
              to: comment.inline.to ?? null,
            },
          }
        : {}),
      ...(comment.parent ? { parent: { id: comment.parent } } : {}),
      ...(comment.resolved
        ? {
            resolution: {
              type: 'comment_resolution',
              user: { type: 'user', ...this.bot },
              created_on: comment.createdOn,
            },
          }
        : {}),
      links: { html: { href: `${this.html}/${fullName}/pull-requests/${pull.id}#comment-${comment.id}` } },
    };
  }

  private get html(): string {
    return (this.options.htmlBaseUrl ?? this.origin).replace(/\/+$/, '');
  }

  private pullsOf(repo: StoredRepo): BitbucketPull[] {
    const fullName = `${repo.workspace}/${repo.slug}`.toLowerCase();
    return this.pulls.filter((pull) => pull.repo.toLowerCase() === fullName);
  }

  private commentsOf(pull: BitbucketPull): StoredComment[] {
    return this.comments.filter((comment) => comment.repo === pull.repo && comment.pull === pull.id);
  }

  private nextPullId(repo: string): number {
    const next = (this.counters.get(repo) ?? 0) + 1;
    this.counters.set(repo, next);
    return next;
  }

  private nextId(): number {
    this.ids += 1;
    return this.ids;
  }

  private tick(): string {
    this.clock += 1_000;
    return new Date(this.clock).toISOString().replace('Z', '+00:00');
  }
}

/** A PUT (or POST) without a title (renovatebot/renovate#3509 quotes this body). */
const titleRequired = errorBody('title: This field is required.', {
  fields: { title: ['This field is required.'] },
});

/**
 * What a sunset cross-workspace API answers, with 410 Gone: quoted for GET /2.0/workspaces in
 * aashari/mcp-server-atlassian-bitbucket#230. Not Bitbucket's usual `{"type": "error", …}` shape.
 */
const crossWorkspaceGoneBody = {
  message: 'CHANGE-2770 - Functionality has been deprecated',
  detail: 'Please read the changelog entry for more details.',
  data: { announcement_url: 'https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770' },
};

/** A positive whole number, or undefined. */
function wholeNumber(text: string): number | undefined {
  return /^[1-9]\d*$/.test(text) ? Number(text) : undefined;
}

const noRepository =
  'You may not have access to this repository or it no longer exists in this workspace. If you think this repository exists and you have access, make sure you are authenticated.';

/**
 * The scope a call needs (rest/intro/#scopes, the `security` of each operation in
 * api-group-repositories and api-group-pullrequests): repository to read a repository,
 * pullrequest to read pull requests and comments, pullrequest:write to create or change one.
 */
function requiredScope(method: string, path: string): string | undefined {
  if (!path.startsWith('/repositories/')) return undefined;
  const pulls = /\/pullrequests(\/|$)/.test(path);
  if (!pulls) return method === 'GET' ? 'repository' : 'repository:write';
  return method === 'GET' ? 'pullrequest' : 'pullrequest:write';
}

/**
 * A `:write` scope implies its read scope; `pullrequest` implies `repository`; and
 * `pullrequest:write` "implies repository:write" (rest/intro/#scopes, quoted in gitpod-io/gitpod#12853).
 */
function hasScope(granted: string[], needed: string): boolean {
  const implied = new Set(granted);
  if (implied.has('pullrequest:write')) implied.add('repository:write');
  for (const scope of [...implied]) {
    if (scope.endsWith(':write')) implied.add(scope.slice(0, -':write'.length));
  }
  if (implied.has('pullrequest')) implied.add('repository');
  return implied.has(needed);
}

/**
 * The BBQL the provider sends (developer.atlassian.com/cloud/bitbucket/rest/intro/#filtering):
 * `field = "string" | true | false | number`, joined with AND / OR, with parentheses. Anything
 * else is refused, as Bitbucket refuses a query it cannot parse (400; the message is not
 * documented; assumed). BBQL's other operators (~, >, IN …) are valid on Bitbucket but refused
 * here: the stand-in is stricter than Bitbucket for them.
 */
function compileBbql(query: string): (item: Json) => boolean {
  const tokens = query.match(/"(?:[^"\\]|\\.)*"|\(|\)|!=|=|[\w.:-]+/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const next = () => {
    const token = tokens[at++];
    if (token === undefined) throw new Error('unexpected end of query');
    return token;
  };
  const term = (): ((item: Json) => boolean) => {
    if (peek() === '(') {
      next();
      const inner = or();
      if (next() !== ')') throw new Error('expected )');
      return inner;
    }
    const field = next();
    const operator = next();
    const raw = next();
    if (operator !== '=' && operator !== '!=') throw new Error(`unsupported operator ${operator}`);
    const value: unknown = raw.startsWith('"')
      ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
      : raw === 'true' || raw === 'false'
        ? raw === 'true'
        : /^\d+$/.test(raw)
          ? Number(raw)
          : (() => {
              throw new Error(`bad value ${raw}`);
            })();
    return (item) => (valueAt(item, field) === value) === (operator === '=');
  };
  const and = () => {
    let left = term();
    while (peek()?.toUpperCase() === 'AND') {
      next();
      const right = term();
      const previous = left;
      left = (item) => previous(item) && right(item);
    }
    return left;
  };
  const or = () => {
    let left = and();
    while (peek()?.toUpperCase() === 'OR') {
      next();
      const right = and();
      const previous = left;
      left = (item) => previous(item) || right(item);
    }
    return left;
  };
  const filter = or();
  if (at !== tokens.length) throw new Error(`unexpected ${tokens[at]}`);
  return filter;
}

function valueAt(item: Json, field: string): unknown {
  return field.split('.').reduce<unknown>((value, key) => (value as Json | undefined)?.[key], item);
}

function branchName(end: unknown): string | undefined {
  const name = (end as { branch?: { name?: unknown } } | undefined)?.branch?.name;
  return typeof name === 'string' && name ? name : undefined;
}

function reviewerUuids(reviewers: unknown): Array<{ uuid: string }> {
  if (!Array.isArray(reviewers)) return [];
  return reviewers.flatMap((reviewer) =>
    typeof reviewer?.uuid === 'string' ? [{ uuid: reviewer.uuid }] : [],
  );
}

async function branchSha(repo: StoredRepo, branch: string): Promise<string | undefined> {
  return git(repo.gitDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(
    (sha) => sha || undefined,
    () => undefined,
  );
}

function errorBody(message: string, extra: Json = {}): Json {
  return { type: 'error', error: { message, ...extra } };
}

function uuidFor(seed: string): string {
  let hash = 0x811c9dc5;
  const hex: string[] = [];
  for (let round = 0; round < 4; round += 1) {
    for (const char of `${round}:${seed}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    hex.push(hash.toString(16).padStart(8, '0'));
  }
  const all = hex.join('');
  return `${all.slice(0, 8)}-${all.slice(8, 12)}-${all.slice(12, 16)}-${all.slice(16, 20)}-${all.slice(20, 32)}`;
}

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped}$`);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
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
    // Malformed JSON: the caller answers 400 like Bitbucket.
    return undefined;
  }
}
