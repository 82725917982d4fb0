import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Octokit } from '@octokit/rest';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  commitFiles,
  createBareRemote,
  createLargeRepo,
  createRepo,
  git,
  gitLog,
  listBranches,
  readBranchFile,
  TEST_AUTHOR,
} from '../support/git-fixtures.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { DEFAULT_REPLY_TEXT, instantModel, ScriptedModel } from '../support/scripted-model.js';

const execFileAsync = promisify(execFile);
/** Octokit logs every failed request; the failures here are on purpose. */
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('ScriptedModel', () => {
  const model = new ScriptedModel({ apiKey: 'sk-test' });
  let client: OpenAI;

  beforeAll(async () => {
    await model.start();
    client = new OpenAI({ apiKey: 'sk-test', baseURL: model.baseUrl, maxRetries: 0 });
  });
  afterEach(() => model.reset());
  afterAll(() => model.stop());

  const ask = (text: string) =>
    client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: text }] });

  it('answers queued replies in order, then the responder, then a default', async () => {
    model.enqueue({ content: 'first' }, { content: 'second' });
    model.respondWith((_request, index) => ({ content: `fallback ${index}` }));

    const replies = [await ask('a'), await ask('b'), await ask('c')];

    expect(replies.map((reply) => reply.choices[0]?.message.content)).toEqual([
      'first',
      'second',
      'fallback 2',
    ]);
    expect(replies[0]).toMatchObject({ object: 'chat.completion', model: 'gpt-test' });
    expect(replies[0]?.choices[0]?.finish_reason).toBe('stop');
    expect(replies[0]?.usage?.total_tokens).toBeGreaterThan(0);
    model.respondWith(undefined);
    expect((await ask('d')).choices[0]?.message.content).toBe(DEFAULT_REPLY_TEXT);
  });

  it('records requests and exposes their tool results and text', async () => {
    await client.chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'be brief' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'shell', arguments: '{"cmd":"ls"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'README.md' },
      ],
    });

    const [request] = await model.waitForRequests(1, 2_000);
    expect(request?.headers.authorization).toBe('Bearer sk-test');
    expect(model.toolResultsIn(model.lastRequest())).toEqual([
      { role: 'tool', tool_call_id: 'call_1', content: 'README.md' },
    ]);
    expect(model.allMessagesText()).toContain('be brief');
    expect(model.allMessagesText()).toContain('"cmd":"ls"');
  });

  it('returns tool calls with arguments as JSON and a usage override', async () => {
    model.enqueue({
      toolCalls: [{ name: 'shell', arguments: { cmd: 'npm test' }, id: 'call_x' }],
      usage: { prompt_tokens: 100, completion_tokens: 7 },
    });

    const reply = await ask('run tests');

    const choice = reply.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.tool_calls).toEqual([
      { id: 'call_x', type: 'function', function: { name: 'shell', arguments: '{"cmd":"npm test"}' } },
    ]);
    expect(reply.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 });
  });

  it('streams content and tool calls in pieces, with a usage chunk when asked', async () => {
    model.enqueue({
      content: 'Let me look at that file.',
      toolCalls: [{ name: 'read_file', arguments: { path: 'src/very/long/path/name.ts' } }],
    });

    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let args = '';
    let contentChunks = 0;
    let argumentChunks = 0;
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (chunk.usage) usage = chunk.usage;
      if (!choice) continue;
      if (choice.delta.content) {
        content += choice.delta.content;
        contentChunks += 1;
      }
      for (const call of choice.delta.tool_calls ?? []) {
        if (call.function?.arguments) {
          args += call.function.arguments;
          argumentChunks += 1;
        }
      }
      finishReason = choice.finish_reason ?? finishReason;
    }

    expect(content).toBe('Let me look at that file.');
    expect(contentChunks).toBeGreaterThan(1);
    expect(JSON.parse(args)).toEqual({ path: 'src/very/long/path/name.ts' });
    expect(argumentChunks).toBeGreaterThan(1);
    expect(finishReason).toBe('tool_calls');
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('assembles a streamed tool call with the SDK stream helper', async () => {
    model.enqueue({
      toolCalls: [{ name: 'edit', arguments: { path: 'a.ts', text: 'x'.repeat(40) }, id: 'call_e' }],
    });

    const runner = client.chat.completions.stream({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'go' }],
    });
    const completion = await runner.finalChatCompletion();

    expect(completion.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_e',
      function: { name: 'edit', arguments: JSON.stringify({ path: 'a.ts', text: 'x'.repeat(40) }) },
    });
  });

  it('lets the client retry after a 429 with retry-after', async () => {
    model.enqueue({ status: 429, retryAfter: 0, message: 'slow down' }, { content: 'after retry' });
    const retrying = new OpenAI({ apiKey: 'sk-test', baseURL: model.baseUrl, maxRetries: 2 });

    const reply = await retrying.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
    });

    expect(reply.choices[0]?.message.content).toBe('after retry');
    expect(model.requests).toHaveLength(2);
  });

  it('fails with OpenAI error shapes for 429, 500 and a wrong key', async () => {
    model.enqueue({ status: 429, retryAfter: 3 }, { status: 500, message: 'boom' });

    const rateLimited = await ask('a').catch((error: unknown) => error);
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rateLimited).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect((rateLimited as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('3');

    const serverError = await ask('b').catch((error: unknown) => error);
    expect(serverError).toBeInstanceOf(OpenAI.InternalServerError);
    expect(serverError).toMatchObject({ status: 500, message: expect.stringContaining('boom') });

    const wrongKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: model.baseUrl, maxRetries: 0 });
    const unauthorized = await wrongKey.models.list().catch((error: unknown) => error);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthorized).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      type: 'invalid_request_error',
    });
  });

  it('lists models', async () => {
    const page = await client.models.list();
    expect(page.data.map((entry) => entry.id)).toEqual(['scripted-model']);
  });

  it('delays replies and hangs until the client times out', async () => {
    model.enqueue({ content: 'slow', delayMs: 50 }, { hang: true });

    const started = Date.now();
    expect((await ask('slow')).choices[0]?.message.content).toBe('slow');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);

    const impatient = new OpenAI({ apiKey: 'sk-test', baseURL: model.baseUrl, maxRetries: 0, timeout: 200 });
    const outcome = await impatient.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hang' }] })
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('releases hanging requests on stop', async () => {
    const hanging = await new ScriptedModel().start();
    hanging.enqueue({ hang: true });
    const hangingClient = new OpenAI({ apiKey: 'any', baseURL: hanging.baseUrl, maxRetries: 0 });
    const pending = hangingClient.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    await hanging.waitForRequests(1, 2_000);

    await hanging.stop();

    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('offers an instant model for benches', async () => {
    const instant = await instantModel();
    try {
      const fast = new OpenAI({ apiKey: instant.apiKey, baseURL: instant.baseUrl });
      const reply = await fast.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(reply.choices[0]?.message.content).toBe('ok');
    } finally {
      await instant.stop();
    }
  });
});

describe('GitHubStandIn', () => {
  const github = new GitHubStandIn({ token: 'ghs_test' });
  let octokit: Octokit;

  beforeAll(async () => {
    await github.start();
    github.addRepo('acme/widgets', { defaultBranch: 'trunk' });
    octokit = new Octokit({ auth: 'ghs_test', baseUrl: github.apiUrl, log: quiet });
  });
  afterEach(() => github.reset());
  afterAll(() => github.stop());

  const openPull = (head: string) =>
    octokit.pulls.create({
      owner: 'acme',
      repo: 'widgets',
      title: `Fix ${head}`,
      head,
      base: 'trunk',
      draft: true,
    });

  it('describes registered repositories and 404s unknown ones', async () => {
    const { data } = await octokit.repos.get({ owner: 'acme', repo: 'widgets' });
    expect(data).toMatchObject({ name: 'widgets', full_name: 'acme/widgets', default_branch: 'trunk' });
    expect(data.html_url).toBe('https://github.example/acme/widgets');

    await expect(octokit.repos.get({ owner: 'acme', repo: 'nope' })).rejects.toMatchObject({
      status: 404,
      response: { data: { message: 'Not Found' } },
    });
  });

  it('rejects bad credentials', async () => {
    const stranger = new Octokit({ auth: 'wrong', baseUrl: github.apiUrl, log: quiet });
    await expect(stranger.repos.get({ owner: 'acme', repo: 'widgets' })).rejects.toMatchObject({
      status: 401,
      response: { data: { message: 'Bad credentials' } },
    });
  });

  it('opens a draft pull request and refuses a second one for the same head', async () => {
    const { data, status } = await openPull('shipmate/fix-typo');

    expect(status).toBe(201);
    expect(data).toMatchObject({
      number: 1,
      html_url: 'https://github.example/acme/widgets/pull/1',
      state: 'open',
      draft: true,
      merged: false,
      head: { ref: 'shipmate/fix-typo' },
      base: { ref: 'trunk' },
      user: { login: 'shipmate-bot' },
    });
    expect(data.head.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(github.pulls).toHaveLength(1);
    expect(github.requests.at(-1)).toMatchObject({ method: 'POST', path: '/repos/acme/widgets/pulls' });

    const duplicate = await openPull('acme:shipmate/fix-typo').catch((error: unknown) => error);
    expect(duplicate).toMatchObject({
      status: 422,
      response: {
        data: {
          message: 'Validation Failed',
          errors: [{ message: 'A pull request already exists for acme:shipmate/fix-typo.' }],
        },
      },
    });
  });

  it('lists, reads and updates pull requests, and follows state set by the test', async () => {
    await openPull('shipmate/a');
    await openPull('shipmate/b');

    const byHead = await octokit.pulls.list({ owner: 'acme', repo: 'widgets', head: 'acme:shipmate/b' });
    expect(byHead.data.map((pull) => pull.number)).toEqual([2]);

    const updated = await octokit.pulls.update({
      owner: 'acme',
      repo: 'widgets',
      pull_number: 1,
      title: 'New',
      body: 'B',
    });
    expect(updated.data).toMatchObject({ title: 'New', body: 'B' });
    await octokit.pulls.update({ owner: 'acme', repo: 'widgets', pull_number: 1, state: 'closed' });

    github.setPullState(2, 'merged');
    const merged = await octokit.pulls.get({ owner: 'acme', repo: 'widgets', pull_number: 2 });
    expect(merged.data).toMatchObject({ state: 'closed', merged: true });
    expect(merged.data.merged_at).toEqual(expect.any(String));

    const open = await octokit.pulls.list({ owner: 'acme', repo: 'widgets', state: 'open' });
    expect(open.data).toEqual([]);
    const all = await octokit.pulls.list({ owner: 'acme', repo: 'widgets', state: 'all' });
    expect(all.data.map((pull) => pull.number)).toEqual([2, 1]);
  });

  it('adds labels and comments to a pull request', async () => {
    await openPull('shipmate/c');

    const labels = await octokit.issues.addLabels({
      owner: 'acme',
      repo: 'widgets',
      issue_number: 1,
      labels: ['bot'],
    });
    const comment = await octokit.issues.createComment({
      owner: 'acme',
      repo: 'widgets',
      issue_number: 1,
      body: 'hi',
    });

    expect(labels.data.map((label) => label.name)).toEqual(['bot']);
    expect(comment.status).toBe(201);
    expect(github.comments).toMatchObject([{ issueNumber: 1, body: 'hi' }]);
    const pull = await octokit.pulls.get({ owner: 'acme', repo: 'widgets', pull_number: 1 });
    expect(pull.data.labels.map((label) => label.name)).toEqual(['bot']);
  });

  it('injects errors a given number of times', async () => {
    github.injectError('POST', '/repos/{owner}/{repo}/pulls', 403, 1);
    github.injectError('GET', /\/pulls\/\d+$/, 500, 2);

    const limited = await openPull('shipmate/d').catch((error: unknown) => error);
    expect(limited).toMatchObject({ status: 403, response: { headers: { 'x-ratelimit-remaining': '0' } } });
    await expect(openPull('shipmate/d')).resolves.toMatchObject({ status: 201 });

    const get = () => octokit.pulls.get({ owner: 'acme', repo: 'widgets', pull_number: 1 });
    await expect(get()).rejects.toMatchObject({ status: 500 });
    await expect(get()).rejects.toMatchObject({ status: 500 });
    await expect(get()).resolves.toMatchObject({ status: 200 });
  });
});

describe('git fixtures', () => {
  it('creates a repository with deterministic commits by the test identity', async () => {
    const repo = await createRepo({
      files: { 'README.md': '# demo\n', 'src/index.ts': 'export {};\n' },
      commits: [
        { message: 'Add notes', files: { 'docs/notes.md': 'notes\n' } },
        {
          message: 'Drop index',
          files: { 'src/index.ts': null },
          author: { name: 'Ada', email: 'ada@example.com' },
        },
      ],
    });
    const again = await createRepo({
      files: { 'README.md': '# demo\n', 'src/index.ts': 'export {};\n' },
      commits: [
        { message: 'Add notes', files: { 'docs/notes.md': 'notes\n' } },
        {
          message: 'Drop index',
          files: { 'src/index.ts': null },
          author: { name: 'Ada', email: 'ada@example.com' },
        },
      ],
    });
    try {
      const log = await gitLog(repo.dir, 'main');
      expect(log.map((entry) => entry.subject)).toEqual(['Drop index', 'Add notes', 'Initial commit']);
      expect(log[0]).toMatchObject({ authorName: 'Ada', authorEmail: 'ada@example.com' });
      expect(log[2]).toMatchObject({ authorName: TEST_AUTHOR.name, authorEmail: TEST_AUTHOR.email });
      expect((await gitLog(again.dir, 'main')).map((entry) => entry.sha)).toEqual(
        log.map((entry) => entry.sha),
      );
      expect(await readBranchFile(repo.dir, 'main', 'docs/notes.md')).toBe('notes\n');
      await expect(readBranchFile(repo.dir, 'main', 'src/index.ts')).rejects.toThrow(/src\/index.ts/);
      expect(await listBranches(repo.dir)).toEqual(['main']);
    } finally {
      await Promise.all([repo.cleanup(), again.cleanup()]);
    }
  });

  it('makes a bare remote that accepts pushes', async () => {
    const repo = await createRepo({ files: { 'a.txt': 'a\n' }, defaultBranch: 'trunk' });
    const remote = await createBareRemote(repo.dir);
    try {
      await git(repo.dir, ['checkout', '--quiet', '-b', 'shipmate/change']);
      await commitFiles(repo.dir, { message: 'Change a', files: { 'a.txt': 'b\n' } });
      await git(repo.dir, ['push', '--quiet', remote.url, 'shipmate/change']);

      expect(remote.url).toMatch(/^file:\/\//);
      expect(await listBranches(remote.dir)).toEqual(['shipmate/change', 'trunk']);
      expect(await readBranchFile(remote.dir, 'shipmate/change', 'a.txt')).toBe('b\n');
      expect(await readBranchFile(remote.dir, 'trunk', 'a.txt')).toBe('a\n');
    } finally {
      await Promise.all([repo.cleanup(), remote.cleanup()]);
    }
    await expect(execFileAsync('ls', [remote.dir])).rejects.toThrow();
  });

  // How fast this is for the bench's 3,000 files / 10,000 commits is a figure in
  // bench/workspace-bench.ts, not a budget here: a loaded machine must not fail the suite.
  it('builds a history with fast-import: one commit adds every file, each later one rewrites one', async () => {
    // More files than fit in one module folder, more commits than files (the rewrites wrap).
    const repo = await createLargeRepo({ files: 250, commits: 600 });
    try {
      expect(repo).toMatchObject({ fileCount: 250, commitCount: 600, defaultBranch: 'main' });
      expect(await git(repo.dir, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
      expect(Number(await git(repo.dir, ['rev-list', '--count', 'HEAD']))).toBe(600);
      const files = (await git(repo.dir, ['ls-files'])).split('\n');
      expect(files).toHaveLength(250);
      expect(files).toContain('src/module-000/file-00000.ts');
      expect(files).toContain('src/module-002/file-00249.ts');
      expect(await git(repo.dir, ['status', '--porcelain'])).toBe('');

      const root = await git(repo.dir, ['rev-list', '--max-parents=0', 'HEAD']);
      expect(await git(repo.dir, ['log', '-1', '--format=%s', root])).toBe('Add 250 files');
      const added = await git(repo.dir, ['diff-tree', '--root', '--no-commit-id', '-r', '--name-only', root]);
      expect(added.split('\n')).toHaveLength(250);

      // Commit n rewrites file (n - 1) mod 250: the last one (599) rewrites file 98.
      const [latest] = await gitLog(repo.dir, 'HEAD', 1);
      expect(latest?.subject).toBe('Update src/module-000/file-00098.ts (599)');
      expect(latest?.authorEmail).toBe(TEST_AUTHOR.email);
      const changed = await git(repo.dir, ['diff-tree', '--no-commit-id', '-r', '--name-only', 'HEAD']);
      expect(changed).toBe('src/module-000/file-00098.ts');
      expect(await readBranchFile(repo.dir, 'HEAD', 'src/module-000/file-00098.ts')).toContain(
        'export const value98 = 599;',
      );
      // File 0: added by the first commit, rewritten by commits 1, 251 and 501.
      const history = await git(repo.dir, [
        'rev-list',
        '--count',
        'HEAD',
        '--',
        'src/module-000/file-00000.ts',
      ]);
      expect(Number(history)).toBe(4);
    } finally {
      await repo.cleanup();
    }
  });
});
