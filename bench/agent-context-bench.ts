/**
 * Context and sessions of a long investigation, through the real app (dist/main.js) and the test
 * stand-ins, with a 32,768-token window (`models: { test-model: { contextTokens: 32768 } }`).
 * Run: npm run build && node_modules/.bin/tsx bench/run.ts agent [--files 3000] [--commits 1500]
 * Prints figures; asserts nothing.
 *
 * A 3,000-file repository (a fast-import history, then one commit with realistic file sizes, a
 * package.json and a long CI log). Turn 1: a question answered in 20 steps (19 `shell` calls with
 * large real outputs, then the answer). Turn 2: a follow-up reply from the same person in the same
 * thread, answered in 3 steps. Every model reply waits 300 ms, then streams at 40 tokens/s.
 * From the recorded requests: prompt tokens (JSON length of messages + tools / 4), prefix reuse
 * between consecutive requests of a turn, the peak request against the window, summarization
 * requests, wall time per turn; and the follow-up beside re-reading the first turn from scratch
 * (its last request with every tool output in full, plus the answer and the follow-up question).
 * Goals: no request over the window; prefix reuse ≥ 90 %; follow-up < half of re-reading.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint } from '../tests/support/app-process.js';
import { commitFiles, createLargeRepo, type LargeRepo } from '../tests/support/git-fixtures.js';
import { ALICE, CHANNEL, Harness } from '../tests/support/harness.js';
import type {
  ChatMessage,
  RecordedRequest,
  ScriptedReply,
  ScriptedToolCall,
} from '../tests/support/scripted-model.js';
import type { EmulatedMessage } from '../tests/support/slack-emulator.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const totalFiles = option('files', 3_000);
const commits = option('commits', 1_500);
const window = 32_768;
const pace = { delayMs: 300, tokensPerSecond: 40 } as const;
const summaryPrefix = 'You keep notes for yourself';
/** toolResultBudget in src/agent/model/context-budget.ts for this window and the default 8,192-token reserve. */
const resultBudgetChars = Math.floor(Math.min(6_000, Math.max(500, Math.floor((window - 8_192) / 10))) * 3.6);
/** Files besides the generated sources: package.json, README.md, tsconfig.json, the CI log. */
const extraFiles = 4;
const sourceCount = Math.max(100, totalFiles - extraFiles);
const definitionFile = sourcePath(417);
const configFile = sourcePath(1_234);
const logFile = 'logs/ci-test-run.log';

/** Turn 1: 19 shell commands with large real outputs, then the answer (step 20). */
const investigation = [
  'cat package.json',
  'ls -la logs && wc -l logs/*',
  `cat ${logFile}`,
  `rg -n "TimeoutError|ETIMEDOUT" ${logFile} | head -80`,
  'rg -n "retryWithBackoff" src',
  'rg -n "export (async )?function retryWithBackoff" src',
  `sed -n 1,220p ${definitionFile}`,
  'rg -n "maxAttempts" src | head -120',
  'git log --oneline -n 250',
  `git log -n 25 --stat -- ${definitionFile.split('/').slice(0, 2).join('/')}`,
  'rg -n -C3 "checkoutTimeoutMs" src',
  `sed -n 1,400p ${configFile}`,
  'rg -c "retryWithBackoff" src | sort -t: -k2 -nr | head -60',
  'rg -n "describe\\(" src/module-020 | head -120',
  'git show --stat HEAD~3',
  'rg -n "setTimeout\\(" src | head -300',
  `sed -n 300,700p ${logFile}`,
  `git log -p -n 3 -- ${sourcePath(2)}`,
  'rg -n "jitter" src',
];
const finalAnswer = [
  'The intermittent checkout timeouts come from the retry helper, not from the payment gateway.',
  '',
  `- \`retryWithBackoff\` (\`${definitionFile}:12\`) doubles the delay on every attempt but never caps it, and the jitter is added *after* the cap check, so the fourth attempt can wait well past the ${'`checkoutTimeoutMs`'} of 8 s set in \`${configFile}:9\`.`,
  `- The CI log shows the pattern: every \`TimeoutError\` in \`${logFile}\` follows three \`retrying in\` lines for the same request id, and the failures cluster in the checkout and invoice suites, the two callers that pass \`maxAttempts: 5\`.`,
  '- Nothing in the recent history changed the gateway client; the last commits to the helper only touched formatting.',
  '',
  'What I would change: cap the backoff at `checkoutTimeoutMs / maxAttempts`, apply jitter before the cap, and give the checkout caller `maxAttempts: 3`. That keeps the worst case under the timeout. I have not run the suites (the sandbox has no network for the gateway stubs).',
].join('\n');

