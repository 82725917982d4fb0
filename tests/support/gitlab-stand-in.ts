import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { devNull } from 'node:os';
import { promisify } from 'node:util';

/**
 * A GitLab REST v4 stand-in serving exactly what `GitLabProvider` calls: the token's own
 * record, the current user, a project, its merge requests (list, create, get, update) and an
 * MR's discussions. Shapes, status codes and error bodies follow GitLab's docs and source
 * (cited beside each behaviour); branches are checked in a real git repository, so a merge
 * request for a branch nobody pushed is refused as GitLab refuses it.
 *
 * Docs: https://docs.gitlab.com/api/merge_requests/ · https://docs.gitlab.com/api/discussions/ ·
 * https://docs.gitlab.com/api/projects/#get-a-single-project · https://docs.gitlab.com/api/personal_access_tokens/ ·
 * https://docs.gitlab.com/api/rest/troubleshooting/#status-codes · https://docs.gitlab.com/security/tokens/access_token_scopes/
 */

const execFileAsync = promisify(execFile);

export interface GitLabStandInOptions {
  /** The bot's token (scopes `api`); more with `addToken`. */
  token?: string;
  port?: number;
  /** Base of `web_url`s; default `https://gitlab.example`. */
  webBaseUrl?: string;
  /** The username that owns the default token (the bot). */
  username?: string;
  now?: () => Date;
}

export interface ProjectOptions {
  /** A git repository (bare or not) whose branches are the project's branches. */
  repoDir: string;
  defaultBranch?: string;
  /** The token user's role: 10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner. */
  accessLevel?: number;
}

export type MergeRequestState = 'opened' | 'closed' | 'merged' | 'locked';

export interface StoredMergeRequest {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string | null;
  state: MergeRequestState;
  sourceBranch: string;
  targetBranch: string;
  labels: string[];
  authorId: number;
  sha: string;
  createdAt: string;
  updatedAt: string;
  mergedAt: string | null;
  closedAt: string | null;
}

export interface NotePosition {
  newPath?: string;
  oldPath?: string;
  newLine?: number | null;
  oldLine?: number | null;
}

export interface SeedNote {
  /** The author's username; a user is made for a name not seen before. */
  author: string;
  body: string;
  system?: boolean;
  /** A thread that can be resolved (default true; `false` for a plain comment). */
  resolvable?: boolean;
  resolved?: boolean;
  /** An inline (diff) note's place. */
  position?: NotePosition;
  /** Reply in this discussion instead of starting a new one. */
  discussionId?: string;
}

export interface StoredNote {
  id: number;
  discussionId: string;
  mergeRequest: StoredMergeRequest;
  authorId: number;
  body: string;
  system: boolean;
  resolvable: boolean;
  resolved: boolean;
  position: NotePosition | undefined;
  createdAt: string;
}

export interface RecordedGitLabRequest {
  method: string;
  /** The path below `/api/v4`, as sent (a project path stays URL-encoded). */
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingHttpHeaders;
}

interface StoredToken {
  id: number;
  userId: number;
  scopes: string[];
  name: string;
}

interface StoredUser {
  id: number;
  username: string;
}

interface StoredProject {
  id: number;
  path: string;
  repoDir: string;
  defaultBranch: string;
  accessLevel: number;
  nextIid: number;
}

interface InjectedError {
  method: string;
  pattern: RegExp;
  status: number;
  body: unknown;
  remaining: number;
}

type Json = Record<string, unknown>;
type Reply = [status: number, body: unknown, headers?: Record<string, string>];

/** The attributes of which `PUT /merge_requests/:iid` needs at least one (lib/api/merge_requests.rb). */
const updateAttributes = [
  'assignee_id',
  'assignee_ids',
  'reviewer_ids',
  'description',
  'labels',
  'add_labels',
  'remove_labels',
  'milestone_id',
  'milestone',
  'remove_source_branch',
  'allow_collaboration',
  'allow_maintainer_to_push',
  'squash',
  'target_branch',
  'title',
  'state_event',
  'discussion_locked',
  'merge_after',
];
/** GitLab's draft markers at the start of a title (user/project/merge_requests/drafts). */
const draftPrefix = /^\s*(\[draft\]|\(draft\)|draft:)\s*/i;

