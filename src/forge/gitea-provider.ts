// Gitea and Forgejo through a thin typed client over Node's fetch, not `gitea-js`.
// gitea-js (1.23, no runtime dependencies, native fetch) is generated from Gitea's swagger and
// follows Gitea's releases, but: every field of its types is optional, so each answer would
// still need checking (we parse them with zod, as the house does for untrusted JSON); it throws
// the raw Response on errors; it declares no `engines`; it tracks Gitea, not Forgejo; and it is
// about 1 MB for the ten endpoints shipmate calls. The ten calls below are the whole contract,
// each answer checked, each error one sentence.
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

/** Gitea's public instance, when no GITEA_API_URL is set; self-hosted teams always set one. */
const defaultApiUrl = 'https://gitea.com/api/v1';
/** Gitea caps a page at MAX_RESPONSE_ITEMS, 50 by default (docs.gitea.com/development/api-usage). */
const pageSize = 50;
const maxPages = 20;
/**
 * Gitea marks a pull request as work in progress by a title prefix, `WIP:` or `[WIP]` by default,
 * case-insensitive; the first one is the one to add (docs.gitea.com/usage/pull-request,
 * "Work In Progress pull requests", `[repository.pull-request] WORK_IN_PROGRESS_PREFIXES`).
 */
const draftPrefixes = ['WIP:', '[WIP]'];
const labelColor = '#d93f0b';
/** The scopes shipmate's calls need (Gitea 1.20+ scoped tokens; Forgejo the same). */
const neededScopes = 'write:repository, write:issue and read:user';

const userSchema = z.object({ login: z.string(), id: z.number().optional() });
const branchSchema = z.object({
  ref: z.string(),
  repo_id: z.number().optional(),
  repo: z.object({ full_name: z.string() }).nullish(),
});
const pullSchema = z.object({
  number: z.number(),
  html_url: z.string(),
  title: z.string(),
  state: z.string(),
  // Gitea 1.22+ and Forgejo send `draft`; older servers only the title prefix says it.
  draft: z.boolean().optional(),
  merged: z.boolean().nullish(),
  head: branchSchema,
  base: branchSchema,
});
const repoSchema = z.object({
  full_name: z.string(),
  permissions: z.object({ push: z.boolean().optional() }).nullish(),
});
const labelSchema = z.object({ id: z.number(), name: z.string() });
const reviewSchema = z.object({
  id: z.number(),
  body: z.string().nullish(),
  state: z.string(),
  dismissed: z.boolean().nullish(),
  comments_count: z.number().nullish(),
  html_url: z.string().nullish(),
  submitted_at: z.string().nullish(),
  user: userSchema.nullish(),
});
const reviewCommentSchema = z.object({
  body: z.string(),
  path: z.string().nullish(),
  // The new-side line is `position`, the old-side line `original_position` (go-gitea/gitea
  // services/convert/pull_review.go: LineNum / OldLineNum); `resolver` is set once resolved.
  position: z.number().nullish(),
  original_position: z.number().nullish(),
  html_url: z.string().nullish(),
  created_at: z.string().nullish(),
  resolver: userSchema.nullish(),
  user: userSchema.nullish(),
});
const issueCommentSchema = z.object({
  body: z.string(),
  html_url: z.string().nullish(),
  created_at: z.string().nullish(),
  user: userSchema.nullish(),
});

type Pull = z.infer<typeof pullSchema>;
type Sentence = { problem: string; fix: string; status: number | undefined };