/** Turn 2: a follow-up answered in 3 steps. */
const followUpQuestion = 'Could we just raise checkoutTimeoutMs to 30 s instead? What else reads it?';
const followUp = ['rg -n "checkoutTimeoutMs" src | head -40', `sed -n 1,80p ${configFile}`];
const followUpAnswer = [
  'Raising it would hide the problem rather than fix it, and it is read in more places than checkout.',
  '',
  `- \`checkoutTimeoutMs\` is defined in \`${configFile}:9\` and read by every module that imports the checkout config (see the rg output above), including the invoice and refund flows, so a 30 s value would let those hang for 30 s too.`,
  '- The unbounded backoff would still grow past 30 s on the fifth attempt.',
  '',
  'Capping the backoff is the smaller and safer change.',
].join('\n');
const summaryText =
  'Asked: why checkout requests time out intermittently in CI. Found: retryWithBackoff doubles its delay without a cap and adds jitter after the cap check; callers with maxAttempts 5 exceed checkoutTimeoutMs (8 s). The CI log shows TimeoutError after three retries in the checkout and invoice suites. Suggested: cap the backoff, jitter before the cap, maxAttempts 3 for checkout. Open: suites not run.';

type Phase = 'first' | 'followup';

interface TurnMarks {
  phase: Phase;
  steps: number;
  /** Index in h.model.requests where the turn began. */
  from: number;
  to: number;
  wallMs: number;
  answer: EmulatedMessage | undefined;
}

