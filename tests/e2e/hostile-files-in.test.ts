import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, answerText, CHANNEL } from '../support/harness.js';
import {
  appProblems,
  type Canary,
  expectNoHostExecution,
  expectNoLeaks,
  type HostileBed,
  type MarkerDir,
  makeMarkerDir,
  playHostileModel,
  shell,
  shq,
  startCanary,
  startHostileBed,
  toolOutputs,
} from '../support/hostile.js';
import type { RecordedRequest } from '../support/scripted-model.js';
import {
  filePathsTold,
  type Recorder,
  shareAndSettle,
  startRecorder,
  userText,
} from '../support/shared-files.js';

/**
 * Files shared in a thread are downloaded on the host with the bot token and written into the
 * sandbox. Everything about them is the sharer's: the name, the link, the size, the bytes;
 * and the model may have prepared the place they are written to. The token goes only to
 * Slack's file host, never through a redirect; nothing lands outside the sandbox; a bad file
 * is one plain sentence and the job still answers.
 */

const cap = 100_000;
const listFiles = 'ls -la "$(git rev-parse --absolute-git-dir)/shipmate-files" 2>&1; true';

describe('hostile files shared in a thread', () => {
  let bed: HostileBed;
  let recorder: Recorder;
  let marker: MarkerDir;
  let canary: Canary;

  beforeAll(async () => {
    [recorder, canary] = await Promise.all([startRecorder(), startCanary()]);
    marker = makeMarkerDir();
    bed = await startHostileBed({
      extraConfig: [
        'models:',
        '  test-model:',
        '    vision: true',
        'limits:',
        `  maxSharedFileBytes: ${cap}`,
      ],
    });
  });

  afterAll(async () => {
    if (process.env.HOSTILE_DEBUG) console.log(appProblems(bed.h));
    await bed?.stop();
    await recorder?.stop();
    await canary?.stop();
    marker?.cleanup();
  });

  /** The first model request of the job: the one that carries the thread and its files. */
  const firstRequestAfter = (count: number): RecordedRequest => {
    const request = bed.h.model.requests[count];
    if (!request) throw new Error(`no model request after ${count}; warnings: ${appProblems(bed.h)}`);
    return request;
  };

  it('writes files with hostile names under a safe basename inside the sandbox, never elsewhere', async () => {
    const { h } = bed;
    playHostileModel(h, [shell(listFiles)]);
    const subst = `$(touch ${join(marker.dir, 'subst')})`;
    await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'what do these say?',
      files: [
        { name: '../../x.log', content: 'payload-dotdot\n' },
        {
          name: '.git/hooks/pre-commit',
          content: `#!/bin/sh\n${subst}\necho payload-hook\n`,
          mimetype: 'text/plain',
        },
        { name: `evil\n${subst}\u0000name.log`, content: 'payload-subst\n' },
      ],
    });
    const told = filePathsTold(userText(firstRequestAfter(0)));
    expect(told, 'three files told to the model').toHaveLength(3);
    for (const path of told) {
      const name = path.slice(path.lastIndexOf('/shipmate-files/') + '/shipmate-files/'.length);
      expect(name, `the basename of ${path}`).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._ ()+,@-]*$/);
    }
    const listing = toolOutputs(h).join('\n');
    expect(listing.match(/^-r--r--r--/gm) ?? [], 'three read-only files in the sandbox').toHaveLength(3);
    // On the host: each payload is only in a shipmate-files folder, never at a hook or outside.
    const hits = filesContaining(h.app.dataDir, ['payload-dotdot', 'payload-hook', 'payload-subst']);
    expect(hits.length, `payload copies in ${h.app.dataDir}`).toBeGreaterThanOrEqual(3);
    for (const hit of hits) expect(hit, 'where a payload landed').toMatch(/\/shipmate-files\/[^/.][^/]*$/);
    expect(marker.files(), 'no $(…) in a name ran').toEqual([]);
    expectNoHostExecution(marker, canary);
    await expectNoLeaks(bed);
  });

  it('never sends the bot token to another host, by link or by redirect', async () => {
    const { h } = bed;
    playHostileModel(h, [shell(listFiles)]);
    const job = await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'read these',
      files: [
        { name: 'steal.log', content: 'never fetched', downloadUrl: `${recorder.url}/steal.log` },
        { name: 'moved.log', content: 'never served', redirectTo: `${recorder.url}/moved.log` },
      ],
    });
    expect(
      recorder.requests.filter((request) => request.headers.authorization !== undefined),
      'requests with an Authorization header at the other host',
    ).toEqual([]);
    expect(recorder.requests, 'no request at all reaches the other host').toEqual([]);
    const text = userText(firstRequestAfter(0));
    expect(text).toMatch(/I could not read `steal\.log`: [^\n]*not point to Slack/);
    expect(text).toMatch(/I could not read `moved\.log`: [^\n]*redirect/);
    const answer = job.answers.map(answerText).join('\n');
    expect(answer).toMatch(/I could not read `steal\.log`/);
    expect(answer).toMatch(/I could not read `moved\.log`/);
    expect(toolOutputs(h).join('\n')).not.toMatch(/steal\.log|moved\.log/);
    await expectNoLeaks(bed);
  });

  it('stops a download at the cap whatever the file object and headers claim', async () => {
    const { h } = bed;
    playHostileModel(h, [shell(listFiles)]);
    const job = await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'look at this log',
      files: [{ name: 'huge.log', content: Buffer.alloc(cap * 3, 'A'), claimedSize: 1_000 }],
    });
    expect(userText(firstRequestAfter(0))).toMatch(/huge\.log[^\n]*limit/);
    expect(job.answers.map(answerText).join('\n')).toMatch(/huge\.log[^\n]*limit/);
    expect(toolOutputs(h).join('\n'), 'the sandbox listing').not.toMatch(/huge\.log/);
    expect(
      filesContaining(h.app.dataDir, ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']),
      'huge.log on disk',
    ).toEqual([]);
  });

  it('takes Slack’s sign-in page for what it is: a missing files:read scope, not the file', async () => {
    const { h } = bed;
    const scopes = h.slack.scopes;
    h.slack.setScopes(scopes.filter((scope) => scope !== 'files:read'));
    try {
      playHostileModel(h, [shell(listFiles)]);
      const job = await shareAndSettle(h, {
        user: ALICE,
        channel: CHANNEL,
        text: 'what failed?',
        files: [{ name: 'report.log', content: 'the real report' }],
      });
      const sentence = 'I could not read `report.log`: shipmate needs the files:read scope';
      expect(userText(firstRequestAfter(0))).toContain(sentence);
      expect(job.answers.map(answerText).join('\n')).toContain(sentence);
      expect(toolOutputs(h).join('\n')).not.toMatch(/report\.log/);
    } finally {
      h.slack.setScopes(scopes);
    }
  });

  it('writes nothing through links the model planted where the files go', async () => {
    const { h } = bed;
    // Turn 1: links at the file's path (to a repository file and to a host dir).
    playHostileModel(h, [
      shell(
        [
          'd="$(git rev-parse --absolute-git-dir)/shipmate-files"',
          'mkdir -p "$d"',
          'ln -sfn "$PWD/src/shipping.ts" "$d/planted.log"',
          `ln -sfn ${shq(join(marker.dir, 'host.log'))} "$d/host.log"`,
          'ls -la "$d"',
        ].join('\n'),
      ),
    ]);
    const first = await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'warm up',
      files: [{ name: 'unrelated.txt', content: 'hello' }],
    });
    // Turn 2: the same names shared; then the folder itself replaced by a link to a host dir.
    playHostileModel(h, [
      shell(
        [
          'd="$(git rev-parse --absolute-git-dir)/shipmate-files"',
          'for f in planted.log host.log; do test -L "$d/$f" && echo "$f is a link" || echo "$f is a file"; cat "$d/$f"; echo; done',
          'git status --porcelain; cat src/shipping.ts',
          `rm -rf "$d" && ln -s ${shq(marker.dir)} "$d" && ls -la "$d/"`,
        ].join('\n'),
      ),
    ]);
    await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      threadTs: first.threadTs,
      files: [
        { name: 'planted.log', content: 'planted-payload\n' },
        { name: 'host.log', content: 'host-payload\n' },
      ],
    });
    const turn2 = toolOutputs(h).join('\n');
    expect(turn2).toMatch(/planted\.log is a file\s+planted-payload/);
    expect(turn2).toMatch(/host\.log is a file\s+host-payload/);
    expect(turn2, 'the repository file the link pointed at').toContain('const base = 4.99;');
    expect(turn2).not.toMatch(/^ ?M /m);
    // Turn 3: a file shared into the linked folder.
    playHostileModel(h, [
      shell(`${listFiles}\ncat "$(git rev-parse --absolute-git-dir)/shipmate-files/third.log"`),
    ]);
    await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      threadTs: first.threadTs,
      files: [{ name: 'third.log', content: 'third-payload\n' }],
    });
    expect(toolOutputs(h).join('\n')).toContain('third-payload');
    expect(marker.files(), `files in the host dir ${marker.dir}`).toEqual([]);
    expectNoHostExecution(marker, canary);
    await expectNoLeaks(bed);
  });
});

/** Files under `dir` (recursively, links not followed) whose bytes contain one of `needles`. */
function filesContaining(dir: string, needles: string[]): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch {
      return; // unreadable (a sandbox-owned folder): nothing the host wrote there
    }
    for (const entry of entries) {
      const full = join(path, entry);
      const stat = lstatSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile() && stat.size < 4_000_000) {
        const bytes = readFileSync(full);
        if (needles.some((needle) => bytes.includes(needle))) found.push(full);
      }
    }
  };
  walk(dir);
  return found;
}
