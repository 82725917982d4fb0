// Bitbucket Cloud through a thin typed client over Node's fetch, not the `bitbucket` package.
// `bitbucket` (2.12, last release December 2024) is built on node-fetch 2 (whose whatwg-url
// pulls in the `punycode` module Node 22+ warns about), declares no `engines`, and its routes
// and types come from an older API description without the pull request `draft` field that
// drafts need. The eight calls below are the whole contract, each answer checked with zod, each
// error one sentence.
import { z } from 'zod';
import { ProviderError } from '../errors.js';
import { webBaseUrl } from './forge-of.js';
import {
  clip,
  encodePath,
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
  type OpenedPullRequest,
  type PullRequestProvider,
  type PullRequestState,
  pullRequestTerms,
  type ReviewComment,
} from './providers.js';

const defaultApiUrl = 'https://api.bitbucket.org/2.0';
/** Bitbucket pages hold up to 50 pull requests and 100 comments (`pagelen`); `next` links on. */
const maxPages = 20;
/** The access token scopes shipmate's calls need (Repositories: Write, Pull requests: Write). */
const neededScopes = 'repository, repository:write, pullrequest and pullrequest:write';

const accountSchema = z.object({
  uuid: z.string().optional(),
  display_name: z.string().optional(),
  nickname: z.string().optional(),
});
const branchEndSchema = z.object({ branch: z.object({ name: z.string() }) });
const pullSchema = z.object({
  id: z.number(),
  title: z.string(),
  state: z.string(),
  draft: z.boolean().optional(),
  author: accountSchema.nullish(),
  reviewers: z.array(accountSchema).optional(),
  source: branchEndSchema,
  destination: branchEndSchema,
  links: z.object({ html: z.object({ href: z.string() }) }),
});
const commentSchema = z.object({
  id: z.number(),
  content: z.object({ raw: z.string().nullish() }),
  user: accountSchema.nullish(),
  // Inline comments carry the file and the line: `to` on the new side, `from` on the old one.
  inline: z.object({ path: z.string(), from: z.number().nullish(), to: z.number().nullish() }).nullish(),
  deleted: z.boolean().optional(),
  pending: z.boolean().optional(),
  resolution: z.object({ type: z.string().optional() }).nullish(),
  parent: z.object({ id: z.number() }).nullish(),
  created_on: z.string().optional(),
  links: z.object({ html: z.object({ href: z.string() }).optional() }).optional(),
});
const permissionSchema = z.object({ permission: z.string() });
const repositorySchema = z.object({ full_name: z.string() });

type Pull = z.infer<typeof pullSchema>;
type Sentence = { problem: string; fix: string; status: number | undefined };

export class BitbucketProvider implements PullRequestProvider {
  readonly name = 'Bitbucket';
  readonly terms = pullRequestTerms;
  private readonly apiUrl: string;
  private readonly token: string | undefined;
  /** `workspace/repo` as encoded URL segments; undefined when a segment is `.` or `..`. */
  private readonly encodedPath: string | undefined;
  /** Where people browse Bitbucket; a link it sends is shown only when it is on this host. */
  private readonly webBase: string;

  /** How long one request may take (the forge deadline; shorter in tests). */
  private readonly timeoutMs: number;

  constructor(
    private readonly path: string,
    options: { token: string | undefined; apiUrl: string | undefined; timeoutMs?: number },
  ) {
    this.timeoutMs = options.timeoutMs ?? forgeTimeoutMs;
    this.apiUrl = (options.apiUrl || defaultApiUrl).replace(/\/+$/, '');
    this.token = options.token;
    this.encodedPath = encodePath(path);
    this.webBase = webBaseUrl('bitbucket', options.apiUrl || undefined);
  }

  /** The repository's URL segments (every request checks `encodedPath` before it is sent). */
  private get repo(): string {
    return this.encodedPath ?? '';
  }

  async findOpen(head: string): Promise<OpenedPullRequest | undefined> {
    // Filtered with BBQL (developer.atlassian.com/cloud/bitbucket/rest/intro/#filtering); drafts
    // are open pull requests with `draft: true` and the OPEN state includes them (BCLOUD-23659).
    const q = `source.branch.name = ${bbqlString(head)} AND state = "OPEN"`;
    const pulls = await this.all(`/repositories/${this.repo}/pullrequests`, pullSchema, { q, pagelen: '50' });
    const found = pulls[0];
    return found ? { number: found.id, url: this.link(found) } : undefined;
  }

  async open(input: { title: string; body: string; head: string; base: string; draft: boolean }) {
    const pull = await this.send('POST', `/repositories/${this.repo}/pullrequests`, pullSchema, {
      title: input.title,
      description: input.body,
      source: { branch: { name: input.head } },
      destination: { branch: { name: input.base } },
      // Bitbucket Cloud's draft pull requests: the `draft` field of the pull request.
      draft: input.draft,
      close_source_branch: false,
    });
    return { number: pull.id, url: this.link(pull) };
  }