export async function runAgentContextBench(): Promise<void> {
  if (!existsSync(entryPoint)) {
    console.log(`agent context bench: ${entryPoint} is missing; run \`npm run build\` first.`);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'shipmate-agent-bench-'));
  let large: LargeRepo | undefined;
  let h: Harness | undefined;
  const state: { phase: Phase; steps: number } = { phase: 'first', steps: 0 };
  try {
    const setupStarted = performance.now();
    h = await Harness.start({
      dataDir,
      env: { SHIPMATE_MODEL: 'test-model', LOG_LEVEL: 'info' },
      config: [
        'repos:',
        '  - name: shop',
        '    url: "{{big}}"',
        '    defaultBranch: main',
        'models:',
        '  test-model:',
        `    contextTokens: ${window}`,
      ].join('\n'),
      beforeLaunch: async () => {
        large = await buildRepository();
        return { big: large.dir };
      },
    });
    console.log(
      `agent context bench: ${totalFiles}-file repository (${commits} commits + 1), window ${window.toLocaleString('en-US')} tokens; app ready after ${secs(performance.now() - setupStarted)}`,
    );
    h.model.respondWith(responder(state));

    const first = await turn(h, state, 'first', async () => {
      const { ts } = await h!.ask(
        'Why do checkout requests time out intermittently in CI? Look at the logs.',
      );
      return ts;
    });
    const threadTs = first.thread;
    const second = await turn(h, state, 'followup', async () => {
      await h!.slack.postMessage({ user: ALICE, channel: CHANNEL, threadTs, text: followUpQuestion });
      return threadTs;
    });
    const requests = h.model.requests.slice();
    await report(requests, first.marks, second.marks, dataDir);
  } catch (error) {
    console.log(`agent context bench stopped: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await h?.stop();
    await large?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** One turn: start it, wait for its answer, and note which recorded requests belong to it. */
async function turn(
  h: Harness,
  state: { phase: Phase; steps: number },
  phase: Phase,
  start: () => Promise<string>,
): Promise<{ thread: string; marks: TurnMarks }> {
  state.phase = phase;
  state.steps = 0;
  const from = h.model.requests.length;
  const count = phase === 'first' ? 1 : 2;
  const started = performance.now();
  const thread = await start();
  const answers = await h.waitForAnswers(thread, count, CHANNEL, 600_000);
  const wallMs = performance.now() - started;
  return {
    thread,
    marks: {
      phase,
      steps: state.steps,
      from,
      to: h.model.requests.length,
      wallMs,
      answer: answers[count - 1],
    },
  };
}

/** The model's side: the script by step within the turn; summaries and budget-stop finals answered too. */
function responder(state: { phase: Phase; steps: number }) {
  return (request: RecordedRequest): ScriptedReply => {
    const system = text(request.body.messages[0]);
    if (system.startsWith(summaryPrefix)) return { content: summaryText, ...pace };
    const script = state.phase === 'first' ? investigation : followUp;
    const answer = state.phase === 'first' ? finalAnswer : followUpAnswer;
    if ((request.body.tools ?? []).length === 0) return { content: answer, ...pace };
    const command = script[state.steps];
    if (command === undefined) return { content: answer, ...pace };
    state.steps += 1;
    const call: ScriptedToolCall = { name: 'shell', arguments: { command } };
    return { toolCalls: [call], ...pace };
  };
}

async function report(requests: RecordedRequest[], first: TurnMarks, second: TurnMarks, dataDir: string) {
  const turns = [first, second].map((marks) => measure(requests.slice(marks.from, marks.to), marks));
  const scratch = await rereadFromScratch(
    requests.slice(first.from, first.to),
    requests.slice(second.from, second.to),
    dataDir,
  );
  const rows: Array<[string, (t: TurnFigures) => string]> = [
    ['steps (model requests with tools or final)', (t) => `${t.agentRequests}`],
    ['summarization requests', (t) => `${t.summaries}`],
    ['prompt tokens sent, JSON/4 (all requests)', (t) => int(t.promptTokens)],
    [
      'prompt tokens the app counted (usage line)',
      (t) => (t.reported === undefined ? 'n/a' : int(t.reported)),
    ],
    ['prefix reuse, mean', (t) => pct(t.reuseMean)],
    ['prefix reuse, minimum', (t) => `${pct(t.reuseMin)}${t.reuseMinAt ? ` (step ${t.reuseMinAt})` : ''}`],
    ['previous request kept as prefix, mean', (t) => pct(t.keptMean)],
    ['previous request kept as prefix, minimum', (t) => pct(t.keptMin)],
    ['requests that rewrote earlier messages', (t) => `${t.rewrites.length}`],
    ['peak request, tokens (window 32,768)', (t) => `${int(t.peak)} (${pct(t.peak / window)})`],
    ['requests over the window', (t) => `${t.over}`],
    ['first request, tokens', (t) => int(t.firstTokens)],
    ['wall time, message → answer', (t) => secs(t.wallMs)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`\n  ${''.padEnd(width)}  ${'turn 1 (20 steps)'.padStart(18)}  ${'follow-up'.padStart(14)}`);
  for (const [label, cell] of rows) {
    console.log(`  ${label.padEnd(width)}  ${cell(turns[0]!).padStart(18)}  ${cell(turns[1]!).padStart(14)}`);
  }
  console.log(`\n  reuse per step, turn 1: ${turns[0]!.reuse.map((value) => pct(value, 0)).join(' ')}`);
  console.log(`  reuse per step, follow-up: ${turns[1]!.reuse.map((value) => pct(value, 0)).join(' ')}`);
  console.log(`  request size per step, turn 1 (tokens): ${turns[0]!.sizes.map(int).join(' ')}`);
  for (const [label, figures] of [
    ['turn 1', turns[0]!],
    ['follow-up', turns[1]!],
  ] as const) {
    for (const rewrite of figures.rewrites) {
      const list = rewrite.changed
        .slice(0, 8)
        .map((change) => `#${change.index} ${change.role} ${int(change.before)}→${int(change.after)}`)
        .join(', ');
      console.log(
        `  ${label} step ${rewrite.step} rewrote ${rewrite.changed.length} earlier message(s) (chars of JSON): ${list}${rewrite.changed.length > 8 ? ', …' : ''}`,
      );
    }
  }
  const lastFirst = requests
    .slice(first.from, first.to)
    .filter((request) => !isSummary(request))
    .at(-1);
  const firstSecond = requests
    .slice(second.from, second.to)
    .filter((request) => !isSummary(request))
    .at(0);
  if (lastFirst && firstSecond) {
    const previous = serialize(lastFirst);
    const current = serialize(firstSecond);
    const same = commonPrefix(previous, current);
    console.log(
      `  across turns (follow-up's first request vs turn 1's last): ${pct(same / current.length)} of it is turn 1's prefix; ${pct(same / previous.length)} of turn 1's last request kept${same < previous.length ? `; first difference in message #${messageAt(lastFirst, same)}` : ''}`,
    );
  }
  console.log(
    `\n  follow-up vs re-reading the thread from scratch (turn 1's last request, every tool output in full, the answer, the follow-up):`,
  );
  console.log(
    `    re-read request: ${int(scratch.tokens)} tokens (${scratch.fullOutputs}/${scratch.toolResults} outputs restored from the saved files, ${pct(scratch.tokens / window)} of the window)`,
  );
  console.log(
    `    follow-up first request: ${int(turns[1]!.firstTokens)} tokens = ${pct(turns[1]!.firstTokens / scratch.tokens)} of re-reading; follow-up all ${turns[1]!.agentRequests + turns[1]!.summaries} requests: ${int(turns[1]!.promptTokens)} vs ${int(scratch.tokens * turns[1]!.agentRequests)} re-reading every step (${pct(turns[1]!.promptTokens / (scratch.tokens * turns[1]!.agentRequests))})`,
  );
  const over = turns[0]!.over + turns[1]!.over;
  const reuseMin = Math.min(turns[0]!.reuseMean, turns[1]!.reuseMean);
  const ratio = turns[1]!.firstTokens / scratch.tokens;
  console.log('\n  goals');
  console.log(
    `    no request over the ${int(window)}-token window: ${over === 0 ? 'MET' : `NOT MET (${over} over)`}`,
  );
  console.log(
    `    prefix reuse ≥ 90 % (mean per turn): ${reuseMin >= 0.9 ? 'MET' : 'NOT MET'} (${pct(turns[0]!.reuseMean)}, ${pct(turns[1]!.reuseMean)}; minimum ${pct(Math.min(turns[0]!.reuseMin, turns[1]!.reuseMin))})`,
  );
  console.log(
    `      (reuse counts the new tool result as not reused: appending a ${int(resultBudgetChars)}-character result to a 5k–20k-token prompt alone gives 60–90 %; "kept as prefix" isolates what the app rewrote)`,
  );
  console.log(`    follow-up < half of re-reading: ${ratio < 0.5 ? 'MET' : 'NOT MET'} (${pct(ratio)})`);
  const total = turns[0]!.promptTokens + turns[1]!.promptTokens;
  console.log(
    `\n  note: the default job budget (limits.jobTokens) is 1,000,000 tokens; turn 1 alone sent ${int(turns[0]!.promptTokens)} (JSON/4), the app counted ${turns[0]!.reported === undefined ? 'n/a' : int(turns[0]!.reported)}; both turns ${int(total)}.`,
  );
  if (first.steps !== investigation.length || second.steps !== followUp.length)
    console.log(
      `  note: the script ran ${first.steps}/${investigation.length} and ${second.steps}/${followUp.length} tool steps (a budget stopped it early?)`,
    );
}

