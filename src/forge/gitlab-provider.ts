/**
 * GitLab merge requests through a thin typed client over `fetch`, not `@gitbeaker/rest`.
 *
 * Why: `@gitbeaker/rest` 43.8 runs on Node 24 (engines `>=18.20.0`), but
 *  - its requester retries a 429 ten times within about a quarter of a second (`2 ** i * 0.25` ms),
 *    reading neither `Retry-After` nor `RateLimit-Reset`, then throws a `GitbeakerRetryError` with
 *    no status and no headers: the thread could not say when GitLab's limit resets;
 *  - its `GitbeakerRequestError` keeps the `Request` (with the token header) as its `cause`, which
 *    an error log would serialise;
 *  - it is about 2.8 MB unpacked over six packages (core 1.5 MB, qs, xcase, rate-limiter-flexible,
 *    picomatch-browser) for the eight endpoints used here.
 * The client below sets one header, parses every answer with zod, follows `X-Next-Page`, and
 * turns every failure into one sentence that names GitLab and the fix.
 *
 * API reference: https://docs.gitlab.com/api/merge_requests/, /api/discussions/, /api/projects/,
 * /api/personal_access_tokens/, /api/rest/troubleshooting/#status-codes.
 */
import { z } from 'zod';
import { ProviderError } from '../errors.js';
import { webBaseUrl } from './forge-of.js';
import {
  clip,
  forgeFetch,
  forgeText,
  forgeTimeoutMs,
  ownLink,
  parseJson,
  redactSecrets,
  scopeNames,
  timedOut,
  tooLargeSentence,
} from './forge-text.js';
import {
  type ForgeAccess,
  forgeErrorCode,
  mergeRequestTerms,
  type OpenedPullRequest,
  type PullRequestProvider,
  type PullRequestState,
  type ReviewComment,
} from './providers.js';

const defaultApiUrl = 'https://gitlab.com/api/v4';
/** Developer: may push branches and open merge requests (docs.gitlab.com/api/members/#roles). */
const developerAccess = 30;
/** GitLab reads a draft from the title: `Draft:`, `[Draft]` or `(Draft)` at its start (user/project/merge_requests/drafts). */
const draftPrefix = /^\s*(\[draft\]|\(draft\)|draft:)\s*/i;
const maxPages = 50;

const mergeRequestSchema = z.object({
  iid: z.number(),
  web_url: z.string(),
  title: z.string(),
  state: z.string(),
  draft: z.boolean().optional(),
  work_in_progress: z.boolean().optional(),
});
type MergeRequest = z.infer<typeof mergeRequestSchema>;

const userSchema = z.object({ id: z.number(), username: z.string() });

const noteSchema = z.object({
  id: z.number(),
  body: z.string(),
  system: z.boolean(),
  author: userSchema,
  resolvable: z.boolean().optional(),
  resolved: z.boolean().optional(),
  position: z
    .object({
      new_path: z.string().nullish(),
      old_path: z.string().nullish(),
      new_line: z.number().nullish(),
      old_line: z.number().nullish(),
    })
    .nullish(),
});
const discussionSchema = z.object({ id: z.string(), notes: z.array(noteSchema) });

const tokenSchema = z.object({ scopes: z.array(z.string()), active: z.boolean().optional() });
const accessSchema = z.object({ access_level: z.number() }).nullish();
const projectSchema = z.object({
  id: z.number(),
  path_with_namespace: z.string(),
  permissions: z.object({ project_access: accessSchema, group_access: accessSchema }).optional(),
});

type Method = 'GET' | 'POST' | 'PUT';
/** What GitLab said, and what the team should change. */
type Explained = [said: string, fix: string];

export class GitLabProvider implements PullRequestProvider {
  readonly name = 'GitLab';
  readonly terms = mergeRequestTerms;
  private readonly apiUrl: string;
  private readonly project: string;
  /** Where people browse the project; a link GitLab sends is shown only when it is on this host. */
  private readonly webBase: string;

  constructor(
    private readonly projectPath: string,
    private readonly options: { token: string | undefined; apiUrl: string | undefined; timeoutMs?: number },
  ) {
    this.apiUrl = (options.apiUrl ?? defaultApiUrl).replace(/\/+$/, '');
    // A project is addressed by its URL-encoded full path (api/rest/#namespaced-paths).
    this.project = `/projects/${encodeURIComponent(projectPath)}`;
    this.webBase = webBaseUrl('gitlab', options.apiUrl);
  }

