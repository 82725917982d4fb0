import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { pushBranch } from '../../src/forge/git-commands.js';
import { createBareRemote, git, gitLog, listBranches, readBranchFile } from '../support/git-fixtures.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { ALICE, answerText, BOB, CHANNEL, Harness, waitFor } from '../support/harness.js';

const token = 'ghp_shipmateTestToken0123456789abcdefgh';
const fixTypo = {
  toolCalls: [
    { name: 'edit_file', arguments: { path: 'src/pricing.html', old_text: 'Pricng', new_text: 'Pricing' } },
  ],
};

describe('small fixes become pull requests', () => {
  let h: Harness;
  let github: GitHubStandIn;
  let remote: Awaited<ReturnType<typeof createBareRemote>>;

  beforeAll(async () => {
    github = new GitHubStandIn({ token });
    await github.start();
    github.addRepo('acme/shop', { defaultBranch: 'main' });
    h = await Harness.start({
      env: { GITHUB_TOKEN: token, GITHUB_API_URL: github.apiUrl },
      config: [
        'repos:',
        '  - name: shop',
        '    url: "{{remote}}"',
        '    defaultBranch: main',
        '    github: acme/shop',
        '    checks: ["grep -q Pricing src/pricing.html"]',
        'access:',
        `  writers: [${ALICE}]`,
        'limits:',
        '  maxChangedLines: 20',
      ].join('\n'),
      beforeLaunch: async (repoDir) => {
        remote = await createBareRemote(repoDir);
        return { remote: remote.url };
      },
    });
  });

  afterAll(async () => {
    await h.stop();
    await github.stop();
    await remote.cleanup();
  });

  it('shows the diff and check results, then opens a draft PR on click, and a follow-up updates the same PR', async () => {
    h.model.enqueue(fixTypo, { content: 'Fixed the typo in the pricing heading.' });
    const { ts } = await h.ask('fix the typo on the pricing page');
    const [summary] = await h.waitForAnswers(ts);
    const text = answerText(summary!);
    expect(text).toContain('`src/pricing.html` +1 −1');
    expect(text).toContain('✅ `grep -q Pricing src/pricing.html` passed');
    expect(text).toContain('```diff');
    expect(text).toMatch(/git fetch origin shipmate\/fix-the-typo-on-the-pricing-page-\w+ && git switch/);
    expect(JSON.stringify(summary!.blocks)).toContain('pr_open');

    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: summary!.ts, actionId: 'pr_open' });
    const [, opened] = await h.waitForAnswers(ts, 2);
    expect(answerText(opened!)).toMatch(
      /Opened draft pull request #1: https:\/\/github.example\/acme\/shop\/pull\/1/,
    );
    const pull = github.pulls[0]!;
    expect(pull.draft).toBe(true);
    expect(pull.base.ref).toBe('main');
    expect(pull.head.ref).toMatch(/^shipmate\//);
    expect(pull.body).toContain('emulated.slack.local/archives');
    expect(await readBranchFile(remote.dir, pull.head.ref, 'src/pricing.html')).toContain('Pricing');
    const [commit] = await gitLog(remote.dir, pull.head.ref, 1);
    expect(commit!.authorName).toBe('shipmate');
    const message = await git(remote.dir, ['log', '-1', '--format=%B', pull.head.ref]);
    expect(message).toMatch(/Co-authored-by: alice/);

    h.model.enqueue(
      {
        toolCalls: [
          { name: 'edit_file', arguments: { path: 'README.md', old_text: '# shop', new_text: '# The shop' } },
        ],
      },
      { content: 'Updated the README title.' },
    );
    await h.slack.postMessage({
      user: ALICE,
      channel: CHANNEL,
      threadTs: ts,
      text: 'also update the README title',
    });
    const answers = await h.waitForAnswers(ts, 3);
    expect(JSON.stringify(answers[2]!.blocks)).toContain('Update PR #1');
    await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: answers[2]!.ts,
      actionId: 'pr_open',
    });
    const [, , , updated] = await h.waitForAnswers(ts, 4);
    expect(answerText(updated!)).toMatch(/updated pull request #1/);
    expect(github.pulls).toHaveLength(1);
    expect(await gitLog(remote.dir, pull.head.ref)).toHaveLength(3);
  });

  it('opens the PR directly when asked, leaves secret files out, and never leaks the token', async () => {
    h.model.enqueue(
      {
        toolCalls: [
          {
            name: 'edit_file',
            arguments: { path: 'src/shipping.ts', old_text: 'base * 2', new_text: 'base' },
          },
          { name: 'edit_file', arguments: { path: '.env', new_text: 'API_KEY=supersecret\n' } },
        ],
      },
      {
        toolCalls: [
          {
            name: 'open_pull_request',
            arguments: { title: 'Charge shipping once', body: 'Shipping was doubled.' },
          },
        ],
      },
      { content: 'Shipping is now charged once.' },
    );
    const { ts } = await h.ask('stop double-charging shipping and open a PR');
    const [answer] = await h.waitForAnswers(ts);
    const text = answerText(answer!);
    expect(text).toMatch(/Left out of the commit: `\.env` \(looks like a secret\)/);
    expect(text).toMatch(/Opened draft pull request #2/);
    const pull = github.pulls.find((candidate) => candidate.title === 'Charge shipping once')!;
    expect(await listBranches(remote.dir)).toContain(pull.head.ref);
    await expect(readBranchFile(remote.dir, pull.head.ref, '.env')).rejects.toThrow();
    expect(github.requests.every((request) => String(request.headers.authorization).endsWith(token))).toBe(
      true,
    );
    const worktrees = join(h.app.dataDir, 'worktrees');
    const mirrorConfig = readFileSync(join(h.app.dataDir, 'mirrors', 'shop.git', 'config'), 'utf8');
    expect(mirrorConfig).not.toContain(token);
    expect(h.app.allOutput()).not.toContain(token);
    expect(JSON.stringify(h.slack.calls)).not.toContain(token);
    expect(worktrees).toBeTruthy();
  });

  it('gives non-writers the diff but no buttons, and refuses their clicks', async () => {
    h.model.enqueue(
      {
        toolCalls: [
          {
            name: 'edit_file',
            arguments: { path: 'README.md', old_text: 'A small shop', new_text: 'A tiny shop' },
          },
        ],
      },
      { content: 'Changed the README.' },
    );
    const { ts } = await h.ask('update the README wording', { user: BOB });
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toMatch(/Only people listed in `access.writers`/);
    expect(answerText(answer!)).toContain('```diff');
    expect(JSON.stringify(answer!.blocks)).not.toContain('pr_open');
    const pulls = github.pulls.length;
    const jobId = String(h.app.logs.find((line) => line.msg === 'job-queued' && line.threadTs === ts)?.jobId);
    await h.slack.deliverInteraction({
      type: 'block_actions',
      user: { id: BOB },
      channel: { id: CHANNEL },
      message: { ts: answer!.ts, thread_ts: ts },
      actions: [{ action_id: 'pr_open', value: jobId }],
    });
    await waitFor(() => h.answers(ts).length >= 2, 10_000);
    expect(answerText(h.answers(ts)[1]!)).toMatch(/Only people listed in `access.writers`/);
    expect(github.pulls).toHaveLength(pulls);
  });

  it('offers to push a branch instead of a PR when the change is too big, and Discard drops it', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    h.model.enqueue(
      { toolCalls: [{ name: 'edit_file', arguments: { path: 'docs/big.md', new_text: lines } }] },
      { content: 'Added a big doc.' },
    );
    const { ts } = await h.ask('add a long doc page');
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toMatch(/bigger than a small fix \(1 files, 30 lines/);
    expect(JSON.stringify(answer!.blocks)).toContain('pr_push_branch');
    expect(JSON.stringify(answer!.blocks)).not.toContain('"pr_open"');
    await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: answer!.ts,
      actionId: 'pr_discard',
    });
    const [, discarded] = await h.waitForAnswers(ts, 2);
    expect(answerText(discarded!)).toMatch(/Discarded/);
  });

  it('plans a large change first and starts only when the person replies "go"', async () => {
    h.model.enqueue({
      content:
        '1. Move pricing into `src/pricing.ts` (check: tests pass)\n2. Update callers (check: rg finds no old imports)',
    });
    const { ts } = await h.ask('refactor pricing across all the modules');
    const [plan] = await h.waitForAnswers(ts);
    expect(answerText(plan!)).toMatch(/1\. Move pricing[\s\S]*Reply \*\*go\*\* in this thread/);
    const planTools = (h.model.lastRequest().body.tools ?? []) as Array<{ function: { name: string } }>;
    expect(planTools.map((tool) => tool.function.name)).not.toContain('edit_file');

    h.model.enqueue(
      {
        toolCalls: [
          { name: 'edit_file', arguments: { path: 'src/pricing.ts', new_text: 'export const base = 9;\n' } },
        ],
      },
      { content: 'Step 1 done.' },
    );
    await h.slack.postMessage({ user: ALICE, channel: CHANNEL, threadTs: ts, text: 'go' });
    const answers = await h.waitForAnswers(ts, 2);
    expect(answerText(answers[1]!)).toContain('`src/pricing.ts` +1 −0');
    const request = JSON.stringify(h.model.requests.at(-2)!.body.messages);
    expect(request).toContain('The person approved this plan');
    expect(request).toContain('Move pricing into');
  });

  it('proposes a team script as a pull request that adds its file', async () => {
    h.model.enqueue(
      {
        toolCalls: [
          {
            name: 'save_script',
            arguments: {
              name: 'list-html',
              description: 'Lists HTML pages',
              interpreter: 'bash',
              body: 'ls src/*.html',
              parameters: [],
            },
          },
        ],
      },
      { content: 'Saved list-html.' },
    );
    const saved = await h.ask('save a script that lists the html pages');
    await h.waitForAnswers(saved.ts);
    const { ts } = await h.ask('propose script list-html');
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toMatch(/Opened draft pull request #\d+/);
    const pull = github.pulls.find((candidate) => candidate.title === 'Add team script list-html')!;
    expect(await readBranchFile(remote.dir, pull.head.ref, '.shipmate/scripts/list-html.bash')).toContain(
      'ls src/*.html',
    );
  });

  it('explains a GitHub refusal in the thread and does not open a second PR on retry', async () => {
    h.model.enqueue(
      {
        toolCalls: [
          { name: 'edit_file', arguments: { path: 'src/pricing.html', old_text: '$9', new_text: '$10' } },
        ],
      },
      { content: 'Raised the price.' },
    );
    const { ts } = await h.ask('change the price to $10');
    const [answer] = await h.waitForAnswers(ts);
    github.injectError('POST', '/repos/acme/shop/pulls', 403, 1);
    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: answer!.ts, actionId: 'pr_open' });
    const [, refused] = await h.waitForAnswers(ts, 2);
    expect(answerText(refused!)).toMatch(/GitHub refused the request \(403/);
    const before = github.pulls.length;
    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: answer!.ts, actionId: 'pr_open' });
    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: answer!.ts, actionId: 'pr_open' });
    await h.waitForAnswers(ts, 4);
    expect(github.pulls.length).toBe(before + 1);
  });
});

describe('pushing', () => {
  it('never pushes the default branch or a branch outside the prefix', async () => {
    for (const branch of ['main', 'feature/x', 'shipmate/../main']) {
      await expect(
        pushBranch({
          hostRepo: '/nonexistent',
          url: '/nonexistent',
          branch,
          prefix: 'shipmate/',
          defaultBranch: 'main',
          token: undefined,
        }),
      ).rejects.toBeInstanceOf(ProviderError);
    }
  });
});