interface TurnFigures {
  agentRequests: number;
  summaries: number;
  promptTokens: number;
  reported: number | undefined;
  reuse: number[];
  /** Share of the previous request that the next one repeats as its prefix (what a prompt cache keeps). */
  kept: number[];
  keptMean: number;
  keptMin: number;
  rewrites: Rewrite[];
  reuseMean: number;
  reuseMin: number;
  reuseMinAt: number | undefined;
  peak: number;
  over: number;
  firstTokens: number;
  sizes: number[];
  wallMs: number;
}

function measure(requests: RecordedRequest[], marks: TurnMarks): TurnFigures {
  const summaries = requests.filter(isSummary);
  const agent = requests.filter((request) => !isSummary(request));
  const sizes = requests.map(tokensOf);
  const agentSizes = agent.map(tokensOf);
  const reuse: number[] = [];
  const kept: number[] = [];
  const rewrites: Rewrite[] = [];
  for (let index = 1; index < agent.length; index += 1) {
    const previous = serialize(agent[index - 1]!);
    const current = serialize(agent[index]!);
    const same = commonPrefix(previous, current);
    reuse.push(current.length === 0 ? 1 : same / current.length);
    kept.push(previous.length === 0 ? 1 : same / previous.length);
    if (same < previous.length) rewrites.push(rewriteOf(agent[index - 1]!, agent[index]!, index + 1));
  }
  const reuseMin = reuse.length > 0 ? Math.min(...reuse) : Number.NaN;
  const footer = JSON.stringify(marks.answer?.blocks ?? []) + (marks.answer?.text ?? '');
  const reported = /~?([\d,]+) in \/ ~?([\d,]+) out tokens/.exec(footer)?.[1];
  return {
    agentRequests: agent.length,
    summaries: summaries.length,
    promptTokens: sizes.reduce((sum, size) => sum + size, 0),
    reported: reported === undefined ? undefined : Number(reported.replaceAll(',', '')),
    reuse,
    kept,
    keptMean: mean(kept),
    keptMin: kept.length > 0 ? Math.min(...kept) : Number.NaN,
    rewrites,
    reuseMean: reuse.length > 0 ? reuse.reduce((sum, value) => sum + value, 0) / reuse.length : Number.NaN,
    reuseMin,
    reuseMinAt: reuse.length > 0 ? reuse.indexOf(reuseMin) + 2 : undefined,
    peak: Math.max(...sizes),
    over: sizes.filter((size) => size > window).length,
    firstTokens: agentSizes[0] ?? Number.NaN,
    sizes: agentSizes,
    wallMs: marks.wallMs,
  };
}