  async findOpen(head: string): Promise<OpenedPullRequest | undefined> {
    // `state` defaults to `all` on this endpoint, so ask for `opened` explicitly.
    const query = { state: 'opened', source_branch: head, per_page: '100' };
    const { data } = await this.request(
      'GET',
      `${this.project}/merge_requests`,
      z.array(mergeRequestSchema),
      {
        query,
      },
    );
    const found = data[0];
    return found ? { number: found.iid, url: this.link(found) } : undefined;
  }

  async open(input: { title: string; body: string; head: string; base: string; draft: boolean }) {
    // POST has no `draft` attribute: a draft is a merge request whose title starts with `Draft:`.
    const title = input.draft ? asDraft(input.title) : input.title;
    const body = { title, description: input.body, source_branch: input.head, target_branch: input.base };
    const { data } = await this.request('POST', `${this.project}/merge_requests`, mergeRequestSchema, {
      body,
    });
    return { number: data.iid, url: this.link(data) };
  }

  async update(number: number, input: { title: string; body: string }): Promise<void> {
    // A new title without the prefix would mark a draft ready, so a draft keeps its prefix.
    const current = await this.mergeRequest(number);
    const title = isDraft(current) ? asDraft(input.title) : input.title;
    await this.request('PUT', `${this.project}/merge_requests/${number}`, mergeRequestSchema, {
      body: { title, description: input.body },
    });
  }

  async addLabels(number: number, labels: string[]): Promise<void> {
    if (labels.length === 0) return;
    // `add_labels` keeps the labels already there; `labels` would replace them.
    await this.request('PUT', `${this.project}/merge_requests/${number}`, mergeRequestSchema, {
      body: { add_labels: labels.join(',') },
    });
  }

  async state(number: number): Promise<PullRequestState> {
    const current = await this.mergeRequest(number);
    if (current.state === 'merged') return 'merged';
    if (current.state === 'closed') return 'closed';
    // `locked` is the short moment while GitLab merges: still open.
    return isDraft(current) ? 'draft' : 'open';
  }

  async reviewComments(number: number): Promise<ReviewComment[]> {
    const [{ data: me }, current] = await Promise.all([
      this.request('GET', '/user', userSchema),
      this.mergeRequest(number),
    ]);
    const discussions = await this.allPages(
      `${this.project}/merge_requests/${number}/discussions`,
      discussionSchema,
    );
    return discussions
      .flatMap((discussion) => discussion.notes)
      .filter((note) => !note.system && note.author.id !== me.id && note.resolved !== true)
      .map((note) => {
        const path = note.position?.new_path ?? note.position?.old_path ?? undefined;
        const line = note.position?.new_line ?? note.position?.old_line ?? undefined;
        return {
          author: note.author.username,
          body: note.body,
          ...(path ? { path } : {}),
          ...(line ? { line } : {}),
          url: `${this.link(current).replace(/#.*$/, '')}#note_${note.id}`,
        };
      });
  }

  async checkAccess(signal?: AbortSignal): Promise<ForgeAccess> {
    if (!this.options.token)
      return {
        ok: false,
        status: undefined,
        message: 'GITLAB_TOKEN is not set',
        fix: 'set GITLAB_TOKEN to a token with the `api` scope',
      };
    try {
      const scopes = await this.tokenScopes(signal);
      if (scopes && !scopes.includes('api')) {
        const fix = 'create a token with the `api` scope and set GITLAB_TOKEN to it';
        // Only names shaped like a scope, a few of them: the list is the forge's text.
        const named = scopeNames(scopes, [this.options.token]);
        const has = named.length > 0 ? `the scopes ${named.join(', ')}` : 'other scopes';
        return { ok: false, status: 403, message: `GitLab says the token has ${has} but not api`, fix };
      }
      await this.request('GET', '/user', userSchema, { signal });
      const { data } = await this.request('GET', this.project, projectSchema, { signal });
      const levels = [data.permissions?.project_access, data.permissions?.group_access].map(
        (access) => access?.access_level ?? 0,
      );
      return { ok: true, canPush: data.permissions ? Math.max(...levels) >= developerAccess : undefined };
    } catch (error) {
      if (!(error instanceof ProviderError))
        return { ok: false, status: undefined, message: describe(error), fix: 'try again later' };
      const { status, said, fix } = error.fields as { status?: number; said?: string; fix?: string };
      return { ok: false, status, message: said ?? error.message, fix: fix ?? 'try again later' };
    }
  }