export class GitLabStandIn {
  readonly mergeRequests: StoredMergeRequest[] = [];
  readonly notes: StoredNote[] = [];
  readonly requests: RecordedGitLabRequest[] = [];
  private readonly projects: StoredProject[] = [];
  private readonly users: StoredUser[] = [];
  private readonly tokens = new Map<string, StoredToken>();
  private readonly errors: InjectedError[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly options: GitLabStandInOptions = {}) {
    const bot = this.user(options.username ?? 'shipmate-bot');
    this.tokens.set(this.token, { id: 1, userId: bot.id, scopes: ['api'], name: 'shipmate' });
  }

  /** The API base, like `https://gitlab.example.com/api/v4`: what GITLAB_API_URL holds. */
  get apiUrl(): string {
    if (!this.server) throw new Error('GitLabStandIn is not started; call start() first');
    return `http://127.0.0.1:${this.port}/api/v4`;
  }

  get token(): string {
    return this.options.token ?? 'glpat-shipmateStandIn0123456789';
  }

  get botUsername(): string {
    return this.users[0]!.username;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        send(response, 500, { message: `500 Internal Server Error (stand-in: ${String(error)})` });
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

  addProject(path: string, options: ProjectOptions): this {
    if (!/^[\w.-]+(\/[\w.-]+)+$/.test(path)) throw new Error(`project must be "group/…/name", got "${path}"`);
    this.projects.push({
      id: 100 + this.projects.length,
      path,
      repoDir: options.repoDir,
      defaultBranch: options.defaultBranch ?? 'main',
      accessLevel: options.accessLevel ?? 40,
      nextIid: 1,
    });
    return this;
  }

  /** Another token (for example one with only `read_api`), owned by `username` (default the bot). */
  addToken(token: string, options: { scopes: string[]; username?: string }): this {
    const user = this.user(options.username ?? this.botUsername);
    this.tokens.set(token, {
      id: this.tokens.size + 1,
      userId: user.id,
      scopes: options.scopes,
      name: 'test',
    });
    return this;
  }

  setAccessLevel(path: string, accessLevel: number): void {
    this.project(path).accessLevel = accessLevel;
  }

  /** The merge request `!iid` (of the only project, or of `path`). */
  mergeRequest(iid: number, path?: string): StoredMergeRequest {
    const matches = this.mergeRequests.filter(
      (mr) => mr.iid === iid && (!path || mr.projectId === this.project(path).id),
    );
    if (matches.length !== 1) throw new Error(`expected one merge request !${iid}, found ${matches.length}`);
    return matches[0]!;
  }

  setMergeRequestState(iid: number, state: MergeRequestState, path?: string): void {
    const mr = this.mergeRequest(iid, path);
    const at = this.timestamp();
    mr.state = state;
    mr.mergedAt = state === 'merged' ? at : null;
    mr.closedAt = state === 'closed' ? at : null;
    mr.updatedAt = at;
  }

  /** A note on `!iid`: a new discussion, or a reply in `discussionId`. */
  addNote(iid: number, seed: SeedNote, path?: string): StoredNote {
    const mergeRequest = this.mergeRequest(iid, path);
    const note: StoredNote = {
      id: 5000 + this.notes.length,
      discussionId: seed.discussionId ?? fakeSha(`discussion-${this.notes.length}`),
      mergeRequest,
      authorId: this.user(seed.author).id,
      body: seed.body,
      system: seed.system ?? false,
      // System notes and plain comments cannot be resolved; a diff note always can.
      resolvable: !seed.system && (seed.resolvable ?? true),
      resolved: seed.resolved ?? false,
      position: seed.position,
      createdAt: this.timestamp(),
    };
    this.notes.push(note);
    return note;
  }

  /**
   * The next `times` requests matching `method` and `pathPattern` (below `/api/v4`; `*` or
   * `{name}` is one segment) fail with `status` and GitLab's body for it (or `body`).
   */
  injectError(method: string, pathPattern: string | RegExp, status: number, times = 1, body?: unknown): this {
    const pattern = typeof pathPattern === 'string' ? patternToRegExp(pathPattern) : pathPattern;
    this.errors.push({ method: method.toUpperCase(), pattern, status, body, remaining: times });
    return this;
  }

  /** Forgets merge requests, notes, requests and injected errors; projects, users and tokens stay. */
  reset(): void {
    this.mergeRequests.length = 0;
    this.notes.length = 0;
    this.requests.length = 0;
    this.errors.length = 0;
    for (const project of this.projects) project.nextIid = 1;
  }

  async waitForRequest(
    predicate: (request: RecordedGitLabRequest) => boolean,
    timeoutMs = 5_000,
  ): Promise<RecordedGitLabRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching GitLab request within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const method = request.method ?? 'GET';
    const path = url.pathname.replace(/^\/api\/v4(?=\/)/, '').replace(/\/+$/, '');
    const text = await readBody(request);
    const body = parseJson(text);
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method, path, query, body, headers: request.headers });

    const injected = this.takeInjectedError(method, path);
    if (injected) return sendInjected(response, injected);
    if (text && body === undefined) return send(response, 400, { error: 'body is not valid JSON' });
    const [status, result, headers] = await this.route(request, method, path, query, (body ?? {}) as Json);
    send(response, status, result, headers);
  }

  private async route(
    request: IncomingMessage,
    method: string,
    path: string,
    query: Record<string, string>,
    body: Json,
  ): Promise<Reply> {
    // A token is read from `PRIVATE-TOKEN` or `Authorization: Bearer` (api/rest/authentication).
    const sent = tokenOf(request.headers);
    const token = sent === undefined ? undefined : this.tokens.get(sent);
    // A token GitLab does not know is always 401; no token at all is 401 except for reads of
    // public things, and a private project then answers 404 (api/rest/troubleshooting/#status-codes).
    if (sent !== undefined && !token) return unauthorized();
    const segments = path.split('/').slice(1).map(decodeURIComponent);
    if (method === 'GET' && path === '/personal_access_tokens/self') {
      // Any scope may read its own token (api/personal_access_tokens/#get-single-personal-access-token).
      return token ? [200, this.tokenJson(token)] : unauthorized();
    }
    if (!token) return method === 'GET' && segments[0] === 'projects' ? projectNotFound() : unauthorized();
    const scopeRefusal = this.scopeRefusal(token, method, path);
    if (scopeRefusal) return scopeRefusal;
    if (method === 'GET' && path === '/user') return [200, this.userJson(this.userById(token.userId))];
    if (segments[0] !== 'projects' || !segments[1]) return routeNotFound();
    const project = this.findProject(segments[1]);
    if (!project) return projectNotFound();
    return this.routeProject(method, project, segments.slice(2), query, body, token);
  }

  private async routeProject(
    method: string,
    project: StoredProject,
    rest: string[],
    query: Record<string, string>,
    body: Json,
    token: StoredToken,
  ): Promise<Reply> {
    if (rest.length === 0 && method === 'GET') return [200, this.projectJson(project)];
    if (rest[0] !== 'merge_requests') return routeNotFound();
    if (rest.length === 1 && method === 'GET') return this.listMergeRequests(project, query);
    if (rest.length === 1 && method === 'POST') return this.createMergeRequest(project, body, token);
    const mr = this.mergeRequests.find(
      (candidate) => candidate.projectId === project.id && String(candidate.iid) === rest[1],
    );
    if (!mr) return [404, { message: '404 Not found' }];
    if (rest.length === 2 && method === 'GET') return [200, this.mergeRequestJson(mr)];
    if (rest.length === 2 && method === 'PUT') return this.updateMergeRequest(project, mr, body);
    if (rest.length === 3 && rest[2] === 'discussions' && method === 'GET')
      return this.listDiscussions(mr, query);
    return routeNotFound();
  }

  /** GET /projects/:id/merge_requests — `state` defaults to `all` (api/merge_requests/#list-project-merge-requests). */
  private listMergeRequests(project: StoredProject, query: Record<string, string>): Reply {
    const state = query.state ?? 'all';
    const matching = this.mergeRequests
      .filter((mr) => mr.projectId === project.id)
      .filter((mr) => state === 'all' || mr.state === state)
      .filter((mr) => !query.source_branch || mr.sourceBranch === query.source_branch)
      .filter((mr) => !query.target_branch || mr.targetBranch === query.target_branch)
      .sort((a, b) => b.iid - a.iid);
    return paginate(
      matching.map((mr) => this.mergeRequestJson(mr)),
      query,
    );
  }

  /** POST /projects/:id/merge_requests (api/merge_requests/#create-mr), refusing what GitLab refuses. */
  private async createMergeRequest(project: StoredProject, body: Json, token: StoredToken): Promise<Reply> {
    // Grape checks required attributes first: 400 `{"error":"title is missing"}`.
    const missing = ['title', 'source_branch', 'target_branch'].filter(
      (field) => typeof body[field] !== 'string',
    );
    if (missing.length > 0) return [400, { error: missing.map((field) => `${field} is missing`).join(', ') }];
    // Creating a merge request needs the Developer role (user/permissions).
    if (project.accessLevel < 30) return [403, { message: '403 Forbidden' }];
    const title = String(body.title);
    const source = String(body.source_branch);
    const target = String(body.target_branch);
    // MergeRequest#validate_branches: the same branch on both sides is 422 (`branch_conflict`).
    if (source === target)
      return [422, { message: ["You can't use same project/branch for source and target"] }];
    // Model validations are 400 with a field hash (render_validation_error!), e.g.
    // `{"message":{"source_branch":["does not exist"]}}` for a branch nobody pushed.
    const invalid: Record<string, string[]> = {};
    if (!title.trim()) invalid.title = ["can't be blank"];
    const sha = await branchSha(project.repoDir, source);
    if (!sha) invalid.source_branch = ['does not exist'];
    if (!(await branchSha(project.repoDir, target))) invalid.target_branch = ['does not exist'];
    if (Object.keys(invalid).length > 0) return [400, { message: invalid }];
    // An open MR for the same source and target is 409 (`validate_branches`, conflict!).
    const similar = this.mergeRequests.find(
      (mr) =>
        mr.projectId === project.id &&
        mr.state === 'opened' &&
        mr.sourceBranch === source &&
        mr.targetBranch === target,
    );
    if (similar)
      return [
        409,
        { message: [`Another open merge request already exists for this source branch: !${similar.iid}`] },
      ];
    const at = this.timestamp();
    const mr: StoredMergeRequest = {
      id: 9000 + this.mergeRequests.length,
      iid: project.nextIid++,
      projectId: project.id,
      title,
      description: typeof body.description === 'string' ? body.description : null,
      state: 'opened',
      sourceBranch: source,
      targetBranch: target,
      labels: labelList(body.labels),
      authorId: token.userId,
      sha: sha ?? '',
      createdAt: at,
      updatedAt: at,
      mergedAt: null,
      closedAt: null,
    };
    this.mergeRequests.push(mr);
    return [201, this.mergeRequestJson(mr)];
  }

  /** PUT /projects/:id/merge_requests/:iid (api/merge_requests/#update-mr). */
  private async updateMergeRequest(
    project: StoredProject,
    mr: StoredMergeRequest,
    body: Json,
  ): Promise<Reply> {
    if (!updateAttributes.some((name) => body[name] !== undefined))
      return [
        400,
        { error: `${updateAttributes.join(', ')} are missing, at least one parameter must be provided` },
      ];
    if (project.accessLevel < 30) return [403, { message: '403 Forbidden' }];
    if (typeof body.title === 'string' && !body.title.trim())
      return [400, { message: { title: ["can't be blank"] } }];
    if (typeof body.title === 'string') mr.title = body.title;
    if (typeof body.description === 'string') mr.description = body.description;
    // `labels` replaces; `add_labels` and `remove_labels` change; all comma-separated.
    if (body.labels !== undefined) mr.labels = labelList(body.labels);
    for (const label of labelList(body.add_labels)) if (!mr.labels.includes(label)) mr.labels.push(label);
    const removed = labelList(body.remove_labels);
    mr.labels = mr.labels.filter((label) => !removed.includes(label));
    if (body.state_event === 'close' && mr.state === 'opened')
      this.setMergeRequestState(mr.iid, 'closed', project.path);
    if (body.state_event === 'reopen' && mr.state === 'closed')
      this.setMergeRequestState(mr.iid, 'opened', project.path);
    mr.updatedAt = this.timestamp();
    return [200, this.mergeRequestJson(mr)];
  }

  /** GET …/merge_requests/:iid/discussions, oldest first, paginated (api/discussions/#list-project-merge-request-discussion-items). */
  private listDiscussions(mr: StoredMergeRequest, query: Record<string, string>): Reply {
    const ids = [
      ...new Set(this.notes.filter((note) => note.mergeRequest === mr).map((note) => note.discussionId)),
    ];
    const discussions = ids.map((id) => {
      const notes = this.notes.filter((note) => note.discussionId === id);
      return {
        id,
        individual_note: notes.length === 1 && !notes[0]!.resolvable,
        notes: notes.map((note) => this.noteJson(note)),
      };
    });
    return paginate(discussions, query);
  }

  /**
   * Scopes (security/tokens/access_token_scopes): `api` may do everything, `read_api` only
   * reads, `read_user` only reads `/user`; anything else is 403 `insufficient_scope`.
   */
  private scopeRefusal(token: StoredToken, method: string, path: string): Reply | undefined {
    if (token.scopes.includes('api')) return undefined;
    if (method === 'GET' && token.scopes.includes('read_api')) return undefined;
    if (method === 'GET' && path === '/user' && token.scopes.includes('read_user')) return undefined;
    const needed = method === 'GET' ? 'api read_api' : 'api';
    const description = 'The request requires higher privileges than provided by the access token.';
    return [
      403,
      { error: 'insufficient_scope', error_description: description, scope: needed },
      {
        'www-authenticate': `Bearer realm="", error="insufficient_scope", error_description="${description}", scope="${needed}"`,
      },
    ];
  }

  private mergeRequestJson(mr: StoredMergeRequest): Json {
    const project = this.projects.find((candidate) => candidate.id === mr.projectId)!;
    const draft = draftPrefix.test(mr.title);
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: mr.projectId,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      created_at: mr.createdAt,
      updated_at: mr.updatedAt,
      merged_at: mr.mergedAt,
      closed_at: mr.closedAt,
      target_branch: mr.targetBranch,
      source_branch: mr.sourceBranch,
      source_project_id: mr.projectId,
      target_project_id: mr.projectId,
      author: this.userJson(this.userById(mr.authorId)),
      labels: mr.labels,
      // `draft` is read from the title; `work_in_progress` is its deprecated twin.
      draft,
      work_in_progress: draft,
      merge_status: 'can_be_merged',
      detailed_merge_status: draft ? 'draft_status' : 'mergeable',
      sha: mr.sha,
      user_notes_count: this.notes.filter((note) => note.mergeRequest === mr && !note.system).length,
      web_url: `${this.webUrl(project)}/-/merge_requests/${mr.iid}`,
      references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${project.path}!${mr.iid}` },
    };
  }

  private noteJson(note: StoredNote): Json {
    const position = note.position && {
      base_sha: fakeSha('base'),
      start_sha: fakeSha('start'),
      head_sha: note.mergeRequest.sha,
      old_path: note.position.oldPath ?? note.position.newPath,
      new_path: note.position.newPath ?? note.position.oldPath,
      position_type: 'text',
      old_line: note.position.oldLine ?? null,
      new_line: note.position.newLine ?? null,
    };
    return {
      id: note.id,
      // `DiffNote` for inline notes, `DiscussionNote` in a thread, null for a plain comment.
      type: position ? 'DiffNote' : note.resolvable ? 'DiscussionNote' : null,
      body: note.body,
      attachment: null,
      author: this.userJson(this.userById(note.authorId)),
      created_at: note.createdAt,
      updated_at: note.createdAt,
      system: note.system,
      noteable_id: note.mergeRequest.id,
      noteable_type: 'MergeRequest',
      noteable_iid: note.mergeRequest.iid,
      project_id: note.mergeRequest.projectId,
      resolvable: note.resolvable,
      ...(note.resolvable ? { resolved: note.resolved, resolved_by: null } : {}),
      confidential: false,
      internal: false,
      ...(position ? { position } : {}),
    };
  }

  private projectJson(project: StoredProject): Json {
    const name = project.path.split('/').at(-1)!;
    return {
      id: project.id,
      name,
      path: name,
      path_with_namespace: project.path,
      default_branch: project.defaultBranch,
      visibility: 'private',
      web_url: this.webUrl(project),
      http_url_to_repo: `${this.webUrl(project)}.git`,
      merge_requests_enabled: true,
      // The caller's role (api/projects/#get-a-single-project): 30 Developer may push branches.
      permissions: {
        project_access: { access_level: project.accessLevel, notification_level: 3 },
        group_access: null,
      },
    };
  }

  private tokenJson(token: StoredToken): Json {
    return {
      id: token.id,
      name: token.name,
      revoked: false,
      created_at: this.timestamp(),
      description: '',
      scopes: token.scopes,
      user_id: token.userId,
      last_used_at: this.timestamp(),
      active: true,
      expires_at: '2099-01-01',
    };
  }

  private userJson(user: StoredUser): Json {
    const web = this.options.webBaseUrl ?? 'https://gitlab.example';
    return {
      id: user.id,
      username: user.username,
      name: user.username,
      state: 'active',
      web_url: `${web}/${user.username}`,
    };
  }

  private user(username: string): StoredUser {
    const existing = this.users.find((user) => user.username === username);
    if (existing) return existing;
    const user = { id: this.users.length + 1, username };
    this.users.push(user);
    return user;
  }

  private userById(id: number): StoredUser {
    return this.users.find((user) => user.id === id)!;
  }

  /** By numeric id or by full path, case-insensitively (api/rest/#namespaced-paths). */
  private findProject(idOrPath: string): StoredProject | undefined {
    return this.projects.find(
      (project) => String(project.id) === idOrPath || project.path.toLowerCase() === idOrPath.toLowerCase(),
    );
  }

  private project(path: string): StoredProject {
    const project = this.findProject(path);
    if (!project) throw new Error(`no project ${path}; addProject() first`);
    return project;
  }

  private webUrl(project: StoredProject): string {
    return `${this.options.webBaseUrl ?? 'https://gitlab.example'}/${project.path}`;
  }

  private takeInjectedError(method: string, path: string): InjectedError | undefined {
    const error = this.errors.find(
      (candidate) => candidate.method === method && candidate.pattern.test(path),
    );
    if (!error) return undefined;
    error.remaining -= 1;
    if (error.remaining <= 0) this.errors.splice(this.errors.indexOf(error), 1);
    return error;
  }

  private timestamp(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }
}

/**
 * Offset pagination (api/rest/#offset-based-pagination): `per_page` defaults to 20 and is at most
 * 100; the `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page`, `X-Total`, `X-Total-Pages` headers.
 */
function paginate(items: unknown[], query: Record<string, string>): Reply {
  const perPage = Math.min(100, Math.max(1, Number(query.per_page) || 20));
  const page = Math.max(1, Number(query.page) || 1);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const headers = {
    'x-page': String(page),
    'x-per-page': String(perPage),
    'x-next-page': page < totalPages ? String(page + 1) : '',
    'x-prev-page': page > 1 ? String(page - 1) : '',
    'x-total': String(items.length),
    'x-total-pages': String(totalPages),
  };
  return [200, items.slice((page - 1) * perPage, page * perPage), headers];
}

/** GitLab's own body for each injected status (api/rest/troubleshooting/#status-codes). */
function sendInjected(response: ServerResponse, error: InjectedError): void {
  if (error.status === 429 && error.body === undefined) {
    // Rack::Attack's throttle answer: plain text and the RateLimit-* headers
    // (administration/settings/user_and_ip_rate_limits/#response-headers).
    const reset = Math.floor(Date.now() / 1000) + 60;
    response.writeHead(429, {
      'content-type': 'text/plain',
      'ratelimit-name': 'throttle_authenticated_api',
      'ratelimit-limit': '60',
      'ratelimit-observed': '61',
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(reset),
      'ratelimit-resettime': new Date(reset * 1000).toUTCString(),
      'retry-after': '60',
    });
    response.end('Retry later\n');
    return;
  }
  const bodies: Record<number, unknown> = {
    400: { message: '400 Bad request' },
    401: { message: '401 Unauthorized' },
    403: { message: '403 Forbidden' },
    404: { message: '404 Not found' },
    409: { message: ['Another open merge request already exists for this source branch: !1'] },
    422: { message: '422 Unprocessable Entity' },
  };
  send(
    response,
    error.status,
    error.body ?? bodies[error.status] ?? { message: `${error.status} Server Error` },
  );
}

function unauthorized(): Reply {
  return [401, { message: '401 Unauthorized' }];
}

function projectNotFound(): Reply {
  return [404, { message: '404 Project Not Found' }];
}

function routeNotFound(): Reply {
  return [404, { error: '404 Not Found' }];
}

function tokenOf(headers: IncomingHttpHeaders): string | undefined {
  const privateToken = headers['private-token'];
  if (typeof privateToken === 'string' && privateToken) return privateToken;
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Labels arrive comma-separated (or as an array); GitLab trims them and drops empties. */
function labelList(value: unknown): string[] {
  const parts = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : [];
  return parts.map((part) => part.trim()).filter(Boolean);
}

async function branchSha(repoDir: string, branch: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(
      'git',
      ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`],
      {
        cwd: repoDir,
        env: { PATH: process.env.PATH ?? '', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: devNull },
      },
    );
    return stdout.trim() || undefined;
  } catch {
    return undefined; // rev-parse exits 1 when the branch does not exist.
  }
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
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
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
    return undefined; // Malformed JSON: answered 400 above.
  }
}