export class GiteaProvider implements PullRequestProvider {
  readonly name = 'Gitea';
  readonly terms = pullRequestTerms;
  private readonly apiUrl: string;
  private readonly token: string | undefined;
  /** `owner/name` as encoded URL segments; undefined when a segment is `.` or `..`. */
  private readonly encodedPath: string | undefined;
  /** Where people browse Gitea; a link it sends is shown only when it is on this host. */
  private readonly webBase: string;
  private login: Promise<string> | undefined;

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
    this.webBase = webBaseUrl('gitea', options.apiUrl || undefined);
  }

  /** The repository's URL segments (every request checks `encodedPath` before it is sent). */
  private get repo(): string {
    return this.encodedPath ?? '';
  }

  async findOpen(head: string): Promise<OpenedPullRequest | undefined> {
    // The list has no head filter on every version (GET /pulls/{base}/{head} needs the base and
    // also returns closed ones), so page through the open ones.
    for (let page = 1; page <= maxPages; page += 1) {
      const pulls = await this.get(`/repos/${this.repo}/pulls`, z.array(pullSchema), {
        state: 'open',
        limit: String(pageSize),
        page: String(page),
      });
      const found = pulls.find((pull) => pull.head.ref === head && sameRepository(pull));
      if (found) return { number: found.number, url: this.link(found) };
      if (pulls.length < pageSize) return undefined;
    }
    return undefined;
  }

  async open(input: { title: string; body: string; head: string; base: string; draft: boolean }) {
    const title =
      input.draft && !draftPrefixOf(input.title) ? `${draftPrefixes[0]} ${input.title}` : input.title;
    const pull = await this.send('POST', `/repos/${this.repo}/pulls`, pullSchema, {
      title,
      body: input.body,
      head: input.head,
      base: input.base,
    });
    return { number: pull.number, url: this.link(pull) };
  }

  async update(number: number, input: { title: string; body: string }): Promise<void> {
    // Keep it a draft while it is one: the title prefix is what makes it so. Once a person
    // removed the prefix (ready for review), a follow-up does not put it back.
    const current = await this.pull(number);
    const prefix = isDraft(current) ? (draftPrefixOf(current.title) ?? draftPrefixes[0]) : undefined;
    const title = prefix && !draftPrefixOf(input.title) ? `${prefix} ${input.title}` : input.title;
    // Gitea answers an edit with 201 Created (swagger: repoEditPullRequest).
    await this.send('PATCH', `/repos/${this.repo}/pulls/${number}`, pullSchema, { title, body: input.body });
  }

  async addLabels(number: number, labels: string[]): Promise<void> {
    if (labels.length === 0) return;
    // Gitea adds labels by id: find each in the repository, create the missing ones.
    const existing = await this.repositoryLabels();
    const ids: number[] = [];
    for (const name of labels) {
      const found = existing.find((label) => label.name === name);
      if (found) {
        ids.push(found.id);
        continue;
      }
      const created = await this.send('POST', `/repos/${this.repo}/labels`, labelSchema, {
        name,
        color: labelColor,
        description: 'Opened by shipmate; a person reviews it before merging.',
      });
      ids.push(created.id);
    }
    await this.send('POST', `/repos/${this.repo}/issues/${number}/labels`, z.array(labelSchema), {
      labels: ids,
    });
  }

  async state(number: number): Promise<PullRequestState> {
    const pull = await this.pull(number);
    if (pull.merged) return 'merged';
    if (pull.state === 'closed') return 'closed';
    return isDraft(pull) ? 'draft' : 'open';
  }

  async reviewComments(number: number): Promise<ReviewComment[]> {
    const me = await this.currentLogin();
    const theirs = (user: { login: string } | null | undefined) => Boolean(user && user.login !== me);
    const found: Array<ReviewComment & { at: string }> = [];
    const reviews = await this.all(`/repos/${this.repo}/pulls/${number}/reviews`, reviewSchema);
    for (const review of reviews) {
      // Pending reviews are unsent drafts; dismissed ones no longer ask for anything.
      if (review.state === 'PENDING' || review.dismissed || !theirs(review.user)) continue;
      const at = review.submitted_at ?? '';
      if (review.body?.trim()) found.push(entry(review.user, review.body, this.own(review.html_url), at));
      if (!review.comments_count) continue;
      const comments = await this.get(
        `/repos/${this.repo}/pulls/${number}/reviews/${review.id}/comments`,
        z.array(reviewCommentSchema),
      );
      for (const comment of comments) {
        if (comment.resolver || !theirs(comment.user)) continue;
        const line = comment.position || comment.original_position || undefined;
        found.push({
          ...entry(comment.user, comment.body, this.own(comment.html_url), comment.created_at ?? at),
          ...(comment.path ? { path: comment.path } : {}),
          ...(line ? { line } : {}),
        });
      }
    }
    const general = await this.all(`/repos/${this.repo}/issues/${number}/comments`, issueCommentSchema);
    for (const comment of general) {
      if (theirs(comment.user) && comment.body.trim())
        found.push(entry(comment.user, comment.body, this.own(comment.html_url), comment.created_at ?? ''));
    }
    return found.sort((a, b) => a.at.localeCompare(b.at)).map(({ at: _at, ...comment }) => comment);
  }

  async checkAccess(signal?: AbortSignal): Promise<ForgeAccess> {
    if (!this.token)
      return { ok: false, status: undefined, message: 'GITEA_TOKEN is not set', fix: 'set GITEA_TOKEN' };
    try {
      await this.get('/user', userSchema, {}, signal);
      const repo = await this.get(`/repos/${this.repo}`, repoSchema, {}, signal);
      return { ok: true, canPush: repo.permissions?.push ?? undefined };
    } catch (error) {
      const sentence = (error as { fields?: { sentence?: Sentence } }).fields?.sentence;
      if (!sentence) throw error;
      return { ok: false, status: sentence.status, message: sentence.problem, fix: sentence.fix };
    }
  }

  private async pull(number: number): Promise<Pull> {
    return this.get(`/repos/${this.repo}/pulls/${number}`, pullSchema);
  }

  private async currentLogin(): Promise<string> {
    this.login ??= this.get('/user', userSchema).then((user) => user.login);
    try {
      return await this.login;
    } catch (error) {
      this.login = undefined;
      throw error;
    }
  }

  private async repositoryLabels(): Promise<Array<z.infer<typeof labelSchema>>> {
    return this.all(`/repos/${this.repo}/labels`, labelSchema);
  }

  /** Every page of a list endpoint (`page`, `limit`; a short page is the last). */
  private async all<T>(path: string, item: z.ZodType<T>): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= maxPages; page += 1) {
      const batch = await this.get(path, z.array(item), { limit: String(pageSize), page: String(page) });
      items.push(...batch);
      if (batch.length < pageSize) break;
    }
    return items;
  }

  private get<T>(
    path: string,
    schema: z.ZodType<T>,
    query: Record<string, string> = {},
    signal?: AbortSignal,
  ) {
    return this.request('GET', path, schema, undefined, query, signal);
  }

  private send<T>(method: string, path: string, schema: z.ZodType<T>, body: unknown) {
    return this.request(method, path, schema, body, {});
  }

  private async request<T>(
    method: string,
    path: string,
    schema: z.ZodType<T>,
    body: unknown,
    query: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.encodedPath === undefined) throw this.badPath(method, path);
    const url = new URL(`${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const answer = await forgeFetch(url, {
      method,
      // "For historical reasons, Gitea needs the word token included before the API key
      // token in an authorization header" (docs.gitea.com/development/api-usage).
      authorization: this.token ? `token ${this.token}` : undefined,
      body,
      signal,
      timeoutMs: this.timeoutMs,
    });
    if (answer.kind === 'unreachable')
      throw this.failure(method, path, undefined, '', undefined, answer.error);
    if (answer.kind === 'too-large') {
      const sentence = {
        status: answer.response.status,
        problem: tooLargeSentence('Gitea'),
        fix: 'check GITEA_API_URL',
      };
      throw this.error(method, path, answer.response.status, 'answer too large', sentence);
    }
    const { response, text } = answer;
    if (answer.kind === 'refused')
      throw this.failure(method, path, response.status, text, response.headers.get('retry-after'));
    const parsed = schema.safeParse(parseJson(text));
    if (!parsed.success) throw this.failure(method, path, response.status, text, null, parsed.error, true);
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
    // Hidden first, cut after: a token straddling the cut would otherwise survive in part.
    const reason = this.hide(serverMessage(text));
    const sentence = unreadable
      ? {
          status,
          problem: 'Gitea answered in a form shipmate does not understand',
          fix: 'check that GITEA_API_URL points at the API, ending in /api/v1',
        }
      : timedOut(cause)
        ? {
            status,
            problem: `Gitea did not answer within ${this.timeoutMs / 1000} seconds at ${hostOf(this.apiUrl)}`,
            fix: 'check GITEA_API_URL and that the server is up',
          }
        : this.describe(status, reason, retryAfter);
    return this.error(method, path, status, reason, sentence, cause);
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
      `gitea ${method} ${path} failed: ${status ?? 'network'} ${clip(reason, 200)}`,
      {
        cause: cause === undefined ? undefined : this.hideError(cause),
        userMessage: `${sentence.problem}; ${sentence.fix}.`,
        fields: { status, forge: 'gitea', sentence },
      },
    );
  }

  /** A `gitea:` path with a `.` or `..` segment would leave the repository's API: never sent. */
  private badPath(method: string, path: string): ProviderError {
    return this.error(method, path, undefined, 'repository path has a dot segment', {
      status: undefined,
      problem: `The \`gitea:\` path ${forgeText(this.path, [])} is not owner/name`,
      fix: 'name the repository as owner/name in the config',
    });
  }

  private describe(
    status: number | undefined,
    reason: string,
    retryAfter: string | null | undefined,
  ): Sentence {
    const repo = this.path;
    // What Gitea wrote goes into the thread inert: no link, mention or emphasis renders.
    const shown = forgeText(reason, [this.token], 200);
    const said = shown ? `: ${shown}` : '';
    switch (true) {
      case status === undefined:
        return {
          status,
          problem: `Gitea could not be reached at ${hostOf(this.apiUrl)}`,
          fix: 'check GITEA_API_URL and that the server is up',
        };
      case status === 401:
        return {
          status,
          problem: 'Gitea rejected the token (401)',
          fix: 'check GITEA_TOKEN: it may be mistyped, expired or revoked',
        };
      // "token does not have at least one of required scope(s): [write:issue]" (Gitea 1.20+).
      case status === 403 && /required scope/i.test(reason):
        return {
          status,
          problem: `Gitea refused the request (403): the token lacks a scope${scopeIn(reason)}`,
          fix: `give GITEA_TOKEN the scopes ${neededScopes}`,
        };
      case status === 403 && /protected/i.test(reason):
        return {
          status,
          problem: `Gitea refused it because the branch is protected (403${said})`,
          fix: `let the token's user push to shipmate's branches in ${repo}'s branch protection rules`,
        };
      case status === 403:
        return {
          status,
          problem: `Gitea refused the request (403${said})`,
          fix: `give the token's user write access to ${repo}`,
        };
      case status === 404:
        return {
          status,
          problem: `Gitea does not know ${repo} (404), or the token cannot see it`,
          fix: 'check the repo’s `gitea:` path and GITEA_API_URL',
        };
      case status === 409:
        return {
          status,
          problem: `Gitea already has a pull request for this branch (409${said})`,
          fix: `find it among ${repo}'s open pull requests`,
        };
      case status === 422:
        return {
          status,
          problem: `Gitea did not accept the request (422${said})`,
          fix: 'check that the branch was pushed and differs from the default branch',
        };
      case status === 429:
        return {
          status,
          problem: 'Gitea is limiting how often shipmate may call it (429)',
          fix: `try again in ${retryAfter && /^\d+$/.test(retryAfter) ? `${retryAfter} seconds` : 'a minute'}`,
        };
      default:
        return { status, problem: `Gitea answered HTTP ${status}${said}`, fix: 'try again later' };
    }
  }

  private hide(text: string): string {
    return redactSecrets(text, [this.token]);
  }

  /** Gitea's link to a pull request when it is on Gitea's web host, else one built here. */
  private link(pull: Pull): string {
    return this.own(pull.html_url) ?? `${this.webBase}/${this.repo}/pulls/${pull.number}`;
  }

  private own(url: string | null | undefined): string | undefined {
    return ownLink(url, this.webBase);
  }

  private hideError(error: unknown): unknown {
    if (!(error instanceof Error) || this.hide(error.message) === error.message) return error;
    return new Error(this.hide(error.message));
  }
}

