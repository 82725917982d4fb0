import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveProfile } from '../../src/agent/model/profile.js';
import { ModelClient } from '../../src/agent/model-client.js';
import { type Config, loadConfig, type RepoConfig } from '../../src/config.js';
import { ProviderError } from '../../src/errors.js';
import { ChangeStore } from '../../src/forge/change-store.js';
import { createForgeRoom } from '../../src/forge/forge-room.js';
import { pushBranch } from '../../src/forge/git-commands.js';
import type { IncomingAction } from '../../src/handlers/types.js';
import type { Reply, ThreadHistory, ThreadRef } from '../../src/jobs/ports.js';
import type { ToolContext, WorkspaceProvider } from '../../src/jobs/tools.js';
import { createLogger } from '../../src/log.js';
import { createScrubber } from '../../src/scrub-secrets.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { SqlThreadWorkspaceStore } from '../../src/storage/thread-workspace-store.js';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { Workspace } from '../../src/workspace/types.js';
import { WorkspaceManager } from '../../src/workspace/worktree-manager.js';
import {
  type BareRemote,
  createBareRemote,
  createRepo,
  git,
  gitLog,
  listBranches,
  readBranchFile,
  type TestRepo,
} from '../support/git-fixtures.js';
import { GitHubStandIn } from '../support/github-stand-in.js';

const TOKEN = 'ghp_forgeFlowToken0123456789abcdefghijk';
const CHANNEL = 'C0FORGE';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';

let origin: TestRepo;
let remote: BareRemote;
let github: GitHubStandIn;
let dataDir: string;
let sandbox: SandboxRunner;
let db: Database;
let config: Readonly<Config>;
let repo: RepoConfig & { defaultBranch: string };
let room: ReturnType<typeof createForgeRoom>;
let workspaces: WorkspaceProvider;
const replies: Array<{ thread: ThreadRef; reply: Reply }> = [];
const logLines: string[] = [];
let thread = 1000;
let job = 0;