/**
 * Re-reading the first turn from scratch: its last agent request with every tool result as it
 * first arrived and, where the app kept head and tail, the whole output from the file it saved;
 * then the answer and the follow-up question, and the same tools.
 */
async function rereadFromScratch(first: RecordedRequest[], second: RecordedRequest[], dataDir: string) {
  const agent = first.filter((request) => !isSummary(request));
  const last = agent.at(-1);
  if (!last) return { tokens: Number.NaN, toolResults: 0, fullOutputs: 0 };
  const firstSeen = new Map<string, string>();
  for (const request of agent) {
    for (const message of request.body.messages) {
      if (message.role === 'tool' && message.tool_call_id && !firstSeen.has(message.tool_call_id))
        firstSeen.set(message.tool_call_id, text(message));
    }
  }
  const saved = await savedOutputs(dataDir);
  let toolResults = 0;
  let fullOutputs = 0;
  const messages: ChatMessage[] = last.body.messages.map((message) => {
    if (message.role !== 'tool' || !message.tool_call_id) return message;
    toolResults += 1;
    const original = firstSeen.get(message.tool_call_id) ?? text(message);
    const name = /saved in \S*\/(output-[\w-]+\.txt)/.exec(original)?.[1];
    const whole = name ? saved.get(name) : undefined;
    if (whole !== undefined) fullOutputs += 1;
    return { ...message, content: whole ?? original };
  });
  messages.push({ role: 'assistant', content: finalAnswer });
  const question = second.find((request) => !isSummary(request))?.body.messages.at(-1);
  messages.push(question ?? { role: 'user', content: followUpQuestion });
  return { tokens: tokensOf({ ...last, body: { ...last.body, messages } }), toolResults, fullOutputs };
}

/** Outputs the app saved in the sandboxed checkouts' git dirs (`shipmate-output/`), by file name. */
async function savedOutputs(dataDir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const entries = await readdir(dataDir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !/^output-[\w-]+\.txt$/.test(entry.name)) continue;
    const directory = entry.parentPath;
    if (!directory.endsWith('shipmate-output')) continue;
    found.set(entry.name, await readFile(join(directory, entry.name), 'utf8'));
  }
  return found;
}

/** The index of the message holding byte `offset` of `serialize(request)`. */
function messageAt(request: RecordedRequest, offset: number): number {
  let end = 0;
  for (const [index, message] of request.body.messages.entries()) {
    end += Buffer.byteLength(JSON.stringify(message));
    if (offset < end) return index;
  }
  return request.body.messages.length;
}

function isSummary(request: RecordedRequest): boolean {
  return (request.body.tools ?? []).length === 0 && text(request.body.messages[0]).startsWith(summaryPrefix);
}

/** Tokens as the brief counts them: JSON length of messages and tools, four characters a token. */
function tokensOf(request: RecordedRequest): number {
  return Math.ceil(
    (JSON.stringify(request.body.messages).length + JSON.stringify(request.body.tools ?? []).length) / 4,
  );
}

/** The prompt as a cache sees it: each message's JSON, in order. */
function serialize(request: RecordedRequest): Buffer {
  return Buffer.from(request.body.messages.map((message) => JSON.stringify(message)).join(''), 'utf8');
}

/** Bytes `previous` and `current` share from the start. */
function commonPrefix(previous: Buffer, current: Buffer): number {
  const limit = Math.min(previous.length, current.length);
  let same = 0;
  while (same < limit && previous[same] === current[same]) same += 1;
  return same;
}

