import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { BitbucketProvider } from '../../src/forge/bitbucket-provider.js';
import { GiteaProvider } from '../../src/forge/gitea-provider.js';
import { BitbucketStandIn } from '../support/bitbucket-stand-in.js';
import {
  type BareRemote,
  commitFiles,
  createBareRemote,
  createRepo,
  git,
  type TestRepo,
} from '../support/git-fixtures.js';
import { GiteaStandIn } from '../support/gitea-stand-in.js';

const branch = 'shipmate/fix-the-typo-1a2b';
const change = {
  title: 'Fix the typo',
  body: 'Requested in Slack.',
  head: branch,
  base: 'main',
  draft: true,
};

/** A bare repository with `main` and one shipmate branch a commit ahead of it. */
async function backingRepository(): Promise<{ repo: TestRepo; remote: BareRemote }> {
  const repo = await createRepo({ files: { 'README.md': '# shop\n' } });
  await git(repo.dir, ['switch', '--quiet', '-c', branch]);
  await commitFiles(repo.dir, { message: 'Fix the typo', files: { 'README.md': '# Shop\n' } });
  await git(repo.dir, ['switch', '--quiet', 'main']);
  return { repo, remote: await createBareRemote(repo.dir) };
}

/** Runs `work`, expects a ProviderError, and checks that no part of it holds the token. */
async function refusal(work: () => Promise<unknown>, token: string): Promise<ProviderError> {
  const error = await work().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  const provider = error as ProviderError;
  const seen = [
    provider.message,
    provider.userMessage,
    JSON.stringify(provider.fields),
    String(provider.cause),
  ];
  for (const text of seen) expect(text).not.toContain(token);
  return provider;
}