  async update(number: number, input: { title: string; body: string }): Promise<void> {
    // PUT takes the pull request as a whole: send back the reviewers and the draft state people
    // set, or the update would drop them.
    const current = await this.pull(number);
    await this.send('PUT', `/repositories/${this.repo}/pullrequests/${number}`, pullSchema, {
      title: input.title,
      description: input.body,
      reviewers: (current.reviewers ?? []).flatMap((reviewer) =>
        reviewer.uuid ? [{ uuid: reviewer.uuid }] : [],
      ),
      ...(current.draft === undefined ? {} : { draft: current.draft }),
    });
  }

  async addLabels(_number: number, _labels: string[]): Promise<void> {
    // Bitbucket Cloud pull requests have no labels (nor tags): nothing to add. The draft state
    // and the description's "Opened by shipmate" line say it needs a person's review.
  }

  async state(number: number): Promise<PullRequestState> {
    const pull = await this.pull(number);
    // OPEN, MERGED, DECLINED or SUPERSEDED.
    if (pull.state === 'MERGED') return 'merged';
    if (pull.state !== 'OPEN') return 'closed';
    return pull.draft ? 'draft' : 'open';
  }

  async reviewComments(number: number): Promise<ReviewComment[]> {
    const pull = await this.pull(number);
    const me = await this.selfUuid(pull);
    const comments = await this.all(
      `/repositories/${this.repo}/pullrequests/${number}/comments`,
      commentSchema,
      {
        pagelen: '100',
      },
    );
    // Replies belong to their thread: a resolved thread is done, replies included.
    const byId = new Map(comments.map((comment) => [comment.id, comment]));
    const rootOf = (comment: z.infer<typeof commentSchema>) => {
      let current = comment;
      for (let depth = 0; current.parent && depth < 50; depth += 1) {
        const parent = byId.get(current.parent.id);
        if (!parent) break;
        current = parent;
      }
      return current;
    };
    return comments
      .filter(
        (comment) =>
          !comment.deleted && !comment.pending && !comment.resolution && !rootOf(comment).resolution,
      )
      .filter((comment) => comment.user?.uuid !== me && comment.content.raw?.trim())
      .sort((a, b) => (a.created_on ?? '').localeCompare(b.created_on ?? ''))
      .map((comment) => {
        const line = comment.inline?.to ?? comment.inline?.from ?? undefined;
        const url = ownLink(comment.links?.html?.href, this.webBase);
        return {
          author: comment.user?.display_name ?? comment.user?.nickname ?? 'someone',
          body: comment.content.raw ?? '',
          ...(comment.inline ? { path: comment.inline.path } : {}),
          ...(line ? { line } : {}),
          ...(url ? { url } : {}),
        };
      });
  }

  async checkAccess(signal?: AbortSignal): Promise<ForgeAccess> {
    if (!this.token)
      return {
        ok: false,
        status: undefined,
        message: 'BITBUCKET_TOKEN is not set',
        fix: 'set BITBUCKET_TOKEN',
      };
    try {
      // A 401 here is a bad token; access tokens have no user of their own and get a 403.
      await this.get('/user', accountSchema, {}, signal).catch((error: unknown) => {
        if (statusOf(error) !== 403) throw error;
      });
      await this.get(`/repositories/${this.repo}`, repositorySchema, {}, signal);
      return { ok: true, canPush: await this.canPush(signal) };
    } catch (error) {
      const sentence = (error as { fields?: { sentence?: Sentence } }).fields?.sentence;
      if (!sentence) throw error;
      return { ok: false, status: sentence.status, message: sentence.problem, fix: sentence.fix };
    }
  }

  /**
   * The caller's permission on the repository (GET /user/permissions/repositories). Access tokens
   * belong to one repository, project or workspace and are refused this cross-workspace endpoint
   * ("This API is not accessible by this authentication mechanism", Atlassian support KB), and
   * Atlassian retired the endpoint in 2026 (changelog CHANGE-2770: 410 Gone): then the push
   * itself tells.
   */
  private async canPush(signal?: AbortSignal): Promise<boolean | undefined> {
    try {
      const query = { q: `repository.full_name = ${bbqlString(this.path)}` };
      const page = await this.get(
        '/user/permissions/repositories',
        pageSchema(permissionSchema),
        query,
        signal,
      );
      const permission = page.values[0]?.permission;
      return permission === undefined ? undefined : permission === 'write' || permission === 'admin';
    } catch (error) {
      const status = statusOf(error);
      if (status === 403 || status === 410) return undefined;
      throw error;
    }
  }