/** Where a request stopped repeating the previous one: which earlier messages it changed. */
interface Rewrite {
  step: number;
  /** Indexes (0 = system) of messages present in both that differ, with their sizes before → after. */
  changed: Array<{ index: number; role: string; before: number; after: number }>;
}

function rewriteOf(previous: RecordedRequest, current: RecordedRequest, step: number): Rewrite {
  const changed: Rewrite['changed'] = [];
  for (const [index, message] of previous.body.messages.entries()) {
    const next = current.body.messages[index];
    const before = JSON.stringify(message);
    const after = next === undefined ? '' : JSON.stringify(next);
    if (before !== after)
      changed.push({ index, role: message.role, before: before.length, after: after.length });
  }
  return { step, changed };
}

function mean(values: number[]): number {
  return values.length > 0 ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN;
}

function text(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? '').join('');
  return '';
}

// --- the repository --------------------------------------------------------------------------

/** A fast-import history over the source paths, then one commit giving every file a realistic body. */
async function buildRepository(): Promise<LargeRepo> {
  const started = performance.now();
  const repo = await createLargeRepo({ files: sourceCount, commits });
  const files: Record<string, string> = {
    'package.json': packageJson(),
    'README.md': '# shop\n\nCheckout, invoicing and refunds for the shop. `npm test` runs the suites.\n',
    'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, outDir: 'dist' }, include: ['src'] }, null, 2)}\n`,
    [logFile]: ciLog(),
  };
  for (let index = 0; index < sourceCount; index += 1) files[sourcePath(index)] = sourceFile(index);
  await commitFiles(repo.dir, { message: 'Flesh out the modules, add the CI log', files });
  const bytes = Object.values(files).reduce((sum, content) => sum + Buffer.byteLength(content), 0);
  console.log(
    `generated the repository in ${secs(performance.now() - started)}: ${Object.keys(files).length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB, CI log ${(Buffer.byteLength(files[logFile]!) / 1024).toFixed(0)} KiB`,
  );
  return repo;
}

function sourcePath(index: number): string {
  return `src/module-${String(Math.floor(index / 100)).padStart(3, '0')}/file-${String(index).padStart(5, '0')}.ts`;
}

/** A deterministic pseudo-random number in [0, 1) for (index, salt). */
function noise(index: number, salt: number): number {
  let x = (index * 2_654_435_761 + salt * 40_503) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0x5bd1e995) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  return x / 2 ** 32;
}

const domains = ['checkout', 'invoice', 'refund', 'cart', 'shipping', 'catalog', 'payment', 'account'];

function sourceFile(index: number): string {
  const domain = domains[index % domains.length]!;
  const name = `${domain}${index}`;
  const lines: string[] = [
    `// ${domain} module ${index}: ${domain} flows for the shop.`,
    `import { retryWithBackoff } from '../module-004/file-00417.js';`,
    `import { checkoutConfig } from '../module-012/file-01234.js';`,
    '',
  ];
  if (index === 417) {
    lines.push(
      'export interface RetryOptions {',
      '  maxAttempts: number;',
      '  baseDelayMs: number;',
      '  jitter?: number;',
      '}',
      '',
      '/** Retries `work` with exponential backoff. */',
      'export async function retryWithBackoff<T>(work: () => Promise<T>, options: RetryOptions): Promise<T> {',
      '  let delay = options.baseDelayMs;',
      '  for (let attempt = 1; ; attempt += 1) {',
      '    try {',
      '      return await work();',
      '    } catch (error) {',
      '      if (attempt >= options.maxAttempts) throw error;',
      '      delay = delay * 2; // no cap',
      '      const jitter = Math.random() * (options.jitter ?? 250);',
      '      await new Promise((resolve) => setTimeout(resolve, delay + jitter));',
      '    }',
      '  }',
      '}',
      '',
    );
  }
  if (index === 1_234) {
    lines.push(
      'export const checkoutConfig = {',
      "  gateway: 'https://gateway.shop.invalid',",
      '  checkoutTimeoutMs: 8_000,',
      '  maxAttempts: 5,',
      '  baseDelayMs: 400,',
      '};',
      '',
    );
  }
  const target = 600 + Math.floor(noise(index, 1) ** 2 * 12_000);
  const usesRetry = index % 12 === 5;
  const readsTimeout = index % 97 === 3;
  let block = 0;
  while (lines.join('\n').length < target) {
    block += 1;
    const fn = `${name}Step${block}`;
    lines.push(
      `/** Handles step ${block} of the ${domain} flow (${Math.floor(noise(index, block) * 1000)} ms budget). */`,
      `export async function ${fn}(input: { id: string; amount: number; attempt?: number }): Promise<string> {`,
      `  if (input.amount < 0) throw new RangeError('${domain} amount must not be negative');`,
    );
    if (usesRetry && block <= 3)
      lines.push(
        `  const result = await retryWithBackoff(() => call${block}(input.id), { maxAttempts: ${block + 2}, baseDelayMs: 200 });`,
      );
    else lines.push(`  const result = await call${block}(input.id);`);
    if (readsTimeout && block === 1)
      lines.push('  const deadline = Date.now() + checkoutConfig.checkoutTimeoutMs;');
    if (block % 4 === 0) lines.push('  await new Promise((resolve) => setTimeout(resolve, 10));');
    lines.push(`  return \`${domain}:\${input.id}:\${result}\`;`, '}', '');
    if (block % 3 === 0)
      lines.push(
        `describe('${fn}', () => {`,
        `  it('rejects a negative amount', async () => {`,
        `    await expect(${fn}({ id: 'x', amount: -1 })).rejects.toThrow(RangeError);`,
        '  });',
        '});',
        '',
      );
  }
  lines.push(`async function call1(id: string): Promise<string> {`, '  return id;', '}', '');
  return lines.join('\n');
}