function entry(
  user: { login: string } | null | undefined,
  body: string,
  url: string | null | undefined,
  at: string,
) {
  return { author: user?.login ?? 'someone', body, ...(url ? { url } : {}), at };
}

function draftPrefixOf(title: string): string | undefined {
  return draftPrefixes.find((prefix) => title.toLowerCase().startsWith(prefix.toLowerCase()));
}

function isDraft(pull: Pull): boolean {
  return pull.draft ?? draftPrefixOf(pull.title) !== undefined;
}

function sameRepository(pull: Pull): boolean {
  if (pull.head.repo_id !== undefined && pull.base.repo_id !== undefined)
    return pull.head.repo_id === pull.base.repo_id;
  return !pull.head.repo || !pull.base.repo || pull.head.repo.full_name === pull.base.repo.full_name;
}

/** Gitea's error body is `{"message": "...", "url": ".../api/swagger"}`. */
function serverMessage(text: string): string {
  const body = parseJson(text) as { message?: unknown } | undefined;
  // Not cut here: the caller hides the token first, then cuts.
  return typeof body?.message === 'string' ? body.message : '';
}

/** The scopes in "…required scope(s): [write:issue]", only names shaped like a scope. */
function scopeIn(reason: string): string {
  const listed = /\[([^\]]+)\]/.exec(reason)?.[1]?.split(/[\s,]+/) ?? [];
  const scopes = scopeNames(listed, []);
  return scopes.length > 0 ? ` (${scopes.join(', ')})` : '';
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    // Not a URL at all: say so rather than echo it.
    return 'the configured address';
  }
}