  private pull(number: number): Promise<Pull> {
    return this.get(`/repositories/${this.repo}/pullrequests/${number}`, pullSchema);
  }

  /** The bot's own account: GET /user, or (a token refused it) the author of the pull request it opened. */
  private async selfUuid(pull: Pull): Promise<string | undefined> {
    try {
      return (await this.get('/user', accountSchema)).uuid;
    } catch (error) {
      if (statusOf(error) !== 403) throw error;
      return pull.author?.uuid;
    }
  }

  /** Every page of a paginated list, following `next` only while it stays on the API's origin. */
  private async all<T>(path: string, item: z.ZodType<T>, query: Record<string, string>): Promise<T[]> {
    const items: T[] = [];
    let url: URL | undefined = this.url(path, query);
    for (let page = 0; url && page < maxPages; page += 1) {
      const batch: { values: T[]; next?: string | undefined } = await this.request(
        'GET',
        url,
        pageSchema(item),
      );
      items.push(...batch.values);
      const next: URL | undefined = batch.next ? new URL(batch.next) : undefined;
      url = next && next.origin === new URL(this.apiUrl).origin ? next : undefined;
    }
    return items;
  }

  private get<T>(
    path: string,
    schema: z.ZodType<T>,
    query: Record<string, string> = {},
    signal?: AbortSignal,
  ) {
    return this.request('GET', this.url(path, query), schema, undefined, signal);
  }

  private send<T>(method: string, path: string, schema: z.ZodType<T>, body: unknown) {
    return this.request(method, this.url(path, {}), schema, body);
  }