function packageJson(): string {
  return `${JSON.stringify(
    {
      name: 'shop',
      version: '3.14.0',
      private: true,
      type: 'module',
      scripts: {
        build: 'tsc -p .',
        test: 'vitest run',
        lint: 'biome check .',
        'test:ci': 'vitest run --reporter verbose',
      },
      dependencies: { express: '^4.19.2', zod: '^3.23.8', pino: '^9.3.2', undici: '^6.19.2' },
      devDependencies: { typescript: '^5.5.4', vitest: '^2.0.5', '@biomejs/biome': '^1.8.3' },
      engines: { node: '>=20' },
    },
    null,
    2,
  )}\n`;
}

/** A verbose vitest run in CI, with the intermittent timeouts. */
function ciLog(): string {
  const lines = ['$ npm run test:ci', '', ' RUN  v2.0.5 /builds/shop', ''];
  for (let index = 0; index < 1_800; index += 1) {
    const domain = domains[index % domains.length]!;
    const file = sourcePath((index * 7) % sourceCount);
    const took = Math.floor(noise(index, 9) * 400);
    const stamp = `2024-05-14T09:${String(12 + Math.floor(index / 60)).padStart(2, '0')}:${String(index % 60).padStart(2, '0')}.${String(index % 1000).padStart(3, '0')}Z`;
    if ((domain === 'checkout' || domain === 'invoice') && index % 37 === 0) {
      const id = `req-${(index * 7919).toString(16)}`;
      lines.push(
        `${stamp} WARN  [${domain}] ${id} gateway call failed: ETIMEDOUT, retrying in 800 ms (attempt 2/5)`,
        `${stamp} WARN  [${domain}] ${id} gateway call failed: ETIMEDOUT, retrying in 1600 ms (attempt 3/5)`,
        `${stamp} WARN  [${domain}] ${id} gateway call failed: ETIMEDOUT, retrying in 3200 ms (attempt 4/5)`,
        ` × ${file} > ${domain} flow > step ${index % 9} completes within the checkout timeout ${8_000 + took} ms`,
        `   → TimeoutError: ${domain} ${id} did not finish within 8000 ms`,
        `     at retryWithBackoff (src/module-004/file-00417.ts:17:13)`,
        `     at ${domain}${index}Step1 (${file}:9:22)`,
      );
    } else {
      lines.push(` ✓ ${file} > ${domain} flow > step ${index % 9} handles a ${domain} request ${took} ms`);
    }
  }
  lines.push(
    '',
    ' Test Files  2 failed | 298 passed (300)',
    '      Tests  49 failed | 1751 passed (1800)',
    '',
  );
  return lines.join('\n');
}

const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const pct = (value: number, digits = 1) =>
  Number.isFinite(value) ? `${(value * 100).toFixed(digits)} %` : 'n/a';
const secs = (value: number) => `${(value / 1000).toFixed(1)} s`;

if (import.meta.url === `file://${process.argv[1]}`) await runAgentContextBench();
