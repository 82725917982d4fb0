/**
 * Change request latency on a large repository, through the real app (dist/main.js) and the
 * test stand-ins (Slack emulator, scripted model, GitHub), all on loopback.
 * Run: npm run build && npx tsx bench/change-bench.ts [--files 3000] [--commits 10000] [--reps 7]
 * Prints figures; asserts nothing.
 *
 * For a one-file change, each repetition in a new thread (so a fresh checkout, made before the
 * model's first step and so outside the windows):
 * 1. the change request's last model step served → the summary with Open PR in the thread
 *    (staging: sandboxed export + host import, no checks, the review, posting)
 * 2. the Open PR click → the PR link in the thread (re-stage, commit, push, GitHub)
 * each beside a plain `git add -A && git commit -q -m x` of the same change in a plain clone of
 * the same repository (spawned git, no sandbox), measured in the same run.
 * Goal: each under 3× that plain baseline.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint } from '../tests/support/app-process.js';
import {
  type BareRemote,
  createBareRemote,
  createLargeRepo,
  git,
  type LargeRepo,
} from '../tests/support/git-fixtures.js';
import { GitHubStandIn } from '../tests/support/github-stand-in.js';
import { ALICE, answerText, CHANNEL, Harness, waitFor } from '../tests/support/harness.js';
import type { RecordedRequest, ScriptedReply } from '../tests/support/scripted-model.js';
import type { EmulatedMessage, EmulatorChange } from '../tests/support/slack-emulator.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const files = option('files', 3_000);
const commits = option('commits', 10_000);
const reps = Math.min(50, option('reps', 7));
const goalRatio = 3;
const token = 'ghp_shipmateBenchToken0123456789abcdefgh';
/** The one file every repetition changes (first file of the generated repository). */
const changedPath = 'src/module-000/file-00000.ts';
const oldText = '// file 0, revision';
const newText = '// File 0, revision';

/** Marks of one repetition: performance.now() unless named `…Date` (Date.now(), for the emulator's call log). */
interface Rep {
  threadTs: string;
  lastStepAt?: number;
  reviewAskedAt?: number;
  summaryAt?: number;
  summary?: EmulatedMessage;
  clickAt?: number;
  clickDate?: number;
  clickAckMs?: number;
  prAt?: number;
  prDate?: number;
  prText?: string;
  otherAfterClick?: string;
}

interface RepResult {
  toSummary: number;
  toPr: number;
  stageToReview: number;
  reviewToSummary: number;
  clickAck: number;
  clickToPermalink: number | undefined;
  permalinkToPr: number | undefined;
  mirrorFetches: number;
  summaryNote: string | undefined;
}

