import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitbucketStandIn } from '../support/bitbucket-stand-in.js';
import { createBareRemote, git, gitLog, readBranchFile } from '../support/git-fixtures.js';
import { GiteaStandIn } from '../support/gitea-stand-in.js';
import { ALICE, answerText, CHANNEL, Harness } from '../support/harness.js';

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

/** What each forge's test needs to know about its stand-in. */
interface Forge {
  key: 'gitea' | 'bitbucket';
  name: string;
  env: (token: string) => Record<string, string>;
  /** Registers the repository, backed by the bare remote the app pushes to. */
  addRepo: (gitDir: string) => void;
  /** The one pull request on the stand-in: its title, description, branches and draft state. */
  pulls: () => Array<{ title: string; body: string; head: string; base: string; draft: boolean }>;
  url: (number: number) => string;
  authorization: (token: string) => string;
  headers: () => Array<string | undefined>;
  /** A token that may read but not open pull requests, and the sentence it earns. */
  limited: { token: string; register: () => void; sentence: RegExp };
}

/** A harness whose repo names the forge, pushed to a bare repository the stand-in reads. */
async function startOn(forge: Forge, token: string, remote: { current?: Remote }) {
  return Harness.start({
    env: forge.env(token),
    config: [
      'repos:',
      '  - name: shop',
      '    url: "{{remote}}"',
      '    defaultBranch: main',
      `    ${forge.key}: acme/shop`,
      '    checks: ["grep -q Pricing src/pricing.html"]',
      'access:',
      `  writers: [${ALICE}]`,
    ].join('\n'),
    beforeLaunch: async (repoDir) => {
      remote.current = await createBareRemote(repoDir);
      forge.addRepo(remote.current.dir);
      return { remote: remote.current.url };
    },
  });
}

const gitea = new GiteaStandIn();
const bitbucket = new BitbucketStandIn();

const forges: Forge[] = [
  {
    key: 'gitea',
    name: 'Gitea',
    env: (token) => ({ GITEA_TOKEN: token, GITEA_API_URL: gitea.apiUrl }),
    addRepo: (gitDir) => gitea.addRepo('acme/shop', { gitDir }),
    pulls: () =>
      gitea.pulls.map((pull) => ({
        title: pull.title,
        body: pull.body,
        head: pull.head,
        base: pull.base,
        draft: /^WIP:/.test(pull.title),
      })),
    url: (number) => `${gitea.origin}/acme/shop/pulls/${number}`,
    authorization: (token) => `token ${token}`,
    headers: () => gitea.requests.map((request) => request.headers.authorization),
    limited: {
      token: 'gitea-e2e-read-only-token-0123456789abcdef',
      register: () =>
        gitea.addToken('gitea-e2e-read-only-token-0123456789abcdef', {
          scopes: ['read:repository', 'read:user'],
        }),
      sentence:
        /Gitea refused the request \(403\): the token lacks a scope \(write:repository\); give GITEA_TOKEN the scopes write:repository, write:issue and read:user/,
    },
  },
  {
    key: 'bitbucket',
    name: 'Bitbucket',
    env: (token) => ({ BITBUCKET_TOKEN: token, BITBUCKET_API_URL: bitbucket.apiUrl }),
    addRepo: (gitDir) => bitbucket.addRepo('acme/shop', { gitDir }),
    pulls: () =>
      bitbucket.pulls.map((pull) => ({
        title: pull.title,
        body: pull.description,
        head: pull.source,
        base: pull.destination,
        draft: pull.draft,
      })),
    url: (number) => `${bitbucket.origin}/acme/shop/pull-requests/${number}`,
    authorization: (token) => `Bearer ${token}`,
    headers: () => bitbucket.requests.map((request) => request.headers.authorization),
    limited: {
      token: 'ATCTT3xFfGN0e2eNoPullRequestWrite0123456789',
      register: () =>
        bitbucket.addToken('ATCTT3xFfGN0e2eNoPullRequestWrite0123456789', {
          scopes: ['repository', 'repository:write', 'pullrequest'],
        }),
      sentence:
        /Bitbucket refused the request \(403\): the token lacks the scope pullrequest:write; create an access token with the scopes .* and set BITBUCKET_TOKEN/,
    },
  },
];

