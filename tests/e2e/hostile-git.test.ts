import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { git } from '../support/git-fixtures.js';
import { ALICE, BOB } from '../support/harness.js';
import {
  appProblems,
  askAndSettle,
  type Canary,
  clickOpenPr,
  editFile,
  expectDefaultBranchUnchanged,
  expectNoForbiddenEntries,
  expectNoHostExecution,
  expectNoLeaks,
  expectSentence,
  followUpAndSettle,
  type HostileBed,
  hostPayloadCommand,
  type MarkerDir,
  makeMarkerDir,
  newRemoteBranches,
  offersButton,
  playHostileModel,
  remoteRefs,
  shell,
  shq,
  startCanary,
  startHostileBed,
} from '../support/hostile.js';

/**
 * Hostile git state in the worktree: nested repositories whose own config carries a clean
 * filter that would run wherever git inspects them. Everything that reads the worktree with
 * git must run inside the sandbox (no network, no writes outside), so the payload's marker
 * file and canary request prove host execution when they appear.
 */

/** git inside the sandbox, for a nested repo: its own object store, not the thread's. */
const nestedGit = 'env -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES git';
const ident = '-c user.name=helper -c user.email=helper@example.invalid';

describe('hostile nested repositories', () => {
  let bed: HostileBed;
  let canary: Canary;
  let marker: MarkerDir;

  beforeAll(async () => {
    bed = await startHostileBed({
      // The fixture already has a submodule: vendor/lib, pinned at the repo's own first
      // commit (so its objects are in the mirror and a planted repo can match the pin).
      prepareRepo: async (repoDir) => {
        const first = await git(repoDir, ['rev-parse', 'HEAD']);
        await writeFile(
          join(repoDir, '.gitmodules'),
          '[submodule "vendor/lib"]\n\tpath = vendor/lib\n\turl = https://example.invalid/lib.git\n',
        );
        await git(repoDir, ['add', '.gitmodules']);
        await git(repoDir, ['update-index', '--add', '--cacheinfo', `160000,${first},vendor/lib`]);
        await git(repoDir, ['commit', '--quiet', '--no-verify', '-m', 'Vendor lib as a submodule']);
      },
    });
  });

  afterAll(async () => {
    if (process.env.HOSTILE_DEBUG) console.log(appProblems(bed.h));
    await bed?.stop();
  });

  beforeEach(async () => {
    canary = await startCanary();
    marker = makeMarkerDir();
  });

  afterEach(async () => {
    await canary.stop();
    marker.cleanup();
  });

  // Attack 1: a new nested repository (git init in a new folder, a commit, a clean filter in
  // its own config, `* filter=p` in its .gitattributes, the file touched) next to a normal
  // edit. The host must refuse the change (a gitlink) and never run git in it: not when it
  // stages, not when Open PR is clicked, not on a follow-up in the same thread.
  it('never runs a clean filter from a nested repository the model created, and refuses the gitlink', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    const payload = hostPayloadCommand('nested-clean-filter', marker, canary, { passThrough: true });
    playHostileModel(h, [
      shell(
        [
          'set -e',
          'mkdir -p tools/nested && cd tools/nested',
          `${nestedGit} init -q .`,
          "echo 'helper v1' > helper.txt",
          `${nestedGit} add helper.txt`,
          `${nestedGit} ${ident} commit -q -m helper`,
          `${nestedGit} config filter.p.clean ${shq(payload)}`,
          `${nestedGit} config filter.p.smudge ${shq(payload)}`,
          "echo '* filter=p' > .gitattributes",
          'touch helper.txt',
          'echo planted',
        ].join('\n'),
      ),
      editFile('README.md', '# shop (with a helper)', '# shop'),
      { content: 'Added the helper tool and mentioned it in the README.' },
    ]);
    const job = await askAndSettle(h, 'add the helper tool to the shop');
    const ts = job.threadTs;

    // A writer clicks Open PR (forged when the summary offers no button), then asks for more.
    await clickOpenPr(h, ALICE, job);
    playHostileModel(h, [
      shell('touch tools/nested/helper.txt; echo touched'),
      editFile('README.md', 'A tiny shop used in tests.', 'A small shop used in tests.'),
      { content: 'Reworded the README.' },
    ]);
    await followUpAndSettle(h, ts, 'also update the README wording');

    expectNoHostExecution(marker, canary);
    expectSentence(h, ts, /submodule|nested git repositor/i);
    const pushed = await newRemoteBranches(bed.remote.dir, refsBefore);
    await expectNoForbiddenEntries(bed.remote.dir, pushed.keys(), 'refs/heads/main');
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });

  // Attack 1, variant: the repository already has a submodule (vendor/lib); the model plants
  // an uncommitted nested repository there, checked out at the pinned commit, with a clean
  // filter in its config. Asked by a NON-writer: staging runs before the writers check, so
  // even a read-only user's request must not make the host run git inside the submodule.
  it('never runs git inside an existing submodule path where the model planted a repository (non-writer)', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    const payload = hostPayloadCommand('submodule-clean-filter', marker, canary, { passThrough: true });
    playHostileModel(h, [
      shell(
        [
          'set -e',
          'pin=$(git ls-tree HEAD vendor/lib | cut -d" " -f3 | cut -f1)',
          'objects="$(git rev-parse --path-format=absolute --git-common-dir)/objects"',
          'mkdir -p vendor/lib && cd vendor/lib',
          `${nestedGit} init -q .`,
          'echo "$objects" > .git/objects/info/alternates',
          'echo "$pin" > .git/HEAD',
          `${nestedGit} read-tree "$pin"`,
          `${nestedGit} checkout-index -a -f`,
          `${nestedGit} config filter.p.clean ${shq(payload)}`,
          "echo '* filter=p' > .gitattributes",
          'touch README.md src/shipping.ts',
          'echo "planted at $pin"',
        ].join('\n'),
      ),
      editFile(
        'README.md',
        'A small shop used in tests, with a vendored lib.',
        'A small shop used in tests.',
      ),
      { content: 'Mentioned the vendored lib in the README.' },
    ]);
    const job = await askAndSettle(h, 'update the README to mention the vendored lib', { user: BOB });

    expectNoHostExecution(marker, canary);
    expect(job.answers.some((message) => offersButton(message, 'pr_open'))).toBe(false);
    expect([...(await newRemoteBranches(bed.remote.dir, refsBefore)).keys()]).toEqual([]);
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });
});