export async function runChangeBench(): Promise<void> {
  if (!existsSync(entryPoint)) {
    console.log(`change bench: ${entryPoint} is missing; run \`npm run build\` first.`);
    return;
  }
  const base = await mkdtemp(join(tmpdir(), 'shipmate-change-bench-'));
  console.log(
    `change bench: one-file change in a ${files}-file repository (${commits} commits), ${reps} repetitions, checks: []\n`,
  );
  let large: LargeRepo | undefined;
  let remote: BareRemote | undefined;
  let h: Harness | undefined;
  const github = new GitHubStandIn({ token });
  let current: Rep | undefined;
  const onChange = (change: EmulatorChange) => {
    const rep = current;
    if (!rep || (change.type !== 'message-posted' && change.type !== 'message-updated')) return;
    const { message } = change;
    if (message.thread_ts !== rep.threadTs || !message.bot_id) return;
    const now = performance.now();
    const wire = JSON.stringify(message.blocks ?? []);
    if (rep.summaryAt === undefined && wire.includes('"pr_open"')) {
      rep.summaryAt = now;
      rep.summary = message;
      return;
    }
    if (rep.clickAt === undefined || change.type !== 'message-posted') return;
    const text = `${message.text}\n${answerText(message)}`;
    if (rep.prAt === undefined && /pull request #\d+/.test(text)) {
      rep.prAt = now;
      rep.prDate = Date.now();
      rep.prText = text;
    } else if ((message.blocks ?? []).some((block) => block.type === 'markdown')) {
      rep.otherAfterClick ??= text;
    }
  };
  try {
    await github.start();
    github.addRepo('acme/large', { defaultBranch: 'main' });
    const setupStarted = performance.now();
    h = await Harness.start({
      env: { GITHUB_TOKEN: token, GITHUB_API_URL: github.apiUrl, LOG_LEVEL: 'debug' },
      config: [
        'repos:',
        '  - name: large',
        '    url: "{{remote}}"',
        '    defaultBranch: main',
        '    github: acme/large',
        '    checks: []',
        'access:',
        `  writers: [${ALICE}]`,
      ].join('\n'),
      beforeLaunch: async () => {
        const started = performance.now();
        large = await createLargeRepo({ files, commits });
        remote = await createBareRemote(large.dir);
        console.log(`generated the repository with git fast-import in ${ms(performance.now() - started)}`);
        return { remote: remote.url };
      },
    });
    console.log(`app ready after ${ms(performance.now() - setupStarted)} (repository included)`);
    if (!remote) throw new Error('the bare remote was not created');
    const harness = h;
    h.model.respondWith(scriptedAgent(() => current));
    h.slack.on('change', onChange);

    const plain = join(base, 'plain');
    await git(base, ['clone', '--quiet', '--no-local', remote.url, plain]);
    const plainFile = join(plain, changedPath);
    const original = await readFile(plainFile, 'utf8');
    if (!original.includes(oldText)) throw new Error(`${changedPath} does not contain "${oldText}"`);

    // Warm-up: the first request clones the mirror and starts the sandbox; not counted.
    const warm = performance.now();
    const warmResult = await repetition(harness, github, 'warm-up', (rep) => {
      current = rep;
    });
    console.log(
      `warm-up request (mirror clone, first sandbox use; not counted): ${ms(performance.now() - warm)} end to end` +
        (warmResult ? '' : ' (failed, see above)'),
    );

    const results: RepResult[] = [];
    const baseline: number[] = [];
    const freshIndexExport: number[] = [];
    for (let index = 0; index < reps; index += 1) {
      const result = await repetition(harness, github, `run ${index + 1}`, (rep) => {
        current = rep;
      });
      current = undefined;
      if (result) results.push(result);
      // The plain baseline, interleaved with the app's repetitions: same machine state.
      await writeFile(plainFile, original.replace(oldText, newText));
      freshIndexExport.push(await timedShell(exportWithoutSandbox, plain));
      baseline.push(await timedShell('git add -A && git commit -q -m x', plain));
      await runShell('git reset -q --hard HEAD~1', plain);
    }
    report(results, baseline, freshIndexExport);
  } catch (error) {
    console.log(`change bench stopped: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    current = undefined;
    h?.slack.off('change', onChange);
    await h?.stop();
    await github.stop();
    await remote?.cleanup();
    await large?.cleanup();
    await rm(base, { recursive: true, force: true });
  }
}

/**
 * The model's side of a change request: step 1 edits the file, step 2 answers (the last
 * step; the time it is served is the start of window 1); the review call gets "LGTM".
 */
function scriptedAgent(rep: () => Rep | undefined) {
  return (request: RecordedRequest): ScriptedReply => {
    const first = request.body.messages[0];
    const system = typeof first?.content === 'string' ? first.content : '';
    const marks = rep();
    if (system.includes('strict code reviewer')) {
      if (marks) marks.reviewAskedAt = performance.now();
      return { content: 'LGTM' };
    }
    if (!request.body.messages.some((message) => message.role === 'tool')) {
      return {
        toolCalls: [
          { name: 'edit_file', arguments: { path: changedPath, old_text: oldText, new_text: newText } },
        ],
      };
    }
    if (marks) marks.lastStepAt = performance.now();
    return { content: 'Fixed the capitalisation of the header comment.' };
  };
}

/** One change request in a new thread, then the Open PR click. Undefined when it did not get through. */
async function repetition(
  h: Harness,
  github: GitHubStandIn,
  label: string,
  setCurrent: (rep: Rep) => void,
): Promise<RepResult | undefined> {
  const pullsBefore = github.pulls.length;
  const rep: Rep = { threadTs: '' };
  setCurrent(rep);
  try {
    const { ts } = await h.slack.mention({
      user: ALICE,
      channel: CHANNEL,
      text: `fix the capitalisation of the header comment in ${changedPath} (${label})`,
    });
    rep.threadTs = ts;
    const jobEnded = (line: { msg: string; threadTs?: unknown }) =>
      (line.msg === 'job-succeeded' || line.msg === 'job-failed') && line.threadTs === ts;
    await waitFor(
      () => rep.summaryAt !== undefined || h.app.logs.some(jobEnded),
      180_000,
      `the summary in ${label}`,
    );
    if (rep.summaryAt === undefined || !rep.summary) {
      console.log(
        `  ${label}: no summary with Open PR; the thread says: ${h.answers(ts).map(answerText).join(' | ').slice(0, 400)}`,
      );
      return undefined;
    }
    if (rep.lastStepAt === undefined) {
      console.log(`  ${label}: the model never served a final answer`);
      return undefined;
    }
    rep.clickDate = Date.now();
    rep.clickAt = performance.now();
    const click = await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: rep.summary.ts,
      actionId: 'pr_open',
    });
    rep.clickAckMs = click.elapsedMs;
    await waitFor(
      () => rep.prAt !== undefined || rep.otherAfterClick !== undefined,
      180_000,
      `the PR link in ${label}`,
    );
    if (rep.prAt === undefined || rep.prDate === undefined) {
      console.log(
        `  ${label}: no PR link after the click; the thread says: ${String(rep.otherAfterClick).slice(0, 400)}`,
      );
      return undefined;
    }
    if (github.pulls.length !== pullsBefore + 1)
      console.log(`  ${label}: note: ${github.pulls.length - pullsBefore} PRs opened`);
    const permalink = h.slack.calls.find(
      (call) =>
        call.method === 'chat.getPermalink' &&
        call.at >= (rep.clickDate ?? 0) &&
        call.at <= (rep.prDate ?? 0),
    );
    const fetches = h.app.logs.filter((line) => {
      const at = typeof line.time === 'string' ? Date.parse(line.time) : Number.NaN;
      return line.msg === 'mirror fetched' && at >= (rep.clickDate ?? 0) && at <= (rep.prDate ?? 0);
    }).length;
    const summaryText = answerText(rep.summary);
    return {
      toSummary: rep.summaryAt - rep.lastStepAt,
      toPr: rep.prAt - rep.clickAt,
      stageToReview: (rep.reviewAskedAt ?? Number.NaN) - rep.lastStepAt,
      reviewToSummary: rep.summaryAt - (rep.reviewAskedAt ?? Number.NaN),
      clickAck: rep.clickAckMs,
      clickToPermalink: permalink ? permalink.at - rep.clickDate : undefined,
      permalinkToPr: permalink ? rep.prDate - permalink.at : undefined,
      mirrorFetches: fetches,
      summaryNote: summaryText.includes(`\`${changedPath}\` +1 −1`)
        ? undefined
        : `summary does not show \`${changedPath}\` +1 −1`,
    };
  } catch (error) {
    console.log(`  ${label}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 600));
    return undefined;
  }
}

function report(results: RepResult[], baseline: number[], freshIndexExport: number[]): void {
  const plain = median(baseline);
  console.log(`\n${results.length} of ${reps} repetitions got through (each a new thread and checkout)`);
  for (const note of new Set(results.map((result) => result.summaryNote).filter(Boolean))) {
    console.log(`  note: ${note}`);
  }
  const rows: Array<[string, number[]]> = [
    ['last model step → summary with Open PR', results.map((result) => result.toSummary)],
    ['Open PR click → PR link in the thread', results.map((result) => result.toPr)],
  ];
  console.log(
    `\n  plain \`git add -A && git commit -q -m x\` (plain clone, spawned git): median ${ms(plain)}, p90 ${ms(p90(baseline))} (n=${baseline.length})`,
  );
  for (const [label, samples] of rows) {
    const value = median(samples);
    const ratio = value / plain;
    const met = Number.isFinite(ratio) && ratio < goalRatio;
    console.log(`  ${label}`);
    console.log(
      `    median ${ms(value)}, p90 ${ms(p90(samples))} (n=${samples.length})   ${ratio.toFixed(1)}× the plain baseline   goal < ${goalRatio}×: ${met ? 'MET' : 'NOT MET'}`,
    );
  }
  const defined = (values: Array<number | undefined>) =>
    values.filter((value): value is number => value !== undefined);
  console.log('\nwhere the time goes (medians)');
  console.log('  window 1');
  console.log(
    `    last step served → review request at the model:  ${ms(median(results.map((r) => r.stageToReview)))}   (agent loop end, stage: sandboxed export + host import; no checks)`,
  );
  console.log(
    `    review request → summary posted:                  ${ms(median(results.map((r) => r.reviewToSummary)))}   (review answered at once with LGTM; compose, store the change, chat.postMessage)`,
  );
  console.log('  window 2');
  console.log(
    `    click → ack (seen by the emulator):               ${ms(median(results.map((r) => r.clickAck)))}`,
  );
  console.log(
    `    click → chat.getPermalink:                        ${ms(median(defined(results.map((r) => r.clickToPermalink))))}   (acquire, re-stage, commit-tree, sandboxed git reset, push)`,
  );
  console.log(
    `    chat.getPermalink → PR link posted:               ${ms(median(defined(results.map((r) => r.permalinkToPr))))}   (GitHub: find open PR, create; chat.postMessage)`,
  );
  const fetches = results.reduce((sum, r) => sum + r.mirrorFetches, 0);
  if (fetches > 0)
    console.log(`    mirror fetches inside window 2: ${fetches} (the mirror's 60 s fetch interval ran out)`);
  console.log('  reference, plain clone, no sandbox');
  console.log(
    `    the export's git steps with a fresh index (read-tree + add -A + diff --cached --binary): ${ms(median(freshIndexExport))}`,
  );
}

/** The git part of sandbox-workspace's export script, on the host, without the sandbox. */
const exportWithoutSandbox = [
  'idx="$(mktemp -u)"',
  'export GIT_INDEX_FILE="$idx"',
  'git read-tree HEAD',
  'git add -A',
  'git diff --cached --binary --full-index --no-renames --no-color HEAD > /dev/null',
  'rm -f "$idx"',
].join(' && ');

async function timedShell(command: string, cwd: string): Promise<number> {
  const started = performance.now();
  await runShell(command, cwd);
  return performance.now() - started;
}

/** A plain spawned shell with git's identity in env and no global or system git config. */
function runShell(command: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['--norc', '--noprofile', '-c', command], {
      cwd,
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: cwd,
        LANG: 'C.UTF-8',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: 'bench',
        GIT_AUTHOR_EMAIL: 'bench@shipmate.invalid',
        GIT_COMMITTER_NAME: 'bench',
        GIT_COMMITTER_EMAIL: 'bench@shipmate.invalid',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

function median(samples: number[]): number {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest rank: with 7 samples this is the slowest. */
function p90(samples: number[]): number {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.9 * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

if (import.meta.url === `file://${process.argv[1]}`) await runChangeBench();
