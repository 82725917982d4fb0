import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { GitLabProvider } from '../../src/forge/gitlab-provider.js';
import { createRepo, git, type TestRepo } from '../support/git-fixtures.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const token = 'glpat-unitTestToken0123456789ab';
const readOnlyToken = 'glpat-readOnlyToken0123456789';
const project = 'acme/platform/shop';
const branch = 'shipmate/fix-the-typo-ab12';

describe('GitLabProvider against the GitLab stand-in', () => {
  let gitlab: GitLabStandIn;
  let repo: TestRepo;
  let provider: GitLabProvider;

  beforeAll(async () => {
    repo = await createRepo({ files: { 'README.md': '# shop\n' } });
    for (const name of [branch, 'shipmate/second', 'shipmate/third']) await git(repo.dir, ['branch', name]);
    gitlab = await new GitLabStandIn({ token }).start();
    gitlab.addProject(project, { repoDir: repo.dir, defaultBranch: 'main' });
    gitlab.addProject('acme/reporters-only', { repoDir: repo.dir, accessLevel: 20 });
    gitlab.addToken(readOnlyToken, { scopes: ['read_api'] });
    provider = new GitLabProvider(project, { token, apiUrl: gitlab.apiUrl });
  });

  afterAll(async () => {
    await gitlab.stop();
    await repo.cleanup();
  });

  beforeEach(() => gitlab.reset());

  const openDraft = (head = branch) =>
    provider.open({ title: 'Fix the typo', body: 'Requested in Slack.', head, base: 'main', draft: true });

  it('opens a draft merge request with its description, finds it by branch, and updates it', async () => {
    const opened = await openDraft();
    // The stand-in's web_url names another host than its API: the link is rebuilt on the
    // forge's own web host, never taken from the answer.
    expect(opened).toEqual({
      number: 1,
      url: `${new URL(gitlab.apiUrl).origin}/acme/platform/shop/-/merge_requests/1`,
    });
    const stored = gitlab.mergeRequest(1);
    expect(stored.title).toBe('Draft: Fix the typo');
    expect(stored.description).toBe('Requested in Slack.');
    expect([stored.sourceBranch, stored.targetBranch]).toEqual([branch, 'main']);

    expect(await provider.findOpen(branch)).toEqual(opened);
    expect(await provider.findOpen('shipmate/second')).toBeUndefined();

    await provider.update(1, { title: 'Fix the typo and the README', body: 'Now two fixes.' });
    expect(gitlab.mergeRequest(1).title).toBe('Draft: Fix the typo and the README');
    expect(gitlab.mergeRequest(1).description).toBe('Now two fixes.');
    expect(await provider.state(1)).toBe('draft');

    const post = gitlab.requests.find((request) => request.method === 'POST')!;
    expect(post.path).toBe('/projects/acme%2Fplatform%2Fshop/merge_requests');
    expect(gitlab.requests.every((request) => request.headers.authorization === `Bearer ${token}`)).toBe(
      true,
    );
  });

  it('asks for open merge requests only: a closed one for the branch is not found', async () => {
    await openDraft();
    gitlab.setMergeRequestState(1, 'closed');
    expect(await provider.findOpen(branch)).toBeUndefined();
    const list = gitlab.requests.find(
      (request) => request.method === 'GET' && request.path.endsWith('/merge_requests'),
    );
    expect(list?.query).toMatchObject({ state: 'opened', source_branch: branch });
  });

  it('adds labels without dropping the ones already there', async () => {
    await openDraft();
    await provider.addLabels(1, ['needs-human-review']);
    await provider.addLabels(1, ['shipmate', 'needs-human-review']);
    await provider.addLabels(1, []);
    expect(gitlab.mergeRequest(1).labels).toEqual(['needs-human-review', 'shipmate']);
    expect(gitlab.requests.filter((request) => request.method === 'PUT')).toHaveLength(2);
  });

  it.each([
    ['opened', true, 'draft'],
    ['opened', false, 'open'],
    ['locked', false, 'open'],
    ['merged', true, 'merged'],
    ['closed', false, 'closed'],
  ] as const)('reads GitLab state %s (draft title: %s) as %s', async (state, draft, expected) => {
    await provider.open({ title: 'Fix', body: '', head: branch, base: 'main', draft });
    gitlab.setMergeRequestState(1, state);
    expect(await provider.state(1)).toBe(expected);
  });

  it('a ready merge request stays ready when its title is updated', async () => {
    await provider.open({ title: 'Fix', body: '', head: branch, base: 'main', draft: false });
    await provider.update(1, { title: 'Fix more', body: 'b' });
    expect(gitlab.mergeRequest(1).title).toBe('Fix more');
    expect(await provider.state(1)).toBe('open');
  });

  it('returns open review comments, inline ones with path and line, without resolved, system or own notes', async () => {
    await openDraft();
    const thread = gitlab.addNote(1, { author: 'carol', body: 'Please rename this variable.' });
    gitlab.addNote(1, { author: 'dave', body: 'Agreed.', discussionId: thread.discussionId });
    gitlab.addNote(1, {
      author: 'carol',
      body: 'Off by one here.',
      position: { newPath: 'src/shipping.ts', newLine: 4 },
    });
    gitlab.addNote(1, {
      author: 'carol',
      body: 'Old line gone.',
      position: { oldPath: 'src/old.ts', oldLine: 9 },
    });
    gitlab.addNote(1, { author: 'erin', body: 'Looks good overall.', resolvable: false });
    gitlab.addNote(1, { author: 'carol', body: 'Already fixed.', resolved: true });
    gitlab.addNote(1, { author: 'carol', body: 'added 1 commit', system: true });
    gitlab.addNote(1, { author: gitlab.botUsername, body: 'I pushed a fix.' });

    const comments = await provider.reviewComments(1);
    expect(comments).toEqual([
      {
        author: 'carol',
        body: 'Please rename this variable.',
        url: expect.stringMatching(/\/merge_requests\/1#note_\d+$/),
      },
      { author: 'dave', body: 'Agreed.', url: expect.any(String) },
      {
        author: 'carol',
        body: 'Off by one here.',
        path: 'src/shipping.ts',
        line: 4,
        url: expect.any(String),
      },
      { author: 'carol', body: 'Old line gone.', path: 'src/old.ts', line: 9, url: expect.any(String) },
      { author: 'erin', body: 'Looks good overall.', url: expect.any(String) },
    ]);
  });

  it('reads every page of a long discussion list', async () => {
    await openDraft();
    for (let index = 0; index < 130; index += 1)
      gitlab.addNote(1, { author: 'carol', body: `note ${index}` });
    const comments = await provider.reviewComments(1);
    expect(comments).toHaveLength(130);
    expect(comments.at(-1)?.body).toBe('note 129');
    const pages = gitlab.requests
      .filter((request) => request.path.endsWith('/discussions'))
      .map((request) => request.query.page);
    expect(pages).toEqual(['1', '2']);
  });

  describe('checkAccess', () => {
    it('says the token works and may push with the Maintainer role', async () => {
      expect(await provider.checkAccess()).toEqual({ ok: true, canPush: true });
    });

    it('says a Reporter may not push', async () => {
      const reporter = new GitLabProvider('acme/reporters-only', { token, apiUrl: gitlab.apiUrl });
      expect(await reporter.checkAccess()).toEqual({ ok: true, canPush: false });
    });

    it('names the variable when no token is set', async () => {
      const unset = new GitLabProvider(project, { token: undefined, apiUrl: gitlab.apiUrl });
      expect(await unset.checkAccess()).toMatchObject({
        ok: false,
        fix: expect.stringMatching(/set GITLAB_TOKEN/),
      });
    });

    it('names the missing api scope', async () => {
      const readOnly = new GitLabProvider(project, { token: readOnlyToken, apiUrl: gitlab.apiUrl });
      const access = await readOnly.checkAccess();
      expect(access).toMatchObject({ ok: false, status: 403 });
      expect(access).toMatchObject({ message: expect.stringMatching(/read_api but not api/) });
      expect(access).toMatchObject({ fix: expect.stringMatching(/`api` scope .*GITLAB_TOKEN/) });
      expect(JSON.stringify(access)).not.toContain(readOnlyToken);
    });

    it.each([
      ['a wrong token', 'glpat-wrong', project, 401, /GITLAB_TOKEN/],
      ['an unknown project', token, 'acme/nowhere', 404, /acme\/nowhere/],
    ])('reports %s without throwing', async (_name, tokenValue, path, status, fix) => {
      const access = await new GitLabProvider(path, {
        token: tokenValue,
        apiUrl: gitlab.apiUrl,
      }).checkAccess();
      expect(access).toMatchObject({ ok: false, status });
      expect(JSON.stringify(access)).toMatch(fix);
      expect(JSON.stringify(access)).not.toContain(tokenValue);
    });
  });

  describe('every failure is one plain sentence naming GitLab and the fix, never the token', () => {
    const failure = async (call: () => Promise<unknown>): Promise<ProviderError> => {
      const error = await call().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ProviderError);
      const providerError = error as ProviderError;
      for (const secret of [token, readOnlyToken]) {
        expect(providerError.userMessage).not.toContain(secret);
        expect(providerError.message).not.toContain(secret);
        expect(String((providerError.cause as Error | undefined)?.message)).not.toContain(secret);
      }
      expect(providerError.userMessage).toMatch(/^GitLab[ ’].*\.$/);
      return providerError;
    };

    it('401: a wrong token', async () => {
      const wrong = new GitLabProvider(project, { token: 'glpat-notTheToken', apiUrl: gitlab.apiUrl });
      const error = await failure(() => wrong.findOpen(branch));
      expect(error.userMessage).toMatch(/rejected the token \(401 Unauthorized\); check GITLAB_TOKEN/);
      expect(error.userMessage).not.toContain('glpat-notTheToken');
    });

    it('403: a token without the api scope', async () => {
      const readOnly = new GitLabProvider(project, { token: readOnlyToken, apiUrl: gitlab.apiUrl });
      expect(await readOnly.findOpen(branch)).toBeUndefined();
      const error = await failure(() =>
        readOnly.open({ title: 'x', body: '', head: branch, base: 'main', draft: true }),
      );
      expect(error.userMessage).toMatch(/lacks the `api` scope .*set GITLAB_TOKEN/);
      expect(gitlab.mergeRequests).toHaveLength(0);
    });

    it('403: a role below Developer', async () => {
      const reporter = new GitLabProvider('acme/reporters-only', { token, apiUrl: gitlab.apiUrl });
      const error = await failure(() =>
        reporter.open({ title: 'x', body: '', head: branch, base: 'main', draft: true }),
      );
      expect(error.userMessage).toMatch(/Developer role or higher on acme\/reporters-only/);
    });

    it('403: a protected branch', async () => {
      const body = { message: '403 Forbidden - You are not allowed to push into this branch' };
      gitlab.injectError('PUT', '/projects/{id}/merge_requests/{iid}', 403, 1, body);
      await openDraft();
      const error = await failure(() => provider.update(1, { title: 't', body: 'b' }));
      expect(error.userMessage).toMatch(/protected .*shipmate\//);
    });

    it('404: an unknown project', async () => {
      const missing = new GitLabProvider('acme/nowhere', { token, apiUrl: gitlab.apiUrl });
      const error = await failure(() => missing.findOpen(branch));
      expect(error.userMessage).toMatch(/does not know the project acme\/nowhere \(404\)/);
    });

    it('409: a merge request is already open for the branch', async () => {
      await openDraft();
      const error = await failure(() => openDraft());
      expect(error.userMessage).toMatch(/already has an open merge request .*!1/);
      expect(gitlab.mergeRequests).toHaveLength(1);
    });

    it('429: the rate limit, with the time it resets', async () => {
      gitlab.injectError('GET', '/projects/{id}/merge_requests', 429);
      const resetAt = (extraSeconds: number) =>
        new Date((Math.floor(Date.now() / 1000) + 60 + extraSeconds) * 1000).toISOString().slice(11, 19);
      const expected = [resetAt(0), resetAt(1)];
      const error = await failure(() => provider.findOpen(branch));
      const said = /rate limit was reached \(429\); try again after (\d\d:\d\d:\d\d) UTC/.exec(
        error.userMessage ?? '',
      );
      expect(expected).toContain(said?.[1]);
      expect(error.fields.status).toBe(429);
      // One request: no retry storm against a limit that has not reset.
      expect(gitlab.requests).toHaveLength(1);
    });

    it('400 and 422: what GitLab refuses to open', async () => {
      const missingBranch = await failure(() => openDraft('shipmate/never-pushed'));
      expect(missingBranch.userMessage).toMatch(/did not accept .*source_branch does not exist/);
      const sameBranch = await failure(() =>
        provider.open({ title: 'x', body: '', head: 'main', base: 'main', draft: false }),
      );
      expect(sameBranch.userMessage).toMatch(/422: You can't use same project\/branch/);
      expect(gitlab.mergeRequests).toHaveLength(0);
    });

    it('no answer: an address nothing listens on', async () => {
      const nowhere = new GitLabProvider(project, { token, apiUrl: 'http://127.0.0.1:9/api/v4' });
      const error = await failure(() => nowhere.findOpen(branch));
      expect(error.userMessage).toMatch(/could not be reached at 127\.0\.0\.1:9; check GITLAB_API_URL/);
    });
  });

  describe('the stand-in refuses what GitLab refuses', () => {
    const post = (body: unknown, headers: Record<string, string> = { 'private-token': token }) =>
      fetch(`${gitlab.apiUrl}/projects/${encodeURIComponent(project)}/merge_requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    it.each([
      [{ source_branch: branch, target_branch: 'main' }, 400, { error: 'title is missing' }],
      [
        { title: ' ', source_branch: branch, target_branch: 'main' },
        400,
        { message: { title: ["can't be blank"] } },
      ],
      [
        { title: 't', source_branch: 'main', target_branch: 'main' },
        422,
        { message: ["You can't use same project/branch for source and target"] },
      ],
      [
        { title: 't', source_branch: 'nope', target_branch: 'main' },
        400,
        { message: { source_branch: ['does not exist'] } },
      ],
    ])('refuses %j with %i', async (body, status, answer) => {
      const response = await post(body);
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual(answer);
    });

    it('takes the PRIVATE-TOKEN header and refuses an unknown token', async () => {
      const ok = await post({ title: 't', source_branch: branch, target_branch: 'main' });
      expect(ok.status).toBe(201);
      const wrong = await post(
        { title: 't', source_branch: 'shipmate/second', target_branch: 'main' },
        { 'private-token': 'nope' },
      );
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ message: '401 Unauthorized' });
    });

    it('answers an unencoded project path with 404 like GitLab', async () => {
      const response = await fetch(`${gitlab.apiUrl}/projects/${project}`, {
        headers: { 'private-token': token },
      });
      expect(response.status).toBe(404);
    });
  });
});