  /** `GET /personal_access_tokens/self` (GitLab 15.5+): undefined when the token is not a personal one. */
  private async tokenScopes(signal?: AbortSignal): Promise<string[] | undefined> {
    try {
      const { data } = await this.request('GET', '/personal_access_tokens/self', tokenSchema, { signal });
      return data.scopes;
    } catch (error) {
      const status = error instanceof ProviderError ? error.fields.status : undefined;
      if (status === 401 || status === 429 || status === undefined) throw error;
      return undefined; // An OAuth token or an older GitLab: the calls below still tell.
    }
  }

  private async mergeRequest(number: number): Promise<MergeRequest> {
    return (await this.request('GET', `${this.project}/merge_requests/${number}`, mergeRequestSchema)).data;
  }

  /** Follows `X-Next-Page` (api/rest/#offset-based-pagination), at most `maxPages` pages. */
  private async allPages<T>(path: string, item: z.ZodType<T>): Promise<T[]> {
    const items: T[] = [];
    let page = '1';
    for (let count = 0; page && count < maxPages; count += 1) {
      const { data, headers } = await this.request('GET', path, z.array(item), {
        query: { per_page: '100', page },
      });
      items.push(...data);
      page = headers.get('x-next-page') ?? '';
    }
    return items;
  }

  private async request<T>(
    method: Method,
    path: string,
    schema: z.ZodType<T>,
    options: { query?: Record<string, string>; body?: unknown; signal?: AbortSignal | undefined } = {},
  ): Promise<{ data: T; headers: Headers }> {
    const url = new URL(`${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const answer = await forgeFetch(url, {
      method,
      authorization: this.options.token ? `Bearer ${this.options.token}` : undefined,
      body: options.body,
      signal: options.signal,
      timeoutMs: this.options.timeoutMs,
    });
    if (answer.kind === 'unreachable') throw this.unreachable(method, path, answer.error);
    if (answer.kind === 'too-large')
      throw this.failure(answer.response, method, path, 'answer too large', undefined, [
        tooLargeSentence('GitLab'),
        'check GITLAB_API_URL',
      ]);
    const { response, text } = answer;
    if (answer.kind === 'refused') throw this.failure(response, method, path, text);
    const parsed = schema.safeParse(parseJson(text));
    if (!parsed.success) throw this.failure(response, method, path, 'unexpected answer shape', parsed.error);
    return { data: parsed.data, headers: response.headers };
  }

  /** No answer at all (refused, reset, the deadline): said as such, the token not in it. */
  private unreachable(method: Method, path: string, error: unknown): ProviderError {
    const said: Explained | undefined = timedOut(error)
      ? [
          `GitLab did not answer within ${(this.options.timeoutMs ?? forgeTimeoutMs) / 1000} seconds at ${new URL(this.apiUrl).host}`,
          'check GITLAB_API_URL and try again in a moment',
        ]
      : undefined;
    return this.failure(undefined, method, path, `network: ${describe(error)}`, error, said);
  }

  private failure(
    response: Response | undefined,
    method: Method,
    path: string,
    text: string,
    cause?: unknown,
    override?: Explained,
  ): ProviderError {
    const status = response?.status;
    // Hidden first, cut after: a token straddling the cut would otherwise survive in part.
    // "403 Forbidden" alone says no more than the status.
    const reason = this.redact(reasonOf(text)).replace(/^\d{3} [A-Za-z ]+$/, '');
    const [said, fix] = override ?? this.explain(status, reason, response?.headers);
    return new ProviderError(
      forgeErrorCode(status),
      `gitlab ${method} ${path} failed: ${status ?? 'network'} ${clip(reason, 300)}`,
      {
        cause: cause instanceof Error ? new Error(this.redact(cause.message)) : undefined,
        userMessage: `${said}; ${fix}.`,
        fields: { status, forge: 'gitlab', said, fix },
      },
    );
  }

  /** What GitLab said and what to change, per status (api/rest/troubleshooting/#status-codes). */
  private explain(status: number | undefined, reason: string, headers: Headers | undefined): Explained {
    const project = this.projectPath;
    // What GitLab wrote goes into the thread inert: no link, mention or emphasis renders.
    const shown = forgeText(reason, [this.options.token], 300);
    const detail = shown ? `: ${shown}` : '';
    if (status === undefined)
      return [
        `GitLab could not be reached at ${new URL(this.apiUrl).host}`,
        'check GITLAB_API_URL and the network',
      ];
    if (status === 401)
      return [
        'GitLab rejected the token (401 Unauthorized)',
        'check GITLAB_TOKEN: it may be wrong, expired or revoked',
      ];
    if (status === 403 && /insufficient_scope/.test(reason))
      return [
        'GitLab refused the request because the token lacks the `api` scope (403 insufficient_scope)',
        'create a token with the `api` scope and set GITLAB_TOKEN to it',
      ];
    if (status === 403 && /protected|not allowed to push/i.test(reason))
      return [
        `GitLab refused because the branch is protected (403${detail})`,
        `let shipmate’s \`shipmate/\` branches through the protection rules of ${project}`,
      ];
    if (status === 403)
      return [
        `GitLab refused the request (403${detail})`,
        `the token’s user needs the Developer role or higher on ${project}`,
      ];
    if (status === 404)
      return [
        `GitLab does not know the project ${project} (404), or the token’s user cannot see it`,
        'check `gitlab:` in the config and the user’s membership',
      ];
    if (status === 409)
      return [
        `GitLab already has an open merge request for this branch (409${detail})`,
        'ask me again and I will update that one',
      ];
    if (status === 429)
      return ['GitLab’s API rate limit was reached (429)', `try again after ${resetTime(headers)}`];
    if (status === 400 || status === 422)
      return [
        `GitLab did not accept the merge request (${status}${detail})`,
        'the branch may be missing or the title empty',
      ];
    return [`GitLab answered HTTP ${status}`, 'try again in a moment'];
  }

