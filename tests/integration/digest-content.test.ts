import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Config, RepoConfig } from '../../src/config.js';
import { createDigestsRoom } from '../../src/digests/create-digests-room.js';
import type { ChannelMessage, DigestPullRequests, PullRequestState } from '../../src/digests/ports.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import type { JobContext } from '../../src/jobs/ports.js';
import { createLogger } from '../../src/log.js';
import type { Database } from '../../src/storage/database.js';
import { RepoMirrors } from '../../src/workspace/repo-mirror.js';
import { describeBackends } from '../support/backends.js';
import { createRepo, type TestRepo } from '../support/git-fixtures.js';

const log = createLogger({ level: 'silent' });
const channel = 'C0SHOP';
/** The fixture repo's commits are dated from here, one minute apart (see git-fixtures). */
const base = 1_700_000_000_000;
const ana = { name: 'Ana Lima', email: 'ana@example.test' };
const ben = { name: 'Ben Okafor', email: 'ben@example.test' };

describeBackends('what a digest says', (open) => {
  let dir: string;
  let db: Database;
  let repo: TestRepo;
  let now: number;
  let posts: Array<{ channel: string; markdown: string }>;
  let history: ChannelMessage[];
  let summaries: string[];
  let summarize: (text: string) => Promise<string>;
  let queue: JobQueue;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-digest-content-'));
    db = await open();
    now = base;
    posts = [];
    history = [];
    summaries = [];
    summarize = async (text) => {
      summaries.push(text);
      return '- The team agreed to ship VAT on Friday.\n- Open question: who reviews the invoice template?';
    };
    queue = new JobQueue(db, { clock: () => now });
    repo = await createRepo({
      files: { 'README.md': '# shop\n' },
      commits: [
        { message: 'Fix rounding in tax', files: { 'tax.ts': 'export const r = 1;\n' }, author: ana },
        { message: 'chore: bump dependencies', files: { 'package.json': '{}\n' }, author: ben },
        { message: 'Add VAT to invoices', files: { 'vat.ts': 'export const v = 1;\n' }, author: ana },
        { message: 'Show VAT on receipts', files: { 'receipt.ts': 'export const x = 1;\n' }, author: ben },
      ],
    });
  });

  afterEach(async () => {
    // The database is closed with the others after the file (describeBackends).
    await repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function room(options: { pullRequests?: DigestPullRequests; withModel?: boolean } = {}) {
    const mirrors = new RepoMirrors({ dataDir: dir, fetchIntervalMs: 0, clock: () => now });
    const shop: RepoConfig = {
      name: 'shop',
      url: repo.dir,
      defaultBranch: undefined,
      channels: [channel],
      checks: [],
      allowedDomains: [],
      allowLifecycleScripts: false,
      allowWorkflowChanges: false,
    };
    return createDigestsRoom({
      config: { digests: [], repos: [shop] } as Pick<Config, 'digests' | 'repos'>,
      db,
      clock: () => now,
      log,
      post: async (target, markdown) => {
        posts.push({ channel: target, markdown });
        return `${now / 1000}.000100`;
      },
      jobs: queue,
      history: {
        messagesBetween: async (_channel, from, to) => history.filter((m) => inPeriod(m, from, to)),
      },
      permalinks: async (target, ts) => `https://team.slack.test/archives/${target}/p${ts.replace('.', '')}`,
      mirrorPathFor: (name) =>
        name === 'shop' ? mirrors.ensureFresh({ name, url: repo.dir, defaultBranch: 'main' }) : undefined,
      scripts: {
        // The script was saved a minute after the first commit.
        changedBetween: async (from, to) =>
          from <= base + 60_000 && base + 60_000 < to ? [{ name: 'deploy-preview', change: 'added' }] : [],
      },
      ...(options.pullRequests ? { pullRequests: options.pullRequests } : {}),
      ...(options.withModel === false ? {} : { summarize: (text: string) => summarize(text) }),
    });
  }

  async function digestNow(digests: ReturnType<typeof room>): Promise<string> {
    const job = await queue.enqueue({
      kind: 'command',
      channel,
      threadTs: '9.1',
      messageTs: '9.1',
      userId: 'U0LEAD',
      payload: { command: { name: 'digest', args: 'now' } },
    });
    const context: JobContext<'command'> = {
      job,
      signal: new AbortController().signal,
      log,
      progress: () => {},
    };
    return (await digests.commands.digest({ name: 'digest', args: 'now' }, context)).reply?.markdown ?? '';
  }

  async function recordJob(input: {
    text: string;
    threadTs: string;
    mode?: 'question' | 'change' | 'plan';
    fail?: boolean;
    kind?: 'agent' | 'command';
  }) {
    const where = { channel, threadTs: input.threadTs, messageTs: input.threadTs, userId: 'U0ASKER' };
    const job =
      input.kind === 'command'
        ? await queue.enqueue({
            kind: 'command',
            ...where,
            payload: { text: input.text, command: { name: 'help' } },
          })
        : await queue.enqueue({ kind: 'agent', ...where, payload: { text: input.text } });
    await queue.claimNext('worker', 60_000);
    const usage = { repo: 'shop', steps: 2, promptTokens: 10, completionTokens: 5, cost: null };
    if (input.fail)
      await queue.fail(job.id, {
        code: 'model-unavailable',
        message: 'ran out of time in /srv/internal',
        referenceId: 'K2J9QZ',
      });
    else if (job.kind === 'command') await queue.complete(job);
    else if (input.mode === 'plan')
      await queue.complete(job, { mode: 'plan', plan: '1. Split the module', planFor: input.text, ...usage });
    else await queue.complete(job, { mode: input.mode ?? 'question', ...usage });
  }

  it('lists answered questions, pull requests, scripts, commits and failed jobs, with links', async () => {
    now = base + 30_000;
    // Job text is stored as src/slack/ reads it: Slack's `<!channel>` arrives as plain "@channel".
    await recordJob({ text: 'Why is tax rounded @channel?', threadTs: '1700000030.000100' });
    await recordJob({ text: 'and for VAT?', threadTs: '1700000030.000100' });
    await recordJob({ text: 'where do receipts get printed', threadTs: '1700000031.000200' });
    await recordJob({ text: 'fix the receipt typo', threadTs: '1700000032.000300', mode: 'change' });
    await recordJob({ text: 'run the whole test suite please', threadTs: '1700000033.000400', fail: true });
    await recordJob({ text: 'scripts', threadTs: '1700000034.000500', kind: 'command' });
    history.push(
      message('1700000040.000100', 'person', 'Ana', 'Shall we ship VAT on Friday?'),
      message('1700000041.000100', 'bot', 'CI', 'Build #41 passed'),
      message('1700000042.000100', 'person', 'Ben', 'Yes, Friday.'),
    );
    const states: Record<number, PullRequestState> = { 7: 'merged', 8: 'open' };
    const pullRequests: DigestPullRequests = {
      listOpenedBetween: async (from, to, target) => {
        expect(target).toBe(channel);
        expect(to - from).toBe(24 * 3600_000);
        return [
          {
            repo: 'shop',
            number: 7,
            title: 'Fix the receipt typo',
            url: 'https://github.test/o/shop/pull/7',
          },
          { repo: 'shop', number: 8, title: 'Add VAT', url: 'https://github.test/o/shop/pull/8' },
        ];
      },
      state: async (_repo, number) => states[number] ?? 'closed',
    };
    now = base + 12 * 3600_000;
    const reply = await digestNow(room({ pullRequests }));

    expect(reply).toMatch(/^\[Posted the digest\]\(https:\/\/team\.slack\.test\/archives\/C0SHOP\/p/);
    expect(posts).toHaveLength(1);
    const digest = posts[0]!.markdown;
    expect(posts[0]!.channel).toBe(channel);
    expect(digest).toContain('**Questions answered (2)**');
    expect(digest).toContain(
      '- [Why is tax rounded @\u200bchannel?](https://team.slack.test/archives/C0SHOP/p1700000030000100) · 2 answers',
    );
    expect(digest).toContain(
      '- [where do receipts get printed](https://team.slack.test/archives/C0SHOP/p1700000031000200)',
    );
    expect(digest).not.toContain('fix the receipt typo');
    expect(digest).toContain('**Pull requests opened (2, 1 merged)**');
    expect(digest).toContain('- [shop#7 Fix the receipt typo](https://github.test/o/shop/pull/7) · merged');
    expect(digest).toContain('- [shop#8 Add VAT](https://github.test/o/shop/pull/8) · open');
    expect(digest).toContain('**Team scripts (1)**\n- `deploy-preview` added');
    expect(digest).toContain('**Commits on main in shop: 5 by 3 authors**');
    expect(digest).toContain('Ana Lima (2), Ben Okafor (2), Shipmate Test (1)');
    expect(digest).toContain('- Show VAT on receipts\n- Add VAT to invoices\n- Fix rounding in tax');
    expect(digest).not.toContain('bump dependencies');
    expect(digest).toContain(
      '**Jobs that failed (1)**\n- [run the whole test suite please](https://team.slack.test/archives/C0SHOP/p1700000033000400) · `model-unavailable` (ref K2J9QZ)',
    );
    expect(digest).not.toContain('/srv/internal');
    expect(digest).toContain(
      '**Conversation summary** _(generated by the model from 2 messages; it may be wrong)_',
    );
    expect(digest).toContain('- The team agreed to ship VAT on Friday.');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toContain('Ana: Shall we ship VAT on Friday?\nBen: Yes, Friday.');
    expect(summaries[0]).not.toContain('Build #41');
  });

  it('does not count a plan that waits for "go" as an answered question', async () => {
    now = base + 30_000;
    await recordJob({ text: 'where is tax rounded', threadTs: '1700000030.000100' });
    await recordJob({
      text: 'refactor every endpoint to the new client',
      threadTs: '1700000031.000200',
      mode: 'plan',
    });
    now = base + 12 * 3600_000;
    await digestNow(room());
    const digest = posts[0]!.markdown;
    expect(digest).toContain('**Questions answered (1)**');
    expect(digest).toContain('where is tax rounded');
    expect(digest).not.toContain('refactor every endpoint');
  });

  it('counts only the commits that landed since the last digest', async () => {
    now = base + 150_000; // after the initial commit and the next two
    await digestNow(room({ withModel: false }));
    expect(posts[0]?.markdown).toContain('**Commits on main in shop: 3 by 3 authors**');
    now = base + 12 * 3600_000;
    await digestNow(room({ withModel: false }));
    expect(posts[1]?.markdown).toContain('**Commits on main in shop: 2 by 2 authors**');
    expect(posts[1]?.markdown).toContain('- Show VAT on receipts\n- Add VAT to invoices');
    expect(posts[1]?.markdown).not.toContain('Fix rounding in tax');
  });

  it('still posts the facts, with a labelled note, when the model is down', async () => {
    history.push(message('1700000040.000100', 'person', 'Ana', 'Anyone seen the flaky checkout test?'));
    summarize = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:11434');
    };
    now = base + 12 * 3600_000;
    expect(await digestNow(room())).toContain('Posted the digest');
    const digest = posts[0]!.markdown;
    expect(digest).toContain('**Commits on main in shop: 5 by 3 authors**');
    expect(digest).toContain('**Conversation** (1 message)\n_No generated summary this time');
    expect(digest).not.toContain('ECONNREFUSED');
  });

  it('says a quiet period in one line and does not call the model when nobody talked', async () => {
    history.push(message(`${(base + 3 * 86_400_000) / 1000}`, 'bot', 'CI', 'Nightly build passed'));
    now = base + 3 * 86_400_000 + 60_000; // the commits are days old
    await digestNow(room());
    expect(posts).toHaveLength(1);
    expect(posts[0]?.markdown.split('\n')).toHaveLength(1);
    expect(posts[0]?.markdown).toContain('a quiet period');
    expect(summaries).toHaveLength(0);
  });

  it('leaves out a section whose source fails and says which', async () => {
    const pullRequests: DigestPullRequests = {
      listOpenedBetween: async () => {
        throw new Error('GitHub answered 502');
      },
      state: async () => 'open',
    };
    now = base + 12 * 3600_000;
    await digestNow(room({ pullRequests, withModel: false }));
    expect(posts[0]?.markdown).toContain('**Commits on main in shop: 5 by 3 authors**');
    expect(posts[0]?.markdown).toContain('_I could not read: pull requests (GitHub answered 502)._');
  });
});

function message(ts: string, kind: ChannelMessage['kind'], name: string, text: string): ChannelMessage {
  return { ts, kind, name, text, userId: kind === 'person' ? `U0${name.toUpperCase()}` : undefined };
}

function inPeriod(message: ChannelMessage, from: number, to: number): boolean {
  const at = Number(message.ts) * 1000;
  return at >= from && at < to;
}
