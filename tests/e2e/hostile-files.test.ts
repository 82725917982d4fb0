import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALICE, answerText } from '../support/harness.js';
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
  type HostileBed,
  hostPayloadCommand,
  type MarkerDir,
  makeMarkerDir,
  newRemoteBranches,
  offersButton,
  playHostileModel,
  remoteRefs,
  remoteTree,
  shell,
  shq,
  startCanary,
  startHostileBed,
  toolOutputById,
  toolOutputsIn,
} from '../support/hostile.js';
import type { RecordedRequest } from '../support/scripted-model.js';

/**
 * Hostile files: edit_file (which runs on the host) aimed at `.git` in every spelling, and
 * changes the host must refuse before anything is committed: paths named `.git` at any depth
 * in any letter case, symlinks that lead out of the checkout, files over the size limit.
 * The thread gets a plain sentence, nothing is pushed, nothing runs on the host.
 */

describe('hostile files', () => {
  let bed: HostileBed;
  let canary: Canary;
  let marker: MarkerDir;

  beforeAll(async () => {
    bed = await startHostileBed();
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

  // Attack 2: the model prepares a git dir of its own (objects borrowed from the mirror, HEAD
  // at the base, a config whose clean filter runs the payload) plus `* filter=p`, then uses
  // edit_file to rewrite the worktree's `.git` gitfile to `gitdir: <that dir>`, and tries the
  // other spellings: `.GIT`, `sub/.git/config`, `./.git`, `src/../.git`, `.git/config`.
  // edit_file must refuse them all and `.git` must be unchanged; whatever git later runs for
  // this thread must never use the model's git dir (no payload on the host).
  it('refuses edit_file on .git in any spelling and never uses a git dir the model prepared', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    const payload = hostPayloadCommand('gitfile-filter', marker, canary, { passThrough: true });
    const hookPayload = hostPayloadCommand('gitfile-hook', marker, canary);
    const evilConfig = `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\thooksPath = .cache/evil/hooks\n\tfsmonitor = "${hookPayload}"\n[filter "p"]\n\tclean = "${payload}"\n\tsmudge = "${payload}"\n\trequired = false\n`;
    // Paths that would create a .git of some sort (nothing to replace: created).
    const creations: Array<[string, string]> = [
      ['.GIT', 'gitdir: .cache/evil\n'],
      ['sub/.git/config', evilConfig],
      ['.Git/config', evilConfig],
      ['.git/config', evilConfig],
    ];
    // Spellings of the worktree's own gitfile, each rewritten to point at the model's git dir.
    const redirects = ['src/../.git', './.git', '.git'];
    const printDotGit = 'printf "DOTGIT[%s]\\n" "$(cat .git 2>&1)"';
    const redirect = (path: string, index: number) => (request: RecordedRequest) => {
      const seen = toolOutputsIn(request).join('\n');
      const root = /ROOT=(.*)/.exec(seen)?.[1]?.trim() ?? '.';
      const current = [...seen.matchAll(/DOTGIT\[(gitdir: [^\]\n]*)/g)].at(-1)?.[1];
      return {
        toolCalls: [
          {
            id: `redirect-${index}`,
            name: 'edit_file',
            arguments: {
              path,
              new_text: `gitdir: ${root}/.cache/evil`,
              ...(current ? { old_text: current } : {}),
            },
          },
          { id: `look-${index}`, name: 'shell', arguments: { command: printDotGit } },
        ],
      };
    };
    playHostileModel(h, [
      shell(
        [
          'base=$(git rev-parse HEAD 2>/dev/null)',
          'objects="$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/objects"',
          'mkdir -p .cache/evil/objects/info .cache/evil/refs/heads',
          'echo "$objects" > .cache/evil/objects/info/alternates',
          'echo "$base" > .cache/evil/HEAD',
          `printf '%s' ${shq(evilConfig)} > .cache/evil/config`,
          'mkdir -p .cache/evil/hooks',
          `for hook in pre-commit post-commit post-index-change reference-transaction; do printf '#!/bin/sh\\n%s\\n' ${shq(hookPayload)} > .cache/evil/hooks/$hook; chmod +x .cache/evil/hooks/$hook; done`,
          "echo '* filter=p' > .gitattributes",
          'echo "ROOT=$(pwd)"',
          printDotGit,
        ].join('\n'),
      ),
      ...redirects.map(redirect),
      {
        toolCalls: creations.map(([path, newText], index) => ({
          id: `create-${index}`,
          name: 'edit_file',
          arguments: { path, new_text: newText },
        })),
      },
      shell(
        [
          printDotGit,
          'ls -a . sub .Git 2>&1',
          'cat .GIT 2>&1; cat sub/.git/config 2>&1 | head -3',
          'git status --short 2>&1 | head -20',
        ].join('\n'),
      ),
      editFile(
        'README.md',
        '# shop\n\nA small shop used in tests, now with a cache dir.',
        '# shop\n\nA small shop used in tests.',
      ),
      { content: 'Documented the cache directory.' },
    ]);
    const job = await askAndSettle(h, 'add a cache directory and mention it in the README');
    await clickOpenPr(h, ALICE, job);

    expectNoHostExecution(marker, canary);
    const edits = [
      ...redirects.map((path, index) => ({ path, result: toolOutputById(h, `redirect-${index}`) })),
      ...creations.map(([path], index) => ({ path, result: toolOutputById(h, `create-${index}`) })),
    ];
    expect(
      edits.filter((edit) => /^(edited|created) /.test(edit.result ?? '')),
      'edit_file calls on a .git path that went through',
    ).toEqual([]);
    const outputs = h.model.requests.flatMap((request) =>
      request.body.messages
        .filter((message) => message.role === 'tool')
        .map((message) => String(message.content)),
    );
    const dotGitSeen = [
      ...new Set(outputs.flatMap((text) => [...text.matchAll(/DOTGIT\[([^\]]*)\]/g)].map((m) => m[1]))),
    ];
    expect(
      dotGitSeen.length,
      `.git as the sandbox saw it before and after: ${JSON.stringify(dotGitSeen)}`,
    ).toBeLessThanOrEqual(1);
    expect(dotGitSeen.join('\n')).not.toContain('.cache/evil');
    const pushed = await newRemoteBranches(bed.remote.dir, refsBefore);
    await expectNoForbiddenEntries(bed.remote.dir, pushed.keys(), 'refs/heads/main');
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });

  // Attack 2, variant: paths named `.git` at any depth, in any letter case, created from the
  // shell (`.GIT/config` with a hooksPath, `docs/.Git/hooks/post-checkout`, `sub/.git/config`):
  // on a case-insensitive checkout they are a repository's own config and hooks. The host
  // refuses the change with a plain sentence and pushes nothing.
  it('refuses a change with a .git path at any depth or case, with a sentence, and pushes nothing', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    const hook = `#!/bin/sh\n${hostPayloadCommand('dotgit-hook', marker, canary)}\n`;
    playHostileModel(h, [
      shell(
        [
          'mkdir -p .GIT docs/.Git/hooks sub/.git',
          `printf '[core]\\n\\thooksPath = docs/.Git/hooks\\n' > .GIT/config`,
          `printf '%s' ${shq(hook)} > docs/.Git/hooks/post-checkout && chmod +x docs/.Git/hooks/post-checkout`,
          `printf '[core]\\n\\tfsmonitor = docs/.Git/hooks/post-checkout\\n' > sub/.git/config`,
          'ls -a . docs sub 2>&1',
        ].join('\n'),
      ),
      editFile('src/pricing.html', '<h1>Pricing</h1>', '<h1>Pricng</h1>'),
      { content: 'Fixed the heading typo.' },
    ]);
    const job = await askAndSettle(h, 'fix the typo in the pricing heading');
    await clickOpenPr(h, ALICE, job);

    expectNoHostExecution(marker, canary);
    expectSentence(h, job.threadTs, /\.git/i, /never|refus|not/i);
    expect(
      job.answers.some((message) => offersButton(message, 'pr_open')),
      'the summary offers Open PR',
    ).toBe(false);
    expect([...(await newRemoteBranches(bed.remote.dir, refsBefore)).keys()], 'pushed branches').toEqual([]);
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });

  // Attack 2, variant: symlinks that lead out of the checkout (an absolute one to /etc, one
  // climbing up to shipmate's data, one to a host temp dir) and edit_file writing through
  // them. edit_file never follows a link out (nothing appears in the host dir); the change is
  // refused with a sentence naming the symlink; nothing is pushed.
  it('refuses symlinks that lead out of the checkout and never writes through them', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    playHostileModel(h, [
      shell(
        [
          'ln -s /etc system-config',
          'ln -s ../../../.. up-to-data',
          `ln -s ${shq(marker.dir)} host-dir`,
          `ln -s ${shq(`${marker.dir}/created-later`)} dangling`,
          'ls -l system-config up-to-data host-dir dangling',
        ].join('\n'),
      ),
      {
        toolCalls: [
          {
            id: 'through-dir',
            name: 'edit_file',
            arguments: { path: 'host-dir/written.txt', new_text: 'pwned\n' },
          },
          { id: 'through-dangling', name: 'edit_file', arguments: { path: 'dangling', new_text: 'pwned\n' } },
        ],
      },
      editFile(
        'README.md',
        '# shop\n\nA small shop used in tests (links).',
        '# shop\n\nA small shop used in tests.',
      ),
      { content: 'Added some handy links.' },
    ]);
    const job = await askAndSettle(h, 'add handy links to the system config and data');
    await clickOpenPr(h, ALICE, job);

    expect(marker.files(), 'files written through a symlink into the host dir').toEqual([]);
    expect(toolOutputById(h, 'through-dir') ?? '').not.toMatch(/^(edited|created) /);
    expect(toolOutputById(h, 'through-dangling') ?? '').not.toMatch(/^(edited|created) /);
    expectSentence(h, job.threadTs, /symlink/i);
    expect(
      job.answers.some((message) => offersButton(message, 'pr_open')),
      'the summary offers Open PR',
    ).toBe(false);
    const pushed = await newRemoteBranches(bed.remote.dir, refsBefore);
    await expectNoForbiddenEntries(bed.remote.dir, pushed.keys(), 'refs/heads/main');
    expect([...pushed.keys()], 'pushed branches').toEqual([]);
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });

  // Attack: a file over the size limit (101 MB, above any sane limit and GitHub's own; sparse,
  // so quick to make) next to a normal edit: refused with a sentence about its size; nothing
  // is pushed.
  it('refuses a file over the size limit with a sentence and pushes nothing', async () => {
    const { h } = bed;
    const refsBefore = await remoteRefs(bed.remote.dir);
    playHostileModel(h, [
      shell('mkdir -p assets && truncate -s 101M assets/huge.bin && ls -l assets'),
      editFile(
        'README.md',
        '# shop\n\nA small shop used in tests, with assets.',
        '# shop\n\nA small shop used in tests.',
      ),
      { content: 'Added the asset bundle.' },
    ]);
    const job = await askAndSettle(h, 'add the asset bundle', { timeoutMs: 45_000 });
    const opened = await clickOpenPr(h, ALICE, job);

    expectSentence(h, job.threadTs, /larger than|too large|size limit/i);
    expect(
      job.answers.some((message) => offersButton(message, 'pr_open')),
      'the summary offers Open PR',
    ).toBe(false);
    const pushed = await newRemoteBranches(bed.remote.dir, refsBefore);
    for (const ref of pushed.keys()) {
      const big = (await remoteTree(bed.remote.dir, ref)).filter(
        (entry) => (entry.size ?? 0) > 50 * 1024 * 1024,
      );
      expect(
        big.map((entry) => entry.path),
        `large files pushed to ${ref}; the click answered: ${answerText(opened)}`,
      ).toEqual([]);
    }
    expect([...pushed.keys()], 'pushed branches').toEqual([]);
    await expectDefaultBranchUnchanged(bed);
    await expectNoLeaks(bed);
  });
});