  private redact(text: string): string {
    return redactSecrets(text, [this.options.token]);
  }

  /** GitLab's link to the merge request when it is on GitLab's web host, else one built here. */
  private link(mergeRequest: MergeRequest): string {
    return (
      ownLink(mergeRequest.web_url, this.webBase) ??
      `${this.webBase}/${this.projectPath.split('/').map(encodeURIComponent).join('/')}/-/merge_requests/${mergeRequest.iid}`
    );
  }
}

function isDraft(mergeRequest: MergeRequest): boolean {
  return mergeRequest.draft ?? mergeRequest.work_in_progress ?? draftPrefix.test(mergeRequest.title);
}

function asDraft(title: string): string {
  return draftPrefix.test(title) ? title : `Draft: ${title}`;
}

/** GitLab's error bodies: `{"message": "…"}`, `{"message": [...]}`, `{"message": {field: [...]}}`, `{"error": "…"}`, or plain text. */
function reasonOf(text: string): string {
  const json = parseJson(text);
  // Not cut here: the caller hides the token first, then cuts.
  if (json === undefined) return text.trim();
  const body = json as { message?: unknown; error?: unknown; error_description?: unknown };
  const parts = [body.error, body.error_description, flatten(body.message)].filter(
    (part): part is string => typeof part === 'string' && part.length > 0,
  );
  return parts.join(': ');
}

function flatten(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  if (message && typeof message === 'object')
    return Object.entries(message)
      .map(([field, value]) => `${field} ${Array.isArray(value) ? value.join(', ') : String(value)}`)
      .join('; ');
  return undefined;
}

/** When the limit resets: `RateLimit-Reset` (Unix seconds), else `Retry-After` (seconds), as UTC time. */
function resetTime(headers: Headers | undefined): string {
  const reset = Number(headers?.get('ratelimit-reset'));
  const retryAfter = Number(headers?.get('retry-after'));
  const at =
    Number.isFinite(reset) && reset > 0
      ? reset * 1000
      : Number.isFinite(retryAfter) && retryAfter > 0
        ? Date.now() + retryAfter * 1000
        : undefined;
  if (at === undefined) return 'a minute';
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return cause ?? (error instanceof Error ? error.message : String(error));
}
