import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRemote, git, gitLog, readBranchFile } from '../support/git-fixtures.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { ALICE, answerText, CHANNEL, Harness } from '../support/harness.js';

const project = 'acme/platform/shop';
const fixTypo = {
  toolCalls: [
    { name: 'edit_file', arguments: { path: 'src/pricing.html', old_text: 'Pricng', new_text: 'Pricing' } },
  ],
};
const renameReadme = {
  toolCalls: [
    { name: 'edit_file', arguments: { path: 'README.md', old_text: '# shop', new_text: '# The shop' } },
  ],
};

type Remote = Awaited<ReturnType<typeof createBareRemote>>;

/** A harness whose repo names `gitlab: acme/platform/shop`, pushed to a bare repo the stand-in reads. */
async function startOnGitLab(gitlab: GitLabStandIn, token: string, remote: { current?: Remote }) {
  return Harness.start({
    env: { GITLAB_TOKEN: token, GITLAB_API_URL: gitlab.apiUrl },
    config: [
      'repos:',
      '  - name: shop',
      '    url: "{{remote}}"',
      '    defaultBranch: main',
      `    gitlab: ${project}`,
      '    checks: ["grep -q Pricing src/pricing.html"]',
      'access:',
      `  writers: [${ALICE}]`,
    ].join('\n'),
    beforeLaunch: async (repoDir) => {
      remote.current = await createBareRemote(repoDir);
      gitlab.addProject(project, { repoDir: remote.current.dir, defaultBranch: 'main' });
      return { remote: remote.current.url };
    },
  });
}

describe('small fixes become GitLab merge requests', () => {
  const token = 'glpat-e2eShipmateToken0123456789';
  let h: Harness;
  let gitlab: GitLabStandIn;
  const remote: { current?: Remote } = {};
  let mainBefore: string;

  beforeAll(async () => {
    gitlab = await new GitLabStandIn({ token }).start();
    h = await startOnGitLab(gitlab, token, remote);
    mainBefore = await git(remote.current!.dir, ['rev-parse', 'refs/heads/main']);
  });

  afterAll(async () => {
    await h?.stop();
    await gitlab?.stop();
    await remote.current?.cleanup();
  });

  it('opens a draft merge request on click, and a follow-up commit updates the same one', async () => {
    h.model.enqueue(fixTypo, { content: 'Fixed the typo in the pricing heading.' });
    const { ts } = await h.ask('fix the typo on the pricing page');
    const [summary] = await h.waitForAnswers(ts);
    expect(answerText(summary!)).toContain('```diff');
    expect(JSON.stringify(summary!.blocks)).toContain('pr_open');

    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: summary!.ts, actionId: 'pr_open' });
    const [, opened] = await h.waitForAnswers(ts, 2);
    expect(answerText(opened!)).toMatch(
      /Opened draft merge request !1: http:\/\/127\.0\.0\.1:\d+\/acme\/platform\/shop\/-\/merge_requests\/1/,
    );
    expect(answerText(opened!)).not.toMatch(/pull request/);
    const mr = gitlab.mergeRequest(1);
    expect(mr.title).toMatch(/^Draft: /);
    expect(mr.targetBranch).toBe('main');
    expect(mr.sourceBranch).toMatch(/^shipmate\//);
    expect(mr.description).toContain('emulated.slack.local/archives');
    expect(await readBranchFile(remote.current!.dir, mr.sourceBranch, 'src/pricing.html')).toContain(
      'Pricing',
    );
    const message = await git(remote.current!.dir, ['log', '-1', '--format=%B', mr.sourceBranch]);
    expect(message).toMatch(/Co-authored-by: alice/);

    h.model.enqueue(renameReadme, { content: 'Updated the README title.' });
    await h.slack.postMessage({
      user: ALICE,
      channel: CHANNEL,
      threadTs: ts,
      text: 'also update the README title',
    });
    const answers = await h.waitForAnswers(ts, 3);
    await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: answers[2]!.ts,
      actionId: 'pr_open',
    });
    const [, , , updated] = await h.waitForAnswers(ts, 4);
    expect(answerText(updated!)).toMatch(/updated merge request !1/);
    expect(gitlab.mergeRequests).toHaveLength(1);
    expect(gitlab.mergeRequest(1).title).toMatch(/^Draft: /);
    expect(await gitLog(remote.current!.dir, mr.sourceBranch)).toHaveLength(3);

    expect(await git(remote.current!.dir, ['rev-parse', 'refs/heads/main'])).toBe(mainBefore);
    expect(gitlab.requests.every((request) => request.headers.authorization === `Bearer ${token}`)).toBe(
      true,
    );
    expect(h.app.allOutput()).not.toContain(token);
    expect(JSON.stringify(h.slack.calls)).not.toContain(token);
  });
});

describe('a GitLab token without the api scope', () => {
  const token = 'glpat-e2eReadOnlyToken0123456789';
  let h: Harness;
  let gitlab: GitLabStandIn;
  const remote: { current?: Remote } = {};
  let mainBefore: string;

  beforeAll(async () => {
    gitlab = await new GitLabStandIn().start();
    gitlab.addToken(token, { scopes: ['read_api'] });
    h = await startOnGitLab(gitlab, token, remote);
    mainBefore = await git(remote.current!.dir, ['rev-parse', 'refs/heads/main']);
  });

  afterAll(async () => {
    await h?.stop();
    await gitlab?.stop();
    await remote.current?.cleanup();
  });

  it('says in a plain sentence that the branch is pushed and the token needs the api scope', async () => {
    h.model.enqueue(fixTypo, { content: 'Fixed the typo in the pricing heading.' });
    const { ts } = await h.ask('fix the typo on the pricing page');
    const [summary] = await h.waitForAnswers(ts);
    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: summary!.ts, actionId: 'pr_open' });
    const [, refused] = await h.waitForAnswers(ts, 2);
    const text = answerText(refused!);
    expect(text).toMatch(
      /I pushed branch `shipmate\/[^`]+`, but GitLab did not open or update the merge request/,
    );
    expect(text).toMatch(/lacks the `api` scope .*GITLAB_TOKEN/);
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    expect(gitlab.mergeRequests).toHaveLength(0);
    expect(await git(remote.current!.dir, ['rev-parse', 'refs/heads/main'])).toBe(mainBefore);
    expect(h.app.allOutput()).not.toContain(token);
    expect(JSON.stringify(h.slack.calls)).not.toContain(token);
  });
});