describe('GiteaProvider against the Gitea stand-in', () => {
  const gitea = new GiteaStandIn();
  let backing: Awaited<ReturnType<typeof backingRepository>>;
  let provider: GiteaProvider;
  const limitedToken = 'gitea-limited-token-0000111122223333444455556666';

  beforeAll(async () => {
    backing = await backingRepository();
    await gitea.start();
    gitea.addRepo('acme/shop', { gitDir: backing.remote.dir });
    gitea.addRepo('acme/readonly', { gitDir: backing.remote.dir, canPush: false });
    gitea.addToken(limitedToken, { scopes: ['write:repository', 'read:user'] });
    provider = new GiteaProvider('acme/shop', { token: gitea.token, apiUrl: gitea.apiUrl });
  });
  beforeEach(() => gitea.reset());
  afterAll(async () => {
    await gitea.stop();
    await backing.repo.cleanup();
    await backing.remote.cleanup();
  });

  it('opens a draft pull request with the WIP: prefix and finds it again by its branch', async () => {
    const opened = await provider.open(change);

    expect(opened).toEqual({ number: 1, url: `${gitea.origin}/acme/shop/pulls/1` });
    expect(gitea.pull(1)).toMatchObject({ title: 'WIP: Fix the typo', head: branch, base: 'main' });
    expect(await provider.findOpen(branch)).toEqual(opened);
    expect(await provider.findOpen('shipmate/other')).toBeUndefined();
    expect(await provider.state(1)).toBe('draft');
    expect(gitea.requests.every((request) => request.headers.authorization === `token ${gitea.token}`)).toBe(
      true,
    );
  });

  it('opens a ready pull request without the prefix when drafts are off', async () => {
    await provider.open({ ...change, draft: false });
    expect(gitea.pull(1).title).toBe('Fix the typo');
    expect(await provider.state(1)).toBe('open');
  });

  it('finds the branch’s pull request past the first page of 50', async () => {
    const { number } = (await provider.open(change))!;
    for (let index = 0; index < 60; index += 1)
      gitea.pulls.push({ ...gitea.pull(number), number: 100 + index, head: `feature/${index}` });

    expect(await provider.findOpen(branch)).toEqual({
      number,
      url: `${gitea.origin}/acme/shop/pulls/${number}`,
    });
    expect(
      gitea.requests.filter(
        (request) => request.method === 'GET' && request.path === '/repos/acme/shop/pulls',
      ).length,
    ).toBe(2);
  });

  it('updates title and body and keeps a draft a draft, but not one a person marked ready', async () => {
    await provider.open(change);
    await provider.update(1, { title: 'Fix the typo and the README', body: 'Second round.' });
    expect(gitea.pull(1)).toMatchObject({ title: 'WIP: Fix the typo and the README', body: 'Second round.' });

    gitea.pull(1).title = 'Fix the typo and the README';
    await provider.update(1, { title: 'Fix it all', body: 'Third round.' });
    expect(gitea.pull(1).title).toBe('Fix it all');
    expect(await provider.state(1)).toBe('open');
  });

  it('labels by id: creates needs-human-review once, then reuses it', async () => {
    await provider.open(change);
    await provider.addLabels(1, ['needs-human-review']);
    await provider.addLabels(1, ['needs-human-review']);

    expect(gitea.labels.map((label) => label.name)).toEqual(['needs-human-review']);
    expect(gitea.labelsOf(1)).toEqual(['needs-human-review']);
    const added = gitea.requests.filter((request) => request.path === '/repos/acme/shop/issues/1/labels');
    expect(added.map((request) => request.body)).toEqual([
      { labels: [gitea.labels[0]!.id] },
      { labels: [gitea.labels[0]!.id] },
    ]);
  });

  it('reports merged and closed pull requests', async () => {
    await provider.open(change);
    gitea.setPullState(1, 'merged');
    expect(await provider.state(1)).toBe('merged');
    gitea.setPullState(1, 'closed');
    expect(await provider.state(1)).toBe('closed');
  });

  it('reads open review comments oldest first: reviews, inline comments and the conversation', async () => {
    await provider.open(change);
    gitea.seedComment(1, 'carol', 'Could the heading say "Our shop"?');
    gitea.seedReview({
      pull: 1,
      user: 'alice',
      body: 'Two things.',
      comments: [
        { path: 'README.md', line: 1, body: 'Capitalise the whole title.' },
        { path: 'README.md', line: 3, body: 'This line went away.', oldSide: true },
        { path: 'README.md', line: 2, body: 'Already fixed.', resolvedBy: 'alice' },
      ],
    });
    gitea.seedReview({ pull: 1, user: 'bob', state: 'PENDING', body: 'Not sent yet.' });
    gitea.seedReview({ pull: 1, user: 'dave', body: 'Ignore me.', dismissed: true });
    gitea.seedReview({ pull: 1, user: gitea.login, body: 'My own note.', state: 'COMMENT' });
    gitea.seedComment(1, gitea.login, 'Pushed a follow-up.');

    const comments = await provider.reviewComments(1);

    expect(comments.map(({ author, body, path, line }) => ({ author, body, path, line }))).toEqual([
      { author: 'carol', body: 'Could the heading say "Our shop"?', path: undefined, line: undefined },
      { author: 'alice', body: 'Two things.', path: undefined, line: undefined },
      { author: 'alice', body: 'Capitalise the whole title.', path: 'README.md', line: 1 },
      { author: 'alice', body: 'This line went away.', path: 'README.md', line: 3 },
    ]);
    expect(comments[2]!.url).toMatch(/\/acme\/shop\/pulls\/1\/files#issuecomment-\d+$/);
  });

  it('is refused what Gitea refuses: a missing branch, the same branch twice, no title, a second request', async () => {
    const missing = await refusal(
      () => provider.open({ ...change, head: 'shipmate/not-pushed' }),
      gitea.token,
    );
    expect(missing.userMessage).toBe(
      'Gitea does not know acme/shop (404), or the token cannot see it; check the repo’s `gitea:` path and GITEA_API_URL.',
    );
    const same = await refusal(() => provider.open({ ...change, head: 'main' }), gitea.token);
    expect(same.userMessage).toMatch(
      /^Gitea did not accept the request \(422: Invalid PullRequest: There are no changes/,
    );
    const untitled = await refusal(() => provider.open({ ...change, title: '', draft: false }), gitea.token);
    expect(untitled.userMessage).toMatch(/^Gitea did not accept the request \(422: \[Title\]: Required\)/);
    await provider.open(change);
    const twice = await refusal(() => provider.open(change), gitea.token);
    expect(twice.userMessage).toMatch(
      /^Gitea already has a pull request for this branch \(409: pull request already exists/,
    );
    expect(gitea.pulls).toHaveLength(1);
  });

  it.each([
    [
      'a rejected token',
      'GET',
      401,
      undefined,
      'Gitea rejected the token (401); check GITEA_TOKEN: it may be mistyped, expired or revoked.',
    ],
    [
      'a protected branch',
      'POST',
      403,
      'branch shipmate/x is protected',
      "Gitea refused it because the branch is protected (403: branch shipmate/x is protected); let the token's user push to shipmate's branches in acme/shop's branch protection rules.",
    ],
    [
      'no write access',
      'POST',
      403,
      'user should have right to create pull requests',
      "Gitea refused the request (403: user should have right to create pull requests); give the token's user write access to acme/shop.",
    ],
    [
      'a rate limit',
      'POST',
      429,
      undefined,
      'Gitea is limiting how often shipmate may call it (429); try again in a minute.',
    ],
    [
      'a server error',
      'POST',
      500,
      'database is locked',
      'Gitea answered HTTP 500: database is locked; try again later.',
    ],
  ])(
    'gives one plain sentence for %s, without the token',
    async (_case, method, status, message, sentence) => {
      gitea.injectError(method, '/repos/acme/shop/pulls', status, { ...(message ? { message } : {}) });
      const work = method === 'GET' ? () => provider.findOpen(branch) : () => provider.open(change);
      const error = await refusal(work, gitea.token);
      expect(error.userMessage).toBe(sentence);
      expect(error.fields.status).toBe(status);
    },
  );

  it('names the missing scope and the scopes to grant, and never shows the token', async () => {
    const limited = new GiteaProvider('acme/shop', { token: limitedToken, apiUrl: gitea.apiUrl });
    await limited.open(change);
    const error = await refusal(() => limited.addLabels(1, ['needs-human-review']), limitedToken);
    expect(error.userMessage).toBe(
      'Gitea refused the request (403): the token lacks a scope (read:issue); give GITEA_TOKEN the scopes write:repository, write:issue and read:user.',
    );
  });

  it('says so when the token is wrong, the repository unknown or the server unreachable', async () => {
    const wrong = new GiteaProvider('acme/shop', {
      token: 'not-the-token-at-all-0000',
      apiUrl: gitea.apiUrl,
    });
    expect((await refusal(() => wrong.open(change), 'not-the-token-at-all-0000')).userMessage).toMatch(
      /^Gitea rejected the token \(401\)/,
    );
    const unknown = new GiteaProvider('acme/nowhere', { token: gitea.token, apiUrl: gitea.apiUrl });
    expect((await refusal(() => unknown.state(1), gitea.token)).userMessage).toMatch(
      /^Gitea does not know acme\/nowhere \(404\)/,
    );
    const away = new GiteaProvider('acme/shop', { token: gitea.token, apiUrl: 'http://127.0.0.1:9/api/v1' });
    expect((await refusal(() => away.findOpen(branch), gitea.token)).userMessage).toBe(
      'Gitea could not be reached at 127.0.0.1:9; check GITEA_API_URL and that the server is up.',
    );
  });

  it('checks access: token, repository, push permission', async () => {
    expect(await provider.checkAccess()).toEqual({ ok: true, canPush: true });
    const readonly = new GiteaProvider('acme/readonly', { token: gitea.token, apiUrl: gitea.apiUrl });
    expect(await readonly.checkAccess()).toEqual({ ok: true, canPush: false });
    const wrong = new GiteaProvider('acme/shop', { token: 'wrong-token-1234567890', apiUrl: gitea.apiUrl });
    expect(await wrong.checkAccess()).toEqual({
      ok: false,
      status: 401,
      message: 'Gitea rejected the token (401)',
      fix: 'check GITEA_TOKEN: it may be mistyped, expired or revoked',
    });
    const unknown = new GiteaProvider('acme/nowhere', { token: gitea.token, apiUrl: gitea.apiUrl });
    expect(await unknown.checkAccess()).toMatchObject({ ok: false, status: 404 });
  });
});

describe('BitbucketProvider against the Bitbucket stand-in', () => {
  const bitbucket = new BitbucketStandIn();
  let backing: Awaited<ReturnType<typeof backingRepository>>;
  let provider: BitbucketProvider;
  const readOnlyToken = 'ATCTT3xFfGN0readOnlyPullRequests0123456789';
  const userToken = 'ATCTT3xFfGN0userToken0123456789abcdefghij';
  const readerToken = 'ATCTT3xFfGN0readerToken0123456789abcdefgh';

  beforeAll(async () => {
    backing = await backingRepository();
    await bitbucket.start();
    bitbucket.addRepo('acme/shop', { gitDir: backing.remote.dir });
    bitbucket.addToken(readOnlyToken, { scopes: ['repository', 'repository:write', 'pullrequest'] });
    bitbucket.addToken(userToken, { kind: 'user', permission: 'write' });
    bitbucket.addToken(readerToken, { kind: 'user', permission: 'read' });
    provider = new BitbucketProvider('acme/shop', { token: bitbucket.token, apiUrl: bitbucket.apiUrl });
  });
  beforeEach(() => bitbucket.reset());
  afterAll(async () => {
    await bitbucket.stop();
    await backing.repo.cleanup();
    await backing.remote.cleanup();
  });

  it('opens a draft pull request with the draft field and finds it again with BBQL', async () => {
    const opened = await provider.open(change);

    expect(opened).toEqual({ number: 1, url: `${bitbucket.origin}/acme/shop/pull-requests/1` });
    expect(bitbucket.pull(1)).toMatchObject({
      title: 'Fix the typo',
      draft: true,
      source: branch,
      destination: 'main',
    });
    expect(await provider.findOpen(branch)).toEqual(opened);
    expect(await provider.findOpen('shipmate/other')).toBeUndefined();
    const query = bitbucket.requests.find((request) => request.method === 'GET' && request.query.q)!.query.q;
    expect(query).toBe(`source.branch.name = "${branch}" AND state = "OPEN"`);
    expect(
      bitbucket.requests.every((request) => request.headers.authorization === `Bearer ${bitbucket.token}`),
    ).toBe(true);
  });

  it('updates title and description and resends the reviewers and the draft state', async () => {
    await provider.open(change);
    bitbucket.pull(1).reviewers = [{ uuid: '{reviewer-1}' }];
    await provider.update(1, { title: 'Fix the typo and the README', body: 'Second round.' });

    expect(bitbucket.pull(1)).toMatchObject({
      title: 'Fix the typo and the README',
      description: 'Second round.',
      draft: true,
      reviewers: [{ uuid: '{reviewer-1}' }],
    });
  });

  it('adds no labels, since Bitbucket pull requests have none, and asks nothing for it', async () => {
    await provider.open(change);
    const before = bitbucket.requests.length;
    await provider.addLabels(1, ['needs-human-review']);
    expect(bitbucket.requests.length).toBe(before);
  });

  it.each([
    ['OPEN', false, 'open'],
    ['OPEN', true, 'draft'],
    ['MERGED', false, 'merged'],
    ['DECLINED', false, 'closed'],
    ['SUPERSEDED', false, 'closed'],
  ] as const)('reports %s (draft %s) as %s', async (state, draft, expected) => {
    await provider.open({ ...change, draft });
    bitbucket.setPullState(1, state);
    expect(await provider.state(1)).toBe(expected);
  });

  it('reads open comments over every page, skipping deleted, resolved, pending and its own', async () => {
    await provider.open(change);
    bitbucket.seedComment({ pull: 1, user: 'Alice', body: 'Please also fix the footer.' });
    bitbucket.seedComment({
      pull: 1,
      user: 'Bob',
      body: 'Capitalise this.',
      inline: { path: 'README.md', to: 1 },
    });
    bitbucket.seedComment({
      pull: 1,
      user: 'Bob',
      body: 'Removed line?',
      inline: { path: 'README.md', from: 4 },
    });
    bitbucket.seedComment({ pull: 1, user: 'Carol', body: 'Oops, wrong PR.', deleted: true });
    const resolved = bitbucket.seedComment({ pull: 1, user: 'Dave', body: 'Typo here.', resolved: true });
    bitbucket.seedComment({ pull: 1, user: 'Erin', body: 'Agreed.', parent: resolved });
    bitbucket.seedComment({ pull: 1, user: 'Frank', body: 'Still drafting.', pending: true });
    bitbucket.seedComment({ pull: 1, user: 'bot', body: 'Pushed a follow-up.' });
    for (let index = 0; index < 110; index += 1)
      bitbucket.seedComment({ pull: 1, user: 'Grace', body: `nit ${index}` });

    const comments = await provider.reviewComments(1);

    expect(comments.slice(0, 3)).toEqual([
      { author: 'Alice', body: 'Please also fix the footer.', url: expect.stringMatching(/#comment-\d+$/) },
      { author: 'Bob', body: 'Capitalise this.', path: 'README.md', line: 1, url: expect.any(String) },
      { author: 'Bob', body: 'Removed line?', path: 'README.md', line: 4, url: expect.any(String) },
    ]);
    expect(comments).toHaveLength(113);
    expect(comments.at(-1)!.body).toBe('nit 109');
    const pages = bitbucket.requests.filter(
      (request) => request.path === '/repositories/acme/shop/pullrequests/1/comments',
    );
    expect(pages.map((request) => request.query.page ?? '1')).toEqual(['1', '2']);
  });

  it('is refused what Bitbucket refuses: a missing branch, the same branch, no title', async () => {
    const missing = await refusal(
      () => provider.open({ ...change, head: 'shipmate/not-pushed' }),
      bitbucket.token,
    );
    expect(missing.userMessage).toBe(
      'Bitbucket did not accept the request (400: source: branch not found: shipmate/not-pushed); check that the branch was pushed and differs from the default branch.',
    );
    const same = await refusal(() => provider.open({ ...change, head: 'main' }), bitbucket.token);
    expect(same.userMessage).toMatch(
      /^Bitbucket did not accept the request \(400: There are no changes to be pulled\)/,
    );
    const untitled = await refusal(() => provider.open({ ...change, title: ' ' }), bitbucket.token);
    expect(untitled.userMessage).toMatch(
      /^Bitbucket did not accept the request \(400: title: This field is required\.\)/,
    );
    expect(bitbucket.pulls).toHaveLength(0);
  });

  it('gets the same pull request back when it is opened twice for one branch, as Bitbucket does', async () => {
    const first = await provider.open(change);
    const second = await provider.open({ ...change, title: 'Fix the typo, again' });
    expect(second).toEqual(first);
    expect(bitbucket.pulls).toHaveLength(1);
    expect(bitbucket.pull(1).title).toBe('Fix the typo, again');
  });

  it('names the missing scope and what to grant, without the token', async () => {
    const limited = new BitbucketProvider('acme/shop', { token: readOnlyToken, apiUrl: bitbucket.apiUrl });
    const error = await refusal(() => limited.open(change), readOnlyToken);
    expect(error.userMessage).toBe(
      'Bitbucket refused the request (403): the token lacks the scope pullrequest:write; create an access token with the scopes repository, repository:write, pullrequest and pullrequest:write and set BITBUCKET_TOKEN.',
    );
  });

  it.each([
    [
      'a branch restriction',
      403,
      'You do not have permission to push to this branch, it is restricted',
      /^Bitbucket refused it because the branch is restricted \(403/,
    ],
    [
      'a rate limit',
      429,
      undefined,
      /^Bitbucket is limiting how often shipmate may call it \(429\); try again in a few minutes\.$/,
    ],
    [
      'a server error',
      500,
      'Something went wrong',
      /^Bitbucket answered HTTP 500: Something went wrong; try again later\.$/,
    ],
  ])('gives one plain sentence for %s, without the token', async (_case, status, message, sentence) => {
    bitbucket.injectError('POST', '/repositories/acme/shop/pullrequests', status, {
      ...(message ? { message } : {}),
    });
    const error = await refusal(() => provider.open(change), bitbucket.token);
    expect(error.userMessage).toMatch(sentence);
  });

  it('says so when the token is wrong, the repository unknown or the server unreachable', async () => {
    const wrong = new BitbucketProvider('acme/shop', {
      token: 'ATCTT3xFfGN0wrong',
      apiUrl: bitbucket.apiUrl,
    });
    expect((await refusal(() => wrong.findOpen(branch), 'ATCTT3xFfGN0wrong')).userMessage).toBe(
      'Bitbucket rejected the token (401); check BITBUCKET_TOKEN: a repository, project or workspace access token, not expired or revoked.',
    );
    const unknown = new BitbucketProvider('acme/nowhere', {
      token: bitbucket.token,
      apiUrl: bitbucket.apiUrl,
    });
    expect((await refusal(() => unknown.state(1), bitbucket.token)).userMessage).toBe(
      'Bitbucket does not know acme/nowhere (404), or the token cannot see it; check the repo’s `bitbucket:` path (workspace/repository).',
    );
    const away = new BitbucketProvider('acme/shop', {
      token: bitbucket.token,
      apiUrl: 'http://127.0.0.1:9/2.0',
    });
    expect((await refusal(() => away.findOpen(branch), bitbucket.token)).userMessage).toMatch(
      /^Bitbucket could not be reached at 127\.0\.0\.1:9/,
    );
  });

  it('checks access: an access token, a user who may push, a reader, a wrong token', async () => {
    expect(await provider.checkAccess()).toEqual({ ok: true, canPush: undefined });
    const user = new BitbucketProvider('acme/shop', { token: userToken, apiUrl: bitbucket.apiUrl });
    expect(await user.checkAccess()).toEqual({ ok: true, canPush: true });
    const reader = new BitbucketProvider('acme/shop', { token: readerToken, apiUrl: bitbucket.apiUrl });
    expect(await reader.checkAccess()).toEqual({ ok: true, canPush: false });
    const wrong = new BitbucketProvider('acme/shop', {
      token: 'ATCTT3xFfGN0wrong',
      apiUrl: bitbucket.apiUrl,
    });
    expect(await wrong.checkAccess()).toMatchObject({
      ok: false,
      status: 401,
      fix: expect.stringContaining('BITBUCKET_TOKEN'),
    });
    const unknown = new BitbucketProvider('acme/nowhere', {
      token: bitbucket.token,
      apiUrl: bitbucket.apiUrl,
    });
    expect(await unknown.checkAccess()).toMatchObject({ ok: false, status: 404 });
  });

  it('checks access after Bitbucket retired the cross-workspace permissions API (410 Gone)', async () => {
    bitbucket.crossWorkspaceGone = true;
    try {
      const user = new BitbucketProvider('acme/shop', { token: userToken, apiUrl: bitbucket.apiUrl });
      // Push permission is unknown now (the push itself tells), but the token and repo check out.
      expect(await user.checkAccess()).toEqual({ ok: true, canPush: undefined });
    } finally {
      bitbucket.crossWorkspaceGone = false;
    }
  });
});