  private url(path: string, query: Record<string, string>): URL {
    const url = new URL(`${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return url;
  }

  private async request<T>(
    method: string,
    url: URL,
    schema: z.ZodType<T>,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const where = url.pathname;
    if (this.encodedPath === undefined) throw this.badPath(method, where);
    const answer = await forgeFetch(url, {
      method,
      // Repository, project and workspace access tokens go as a bearer token
      // (support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/).
      authorization: this.token ? `Bearer ${this.token}` : undefined,
      body,
      signal,
      timeoutMs: this.timeoutMs,
    });
    if (answer.kind === 'unreachable')
      throw this.failure(method, where, undefined, '', undefined, answer.error);
    if (answer.kind === 'too-large') {
      const sentence = {
        status: answer.response.status,
        problem: tooLargeSentence('Bitbucket'),
        fix: 'check BITBUCKET_API_URL',
      };
      throw this.error(method, where, answer.response.status, 'answer too large', sentence);
    }
    const { response, text } = answer;
    if (answer.kind === 'refused')
      throw this.failure(method, where, response.status, text, response.headers.get('retry-after'));
    const parsed = schema.safeParse(parseJson(text));
    if (!parsed.success) throw this.failure(method, where, response.status, text, null, parsed.error, true);
    return parsed.data;
  }

  /** One plain sentence for the thread; the token is never in it (nor in the log message). */
  private failure(
    method: string,
    path: string,
    status: number | undefined,
    text: string,
    retryAfter: string | null | undefined,
    cause?: unknown,
    unreadable = false,
  ): ProviderError {
    const error = this.serverError(text);
    const sentence = unreadable
      ? {
          status,
          problem: 'Bitbucket answered in a form shipmate does not understand',
          fix: 'check that BITBUCKET_API_URL points at the API (https://api.bitbucket.org/2.0)',
        }
      : timedOut(cause)
        ? {
            status,
            problem: `Bitbucket did not answer within ${this.timeoutMs / 1000} seconds at ${hostOf(this.apiUrl)}`,
            fix: 'check BITBUCKET_API_URL, or leave it unset for bitbucket.org',
          }
        : this.describe(status, error, retryAfter);
    return this.error(method, path, status, error.message, sentence, cause);
  }

  private error(
    method: string,
    path: string,
    status: number | undefined,
    reason: string,
    sentence: Sentence,
    cause?: unknown,
  ): ProviderError {
    return new ProviderError(
      forgeErrorCode(status),
      `bitbucket ${method} ${path} failed: ${status ?? 'network'} ${clip(reason, 200)}`,
      {
        cause: cause === undefined ? undefined : this.hideError(cause),
        userMessage: `${sentence.problem}; ${sentence.fix}.`,
        fields: { status, forge: 'bitbucket', sentence },
      },
    );
  }

  /** A `bitbucket:` path with a `.` or `..` segment would leave the repository's API: never sent. */
  private badPath(method: string, path: string): ProviderError {
    return this.error(method, path, undefined, 'repository path has a dot segment', {
      status: undefined,
      problem: `The \`bitbucket:\` path ${forgeText(this.path, [])} is not workspace/repository`,
      fix: 'name the repository as workspace/repository in the config',
    });
  }

  private describe(
    status: number | undefined,
    error: ServerError,
    retryAfter: string | null | undefined,
  ): Sentence {
    const repo = this.path;
    // What Bitbucket wrote goes into the thread inert: no link, mention or emphasis renders.
    const shown = forgeText(error.message, [this.token], 200);
    const said = shown ? `: ${shown}` : '';
    switch (true) {
      case status === undefined:
        return {
          status,
          problem: `Bitbucket could not be reached at ${hostOf(this.apiUrl)}`,
          fix: 'check BITBUCKET_API_URL, or leave it unset for bitbucket.org',
        };
      case status === 401:
        return {
          status,
          problem: 'Bitbucket rejected the token (401)',
          fix: 'check BITBUCKET_TOKEN: a repository, project or workspace access token, not expired or revoked',
        };
      // {"error": {"message": "Your credentials lack one or more required privilege scopes.",
      //  "detail": {"granted": [...], "required": [...]}}}
      case status === 403 && (error.required.length > 0 || /privilege scopes/i.test(error.message)):
        return {
          status,
          problem: `Bitbucket refused the request (403): the token lacks ${error.required.length > 0 ? `the scope ${error.required.join(', ')}` : 'a scope'}`,
          fix: `create an access token with the scopes ${neededScopes} and set BITBUCKET_TOKEN`,
        };
      case status === 403 && /protected|restrict|permission to push/i.test(error.message):
        return {
          status,
          problem: `Bitbucket refused it because the branch is restricted (403${said})`,
          fix: `allow the token to write shipmate's branches in ${repo}'s branch restrictions`,
        };
      case status === 403:
        return {
          status,
          problem: `Bitbucket refused the request (403${said})`,
          fix: `give the token write access to ${repo}`,
        };
      case status === 404:
        return {
          status,
          problem: `Bitbucket does not know ${repo} (404), or the token cannot see it`,
          fix: 'check the repo’s `bitbucket:` path (workspace/repository)',
        };
      case status === 400 || status === 409 || status === 422:
        return {
          status,
          problem: `Bitbucket did not accept the request (${status}${said})`,
          fix: 'check that the branch was pushed and differs from the default branch',
        };
      case status === 429:
        return {
          status,
          problem: 'Bitbucket is limiting how often shipmate may call it (429)',
          fix: `try again in ${retryAfter && /^\d+$/.test(retryAfter) ? `${retryAfter} seconds` : 'a few minutes'}`,
        };
      default:
        return { status, problem: `Bitbucket answered HTTP ${status}${said}`, fix: 'try again later' };
    }
  }

  /** Bitbucket's error body: `{"type": "error", "error": {"message", "detail"?, "fields"?}}`. */
  private serverError(text: string): ServerError {
    const parsed = errorSchema.safeParse(parseJson(text));
    if (!parsed.success) return { message: '', required: [] };
    const { message = '', detail, fields } = parsed.data.error;
    const fieldText = Object.entries(fields ?? {})
      .map(([field, problems]) => `${field}: ${[problems].flat().join(', ')}`)
      .join('; ');
    // Only names shaped like a scope, a few of them: the list is Bitbucket's text.
    const required = scopeNames(typeof detail === 'object' && detail ? (detail.required ?? []) : [], [
      this.token,
    ]);
    const combined = fieldText && !message.includes(fieldText) ? `${message} (${fieldText})` : message;
    // Hidden first, cut after (in `describe` and the log line): a token straddling a cut would
    // otherwise survive in part.
    return { message: this.hide(combined), required };
  }

  private hide(text: string): string {
    return redactSecrets(text, [this.token]);
  }

  private hideError(error: unknown): unknown {
    if (!(error instanceof Error) || this.hide(error.message) === error.message) return error;
    return new Error(this.hide(error.message));
  }

  /** Bitbucket's link to a pull request when it is on Bitbucket's web host, else one built here. */
  private link(pull: Pull): string {
    return (
      ownLink(pull.links.html.href, this.webBase) ?? `${this.webBase}/${this.repo}/pull-requests/${pull.id}`
    );
  }
}

interface ServerError {
  message: string;
  required: string[];
}

const errorSchema = z.object({
  error: z.object({
    message: z.string().optional(),
    detail: z.union([z.string(), z.object({ required: z.array(z.string()).optional() })]).optional(),
    fields: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  }),
});

function statusOf(error: unknown): number | undefined {
  return error instanceof ProviderError ? (error.fields.status as number | undefined) : undefined;
}

function pageSchema<T>(item: z.ZodType<T>) {
  return z.object({ values: z.array(item), next: z.string().optional() });
}

/** A BBQL string literal: double quotes, backslash escapes. */
function bbqlString(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    // Not a URL at all: say so rather than echo it.
    return 'the configured address';
  }
}