const history: ThreadHistory = {
  fetch: async () => [],
  displayName: async (userId) => (userId === ALICE ? 'Alice Example' : 'Bob Example'),
  permalink: async (channel, ts) => `https://acme.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
};

beforeAll(async () => {
  origin = await createRepo({
    files: {
      'README.md': '# shop\n\nA small shop.\n',
      'src/pricing.html': '<h1>Pricng</h1>\n<p>$9</p>\n',
      'src/auth/session.ts': 'export const ttlSeconds = 3600;\n',
    },
  });
  remote = await createBareRemote(origin.dir);
  github = await new GitHubStandIn({ token: TOKEN }).start();
  github.addRepo('acme/shop', { defaultBranch: 'main' });
  dataDir = await mkdtemp(join(tmpdir(), 'shipmate-forge-'));
  sandbox = await SandboxRunner.create({ mode: 'on', tempRoot: join(dataDir, 'tmp'), denyRead: [dataDir] });
  await writeFile(
    join(dataDir, 'shipmate.yaml'),
    [
      'repos:',
      '  - name: shop',
      `    url: "${remote.url}"`,
      '    defaultBranch: main',
      '    github: acme/shop',
      '    checks: ["grep -q Pricing src/pricing.html", "test \\"$npm_config_ignore_scripts\\" = true"]',
      'access:',
      `  writers: [${ALICE}]`,
      'limits:',
      '  maxChangedLines: 20',
    ].join('\n'),
  );
  config = loadConfig({
    SHIPMATE_CONFIG: join(dataDir, 'shipmate.yaml'),
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: github.apiUrl,
    SHIPMATE_DATA_DIR: dataDir,
  });
  repo = { ...config.repos[0]!, defaultBranch: 'main' };
  room = await buildRoom();
});

afterAll(async () => {
  await db?.close();
  await sandbox?.close();
  await github?.stop();
  await Promise.all([origin?.cleanup(), remote?.cleanup(), rm(dataDir, { recursive: true, force: true })]);
});

afterEach(() => {
  github.reset();
  replies.length = 0;
});

/** A room as main.ts builds it: a fresh manager and database handle each time (a restart). */
async function buildRoom(options: { model?: ModelClient; process?: string } = {}) {
  await db?.close();
  db = await openDatabase(join(dataDir, 'shipmate.db'));
  // With `process`, a process of several (#14): its own disk, the thread state in the database.
  const manager = options.process
    ? new WorkspaceManager({
        dataDir: join(dataDir, `work-${options.process}`),
        sandbox,
        state: new SqlThreadWorkspaceStore(db),
        processId: options.process,
      })
    : new WorkspaceManager({ dataDir: join(dataDir, 'work'), sandbox });
  workspaces = {
    acquire: (target, key, slug) =>
      manager.acquire(target, key, { branchPrefix: config.git.branchPrefix, ...(slug ? { slug } : {}) }),
  };
  const scrub = createScrubber(config.secrets);
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return createForgeRoom({
    config,
    workspaces,
    history,
    model: options.model,
    notifier: { reply: async (where, reply) => void replies.push({ thread: where, reply }) },
    changes: new ChangeStore(db),
    resolveRepo: async (name) => (name === repo.name ? repo : undefined),
    scrub,
    log: createLogger({ level: 'debug', destination: sink }, scrub),
  });
}

/** The agent's part, played by the test: edits in the thread's worktree, then finish. */
async function change(options: {
  request: string;
  edit: (workspace: Workspace) => Promise<void>;
  userId?: string;
  threadTs?: string;
  pullRequest?: { title: string; body: string };
}) {
  thread += 1;
  job += 1;
  const threadTs = options.threadTs ?? `${thread}.000100`;
  const workspace = await workspaces.acquire(repo, `${CHANNEL}-${threadTs}`, options.request.slice(0, 60));
  await options.edit(workspace);
  const input = {
    jobId: `job-${job}`,
    channel: CHANNEL,
    threadTs,
    messageTs: threadTs,
    userId: options.userId ?? ALICE,
    request: options.request,
    repo,
    workspace,
  };
  const tools = room.tools.tools({ ...input, repo: repo.name, mode: 'change' });
  if (options.pullRequest) {
    const tool = tools.find((candidate) => candidate.name === 'open_pull_request');
    if (!tool) throw new Error('open_pull_request was not offered');
    await tool.run(options.pullRequest, {} as ToolContext);
  }
  const reply = await room.changeFlow.finish({ ...input, answer: 'Done as asked.' });
  return { reply, jobId: input.jobId, threadTs, workspace, tools };
}

async function click(actionId: 'pr_open' | 'pr_discard' | 'pr_push_branch', jobId: string, user = ALICE) {
  const before = replies.length;
  const action: IncomingAction = {
    actionId,
    value: jobId,
    user,
    channel: CHANNEL,
    messageTs: '1.1',
    threadTs: undefined,
    triggerId: undefined,
  };
  await room.actions[actionId](action);
  expect(replies.length).toBe(before + 1);
  return replies.at(-1)!.reply.markdown;
}

const fixTypo = (workspace: Workspace) =>
  workspace.writeFile('src/pricing.html', '<h1>Pricing</h1>\n<p>$9</p>\n');
const actionIds = (reply: Reply) => (reply.actions ?? []).map((action) => action.actionId);

describe('a small fix becomes a pull request', () => {
  it('shows files, checks and the diff with Open PR and Discard, and opens a draft PR on click', async () => {
    const { reply, jobId } = await change({ request: 'fix the typo on the pricing page', edit: fixTypo });
    expect(reply.markdown).toContain('`src/pricing.html` +1 −1');
    expect(reply.markdown).toContain('✅ `grep -q Pricing src/pricing.html` passed');
    expect(reply.markdown).toContain('✅ `test "$npm_config_ignore_scripts" = true` passed');
    expect(reply.markdown).toContain('```diff\n');
    expect(reply.markdown).toMatch(/once the branch is pushed.*git fetch origin shipmate\/fix-the-typo/);
    expect(actionIds(reply)).toEqual(['pr_open', 'pr_discard']);
    expect(reply.actions!.every((action) => action.value === jobId)).toBe(true);

    room = await buildRoom(); // the click comes after a restart
    const text = await click('pr_open', jobId);
    expect(text).toMatch(/^Opened draft pull request #1: https:\/\/github\.example\/acme\/shop\/pull\/1/);
    const pull = github.pulls[0]!;
    expect(pull).toMatchObject({
      draft: true,
      base: { ref: 'main' },
      title: 'Fix the typo on the pricing page',
    });
    expect(pull.head.ref).toMatch(/^shipmate\/fix-the-typo-on-the-pricing-page-/);
    expect(pull.body).toContain(`https://acme.slack.com/archives/${CHANNEL}/p`);
    expect(pull.body).toContain('✅ `grep -q Pricing src/pricing.html` passed');
    expect(await readBranchFile(remote.dir, pull.head.ref, 'src/pricing.html')).toContain('Pricing');
    const message = await git(remote.dir, ['log', '-1', '--format=%an <%ae>%n%B', pull.head.ref]);
    expect(message).toMatch(/^shipmate <shipmate@users\.noreply\.github\.com>/);
    expect(message).toContain('Co-authored-by: Alice Example <u0alice@users.noreply.slack.invalid>');
    expect(text).toContain(`git fetch origin ${pull.head.ref} && git switch ${pull.head.ref}`);
  });

  it('opens the PR from another process, which never saw the staged change', async () => {
    room = await buildRoom({ process: 'a' });
    const { reply, jobId, workspace } = await change({
      request: 'fix the typo on the pricing page',
      edit: fixTypo,
    });
    expect(actionIds(reply)).toEqual(['pr_open', 'pr_discard']);
    await workspace.checkpoint(); // what the worker pool does after every agent job
    room = await buildRoom({ process: 'b' }); // the click reaches the other process
    const text = await click('pr_open', jobId);
    expect(text).toMatch(/^Opened draft pull request #1:/);
    const pull = github.pulls[0]!;
    expect(await readBranchFile(remote.dir, pull.head.ref, 'src/pricing.html')).toBe(
      '<h1>Pricing</h1>\n<p>$9</p>\n',
    );
    room = await buildRoom();
  });

  it('refuses to open a PR from another process when the checkout there is not the change that was shown', async () => {
    room = await buildRoom({ process: 'c' });
    // An edit of its own: a tree pushed by another test would be in every mirror already.
    const { jobId, workspace } = await change({
      request: 'fix the typo on the pricing page',
      edit: (target) => target.writeFile('src/pricing.html', '<h1>Pricing</h1>\n<p>$10</p>\n'),
    });
    // After the summary, something else changed the checkout and was saved.
    await workspace.writeFile('README.md', '# changed after the review\n');
    await workspace.checkpoint();
    room = await buildRoom({ process: 'd' });
    const text = await click('pr_open', jobId);
    expect(text).toMatch(/not the change I showed/);
    expect(github.pulls).toHaveLength(0);
    room = await buildRoom();
  });

  it('adds a follow-up in the same thread to the same branch and updates the one PR', async () => {
    const first = await change({ request: 'fix the typo on the pricing page', edit: fixTypo });
    await click('pr_open', first.jobId);
    const second = await change({
      request: 'also update the README title',
      threadTs: first.threadTs,
      edit: (workspace) => workspace.writeFile('README.md', '# The shop\n\nA small shop.\n'),
    });
    expect(second.reply.markdown).toContain('`README.md` +1 −1');
    expect(second.reply.markdown).not.toContain('`src/pricing.html` +');
    expect(second.reply.actions?.[0]?.label).toBe('Update PR #1');
    const text = await click('pr_open', second.jobId);
    expect(text).toMatch(/updated pull request #1/);
    expect(github.pulls).toHaveLength(1);
    const commits = await gitLog(remote.dir, github.pulls[0]!.head.ref);
    expect(commits.map((commit) => commit.subject).slice(0, 2)).toEqual([
      'Also update the README title',
      'Fix the typo on the pricing page',
    ]);
  });

  it('opens the PR itself when the model calls open_pull_request, leaving a .env file out', async () => {
    const { reply, tools } = await change({
      request: 'fix the pricing typo and open a PR',
      edit: async (workspace) => {
        await fixTypo(workspace);
        await workspace.writeFile('.env', 'API_KEY=hunter2hunter2\n');
      },
      pullRequest: { title: 'Fix pricing typo', body: 'The heading was misspelt.' },
    });
    expect(tools.map((tool) => tool.name)).toEqual(['open_pull_request']);
    expect(reply.markdown).toMatch(/Left out of the commit: `\.env` \(looks like a secret\)/);
    expect(reply.markdown).toMatch(/Opened draft pull request #1/);
    expect(actionIds(reply)).toEqual([]);
    const pull = github.pulls[0]!;
    expect(pull.title).toBe('Fix pricing typo');
    expect(pull.body).toContain('The heading was misspelt.');
    await expect(readBranchFile(remote.dir, pull.head.ref, '.env')).rejects.toThrow();
  });
});

describe('who may publish, and how much', () => {
  it('shows a non-writer the diff without buttons or the tool, and refuses their click', async () => {
    const { reply, jobId, tools } = await change({ request: 'fix the typo', edit: fixTypo, userId: BOB });
    expect(tools).toEqual([]);
    expect(reply.markdown).toContain('```diff');
    expect(reply.markdown).toMatch(/Only people listed in `access.writers` can push or open pull requests/);
    expect(actionIds(reply)).toEqual([]);
    expect(await click('pr_open', jobId, BOB)).toMatch(/Only people listed in `access.writers`/);
    expect(github.pulls).toHaveLength(0);
  });

  it('offers Push branch instead of Open PR past the size limit, and pushes without a PR', async () => {
    const lines = Array.from({ length: 30 }, (_, index) => `line ${index}`).join('\n');
    const { reply, jobId } = await change({
      request: 'add a long doc page',
      edit: (workspace) => workspace.writeFile('docs/big.md', `${lines}\n`),
    });
    expect(reply.markdown).toMatch(
      /bigger than a small fix \(1 files, 30 lines; the limit is 10 files and 20 lines\)/,
    );
    expect(actionIds(reply)).toEqual(['pr_push_branch', 'pr_discard']);
    const text = await click('pr_push_branch', jobId);
    expect(text).toMatch(/^Pushed branch `shipmate\/add-a-long-doc-page-\w+` to origin/);
    expect(github.pulls).toHaveLength(0);
    expect(
      (await listBranches(remote.dir)).some((branch) => branch.startsWith('shipmate/add-a-long-doc')),
    ).toBe(true);
  });

  it('discards the change from the worktree and pushes nothing', async () => {
    const { jobId, workspace } = await change({
      request: 'rename the shop',
      edit: async (target) => {
        await target.writeFile('README.md', '# Renamed\n');
        await target.writeFile('notes/new.md', 'new\n');
      },
    });
    expect(await click('pr_discard', jobId)).toMatch(/^Discarded/);
    expect(await workspace.readFile('README.md')).toBe('# shop\n\nA small shop.\n');
    await expect(workspace.readFile('notes/new.md')).rejects.toThrow();
    expect(await click('pr_open', jobId)).toMatch(/discarded/);
    expect((await listBranches(remote.dir)).some((branch) => branch.startsWith('shipmate/rename'))).toBe(
      false,
    );
  });

  it('never pushes the default branch or a branch outside the prefix', async () => {
    const before = await git(remote.dir, ['rev-parse', 'main']);
    for (const branch of [
      'main',
      'feature/x',
      'shipmate/../main',
      'shipmate/',
      'shipmate/x.lock',
      '-shipmate/x',
    ]) {
      await expect(
        pushBranch({
          hostRepo: join(origin.dir, '.git'),
          url: remote.url,
          branch,
          prefix: 'shipmate/',
          defaultBranch: 'main',
          token: TOKEN,
        }),
      ).rejects.toBeInstanceOf(ProviderError);
    }
    expect(await git(remote.dir, ['rev-parse', 'main'])).toBe(before);
  });
});

describe('checks, review and provider failures', () => {
  it('reports a failing check with its output, and flags skipped tests and security-adjacent files', async () => {
    const { reply, jobId } = await change({
      request: 'make sessions last longer',
      edit: async (workspace) => {
        await workspace.writeFile('src/pricing.html', '<h1>Prices</h1>\n');
        await workspace.writeFile('src/auth/session.ts', 'export const ttlSeconds = 86400; // @ts-ignore\n');
        await workspace.writeFile('test/session.test.ts', "it.skip('expires', () => {});\n");
      },
    });
    expect(reply.markdown).toContain('❌ `grep -q Pricing src/pricing.html` failed (exit 1)');
    expect(reply.markdown).not.toContain('✅ `grep -q Pricing');
    expect(reply.markdown).toMatch(/skips or disables a test/);
    expect(reply.markdown).toMatch(/silences a linter or type check/);
    expect(reply.markdown).toMatch(/Security-adjacent files changed: `src\/auth\/session\.ts`/);
    expect(reply.markdown).toMatch(/the model review did not run|Review notes/);
    await click('pr_open', jobId);
    expect(github.pulls[0]!.labels).toContain('needs-human-review');
  });

  it('keeps the deterministic flags when the review model is down', async () => {
    const down = new ModelClient({
      apiKey: 'x',
      baseUrl: 'http://127.0.0.1:9/v1',
      profile: resolveProfile('m', undefined),
      maxRetries: 0,
    });
    room = await buildRoom({ model: down });
    try {
      const { reply } = await change({
        request: 'stub the thing',
        edit: (workspace) =>
          workspace.writeFile('src/thing.ts', 'export function thing() {\n  // TODO: implement\n}\n'),
      });
      expect(reply.markdown).toMatch(/leaves a "TODO: implement" stub/);
    } finally {
      room = await buildRoom();
    }
  });

  it('explains a 403 from GitHub and opens exactly one PR on retry', async () => {
    const { jobId } = await change({ request: 'raise the price', edit: fixTypo });
    github.injectError('POST', '/repos/acme/shop/pulls', 403, 1);
    expect(await click('pr_open', jobId)).toMatch(
      /GitHub refused the request \(403.*trying again will not open a second/,
    );
    expect(await click('pr_open', jobId)).toMatch(/Opened draft pull request #1/);
    expect(await click('pr_open', jobId)).toMatch(/updated pull request #1/);
    expect(github.pulls).toHaveLength(1);
  });

  it('explains a 422 from GitHub, then finds the PR that was opened meanwhile instead of a second one', async () => {
    const { jobId, workspace } = await change({ request: 'fix the heading', edit: fixTypo });
    github.injectError('POST', '/repos/acme/shop/pulls', 422, 1);
    expect(await click('pr_open', jobId)).toMatch(/GitHub did not accept it \(422/);
    await fetch(`${github.apiUrl}/repos/acme/shop/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Opened by hand', head: workspace.branch, base: 'main' }),
    });
    expect(await click('pr_open', jobId)).toMatch(/updated pull request #1/);
    expect(github.pulls).toHaveLength(1);
  });

  it('never writes the token to the worktree, git config, commits, logs or replies', async () => {
    const { jobId, workspace } = await change({ request: 'fix the typo once more', edit: fixTypo });
    await click('pr_open', jobId);
    const grep = await git(dataDir, ['grep', '--no-index', '-l', '-I', TOKEN, '--', '.']).catch(() => '');
    expect(grep).toBe('');
    expect(await git(remote.dir, ['log', '--all', '--format=%B'])).not.toContain(TOKEN);
    expect(await git(workspace.root, ['config', '--list'])).not.toContain(TOKEN);
    expect(logLines.join('')).not.toContain(TOKEN);
    expect(JSON.stringify(replies)).not.toContain(TOKEN);
  });
});