beforeAll(async () => {
  await Promise.all([gitea.start(), bitbucket.start()]);
});
afterAll(async () => {
  await Promise.all([gitea.stop(), bitbucket.stop()]);
});

describe.each(forges)('small fixes become $name pull requests', (forge) => {
  const token = forge.key === 'gitea' ? gitea.token : bitbucket.token;
  let h: Harness;
  const remote: { current?: Remote } = {};
  let mainBefore: string;

  beforeAll(async () => {
    h = await startOn(forge, token, remote);
    mainBefore = await git(remote.current!.dir, ['rev-parse', 'refs/heads/main']);
  });
  afterAll(async () => {
    await h?.stop();
    await remote.current?.cleanup();
  });

  it('opens a draft pull request on click, and a follow-up commit updates the same one', async () => {
    h.model.enqueue(fixTypo, { content: 'Fixed the typo in the pricing heading.' });
    const { ts } = await h.ask('fix the typo on the pricing page');
    const [summary] = await h.waitForAnswers(ts);
    expect(answerText(summary!)).toContain('```diff');
    expect(JSON.stringify(summary!.blocks)).toContain('pr_open');

    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: summary!.ts, actionId: 'pr_open' });
    const [, opened] = await h.waitForAnswers(ts, 2);
    expect(answerText(opened!)).toContain(`Opened draft pull request #1: ${forge.url(1)}`);
    const [pull] = forge.pulls();
    expect(pull).toMatchObject({ draft: true, base: 'main', head: expect.stringMatching(/^shipmate\//) });
    expect(pull!.body).toContain('emulated.slack.local/archives');
    expect(await readBranchFile(remote.current!.dir, pull!.head, 'src/pricing.html')).toContain('Pricing');
    expect(await git(remote.current!.dir, ['log', '-1', '--format=%B', pull!.head])).toMatch(
      /Co-authored-by: alice/,
    );

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
    expect(answerText(updated!)).toMatch(/updated pull request #1/);
    expect(forge.pulls()).toHaveLength(1);
    expect(forge.pulls()[0]!.draft).toBe(true);
    expect(await gitLog(remote.current!.dir, pull!.head)).toHaveLength(3);

    expect(await git(remote.current!.dir, ['rev-parse', 'refs/heads/main'])).toBe(mainBefore);
    expect(forge.headers().every((header) => header === forge.authorization(token))).toBe(true);
    expect(h.app.allOutput()).not.toContain(token);
    expect(JSON.stringify(h.slack.calls)).not.toContain(token);
  });
});

describe.each(forges)('a $name token that may not open pull requests', (forge) => {
  let h: Harness;
  const remote: { current?: Remote } = {};
  let mainBefore: string;

  beforeAll(async () => {
    forge.limited.register();
    h = await startOn(forge, forge.limited.token, remote);
    mainBefore = await git(remote.current!.dir, ['rev-parse', 'refs/heads/main']);
  });
  afterAll(async () => {
    await h?.stop();
    await remote.current?.cleanup();
  });

  it('says in a plain sentence that the branch is pushed and which scope the token needs', async () => {
    const before = forge.pulls().length;
    h.model.enqueue(fixTypo, { content: 'Fixed the typo in the pricing heading.' });
    const { ts } = await h.ask('fix the typo on the pricing page');
    const [summary] = await h.waitForAnswers(ts);
    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: summary!.ts, actionId: 'pr_open' });
    const [, refused] = await h.waitForAnswers(ts, 2);
    const text = answerText(refused!);
    expect(text).toMatch(
      new RegExp(
        `I pushed branch \`shipmate/[^\`]+\`, but ${forge.name} did not open or update the pull request`,
      ),
    );
    expect(text).toMatch(forge.limited.sentence);
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    expect(forge.pulls()).toHaveLength(before);
    expect(await git(remote.current!.dir, ['rev-parse', 'refs/heads/main'])).toBe(mainBefore);
    expect(h.app.allOutput()).not.toContain(forge.limited.token);
    expect(JSON.stringify(h.slack.calls)).not.toContain(forge.limited.token);
  });
});
