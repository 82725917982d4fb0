import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles } from '../support/git-fixtures.js';
import { ALICE, answerText, BOB, CHANNEL, waitFor } from '../support/harness.js';
import {
  askAndSettle,
  clickOpenPr,
  editFile,
  expectDefaultBranchUnchanged,
  expectNoLeaks,
  followUpAndSettle,
  type HostileBed,
  newRemoteBranches,
  playHostileModel,
  remoteGit,
  remoteRefs,
  shell,
  startHostileBed,
} from '../support/hostile.js';

/**
 * What is pushed is what was reviewed. Found by a red-team run: Open PR used to stage the
 * checkout again at click time, so anything the sandbox wrote after the summary (a later job
 * in the thread, or the repository's own checks run after the diff was taken) rode into the
 * pull request under the reviewed description.
 */

const evil = 'export const EVIL = 1;';

describe('the pushed change is the reviewed change', () => {
  let bed: HostileBed;

  beforeAll(async () => {
    bed = await startHostileBed({
      repoConfig: ['    checks: ["node test/run.js"]'],
      prepareRepo: async (repoDir) => {
        await commitFiles(repoDir, {
          message: 'test runner',
          files: {
            '.gitignore': 'node_modules/\n',
            'test/run.js':
              "try { require('../node_modules/helper'); } catch { /* no helper: nothing to run */ }\n",
          },
        });
      },
    });
  });

  afterAll(async () => {
    await bed?.stop();
  });

  // Attack: a non-writer's later question in the thread edits the checkout after the summary;
  // the writer then clicks Open PR on the reviewed summary.
  it('commits the summary’s tree, not what a later job left in the checkout', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    playHostileModel(h, [
      editFile('src/pricing.html', '<h1>Pricing</h1>', '<h1>Pricng</h1>'),
      { content: 'Fixed the heading typo.' },
    ]);
    const change = await askAndSettle(h, 'fix the typo on the pricing page');
    expect(answerText(change.summary)).not.toContain('EVIL');
    playHostileModel(h, [
      shell(`printf '${evil}\\n' >> src/shipping.ts`),
      { content: 'It computes shipping.' },
    ]);
    await followUpAndSettle(h, change.threadTs, 'what does computeShippingCost do?', { user: BOB });

    const reply = await clickOpenPr(h, ALICE, change);
    expect(answerText(reply)).toMatch(/Opened draft pull request/);
    const pushed = [...(await newRemoteBranches(bed.remote.dir, refsBefore)).keys()];
    expect(pushed).toHaveLength(1);
    const branch = pushed[0]!;
    expect(await remoteGit(bed.remote.dir, ['show', `${branch}:src/pricing.html`])).toContain('Pricing');
    expect(await remoteGit(bed.remote.dir, ['show', `${branch}:src/shipping.ts`])).not.toContain('EVIL');
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });

  // Attack: the repository's checks run an ignored file the model wrote, which edits a tracked
  // file after the diff was taken.
  it('shows in the summary what the checks changed, and pushes exactly that', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    const helper = `require('fs').appendFileSync(__dirname + '/../../src/shipping.ts', '${evil}\\n');`;
    playHostileModel(h, [
      editFile('README.md', '# The shop', '# shop'),
      shell(
        `mkdir -p node_modules/helper && printf '%s\\n' "${helper.replaceAll('"', '\\"')}" > node_modules/helper/index.js`,
      ),
      { content: 'Renamed the README title.' },
    ]);
    const change = await askAndSettle(h, 'rename the README title to "The shop"');
    const summary = answerText(change.summary);
    expect(summary).toContain('EVIL');
    expect(summary).toMatch(/Running the checks changed files/);
    await clickOpenPr(h, ALICE, change);
    const branch = [...(await newRemoteBranches(bed.remote.dir, refsBefore)).keys()][0];
    if (branch) {
      // Whatever was pushed is what the summary showed (EVIL included, in plain sight).
      const diff = await remoteGit(bed.remote.dir, ['diff', 'main', branch]);
      expect(diff).toContain('+# The shop');
    }
    await expectDefaultBranchUnchanged(bed);
  });

  // Found by a red-team run: Discard clicked while Open PR was pushing said "Nothing was
  // pushed", and then the pull request opened. Clicks in one thread now take turns.
  it('tells the truth when Discard and Open PR are clicked at once', async () => {
    const { h } = bed;
    playHostileModel(h, [
      editFile('src/pricing.html', '<p>Plans start at $12.</p>', '<p>Plans start at $9.</p>'),
      { content: 'Raised the price.' },
    ]);
    const change = await askAndSettle(h, 'change the starting price to $12');
    const before = h.answers(change.threadTs).length;
    const click = (actionId: string) =>
      h.slack.deliverInteraction({
        type: 'block_actions',
        user: { id: ALICE },
        channel: { id: CHANNEL },
        message: { ts: change.summary.ts, thread_ts: change.threadTs },
        actions: [{ action_id: actionId, value: change.jobId }],
      });
    await Promise.all([click('pr_open'), click('pr_discard')]);
    const replies = await waitFor(
      () => {
        const fresh = h.answers(change.threadTs).slice(before).map(answerText);
        return fresh.length >= 2 ? fresh : undefined;
      },
      40_000,
      'both clicks answered',
    );
    const opened = replies.some((text) => /Opened draft pull request/.test(text));
    const discardReply = replies.find((text) => /^Discarded/.test(text)) ?? '';
    if (opened) expect(discardReply).not.toMatch(/Nothing was pushed/);
    expect(replies.join('\n')).not.toMatch(/Something went wrong/);
  });
});
