import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { type BareRemote, createBareRemote } from './git-fixtures.js';
import { GitHubStandIn } from './github-stand-in.js';
import { ALICE, answerText, CHANNEL, Harness, waitFor } from './harness.js';
import type { ChatMessage, RecordedRequest, ScriptedReply } from './scripted-model.js';
import type { EmulatedMessage } from './slack-emulator.js';

/**
 * Helpers for the hostile end-to-end suite (tests/e2e/hostile-*.test.ts): the scripted model
 * plays an attacker (a prompt-injected model, a hostile repository or thread member) through
 * the real app, and these check what a user and an operator would check afterwards: nothing
 * ran on the host (marker files, a loopback canary), no token left in any encoding, the
 * remote's default branch did not move.
 */

const execFileAsync = promisify(execFile);

// ── host-execution probes ───────────────────────────────────────────────────

export interface Canary {
  url: string;
  port: number;
  /** `METHOD /path` of every HTTP request received, in order. */
  hits: string[];
  /** TCP connections accepted (a payload that connects without speaking HTTP still counts). */
  connections: number;
  stop(): Promise<void>;
}

/**
 * A loopback HTTP server that records every request. Commands inside the sandbox have no
 * network at all, so any hit proves a payload ran on the host.
 */
export async function startCanary(): Promise<Canary> {
  const sockets = new Set<Socket>();
  const canary = { url: '', port: 0, hits: [] as string[], connections: 0 } as Canary;
  const server: Server = createServer((request, response) => {
    canary.hits.push(`${request.method ?? '?'} ${request.url ?? '/'}`);
    request.resume();
    response.end('canary\n');
  });
  server.on('connection', (socket: Socket) => {
    canary.connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  canary.port = (server.address() as AddressInfo).port;
  canary.url = `http://127.0.0.1:${canary.port}`;
  canary.stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return canary;
}

/** A fresh host temp dir a payload tries to write into (the sandbox cannot write /tmp). */
export interface MarkerDir {
  dir: string;
  /** Names of the files in it now. */
  files(): string[];
  cleanup(): void;
}

export function makeMarkerDir(): MarkerDir {
  const dir = mkdtempSync(join(tmpdir(), 'shipmate-hostile-marker-'));
  return {
    dir,
    files: () => readdirSync(dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A bash payload that proves it ran on the host: it appends to `<marker dir>/<name>` and calls
 * the canary over curl and over bash's /dev/tcp. It never fails and prints nothing.
 */
export function hostPayloadScript(name: string, marker: MarkerDir, canary: Canary): string {
  const markerFile = join(marker.dir, name);
  return [
    `echo "ran as $(id -u) in $PWD" >> '${markerFile}'`,
    `curl -s -m 3 -o /dev/null '${canary.url}/${name}-curl'`,
    `exec 3<>/dev/tcp/127.0.0.1/${canary.port} && printf 'GET /${name}-tcp HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 2 cat <&3 >/dev/null`,
    'true',
  ].join('\n');
}

/**
 * The payload as one shell word-free command line (base64, so it survives any quoting: a git
 * config value, a hook, .gitattributes), e.g. for `filter.p.clean`. With `passThrough` it ends
 * with `cat` so a clean/smudge filter still returns the file's content.
 */
export function hostPayloadCommand(
  name: string,
  marker: MarkerDir,
  canary: Canary,
  options: { passThrough?: boolean } = {},
): string {
  const encoded = Buffer.from(hostPayloadScript(name, marker, canary)).toString('base64');
  const run = `echo ${encoded} | base64 -d | bash >/dev/null 2>&1`;
  return options.passThrough ? `${run}; cat` : `${run}; true`;
}

/** Nothing the payloads do reached the host: no marker file, no canary request or connection. */
export function expectNoHostExecution(marker: MarkerDir, canary: Canary): void {
  expect(
    { markerFiles: marker.files(), canaryRequests: canary.hits, canaryConnections: canary.connections },
    `host execution: marker files in ${marker.dir}, requests and connections to the loopback canary`,
  ).toEqual({ markerFiles: [], canaryRequests: [], canaryConnections: 0 });
}

// ── secrets in every encoding ───────────────────────────────────────────────

/** The secret as it could appear after a hostile model or payload encodes it. */
export function encodedForms(secret: string): string[] {
  const raw = Buffer.from(secret, 'utf8');
  const forms = new Set<string>([secret, raw.toString('hex'), raw.toString('hex').toUpperCase()]);
  forms.add(encodeURIComponent(secret));
  // base64 of the secret inside a longer text depends on its offset modulo 3: take each
  // alignment and keep only the characters that depend on the secret alone.
  for (let offset = 0; offset < 3; offset += 1) {
    const encoded = Buffer.concat([Buffer.alloc(offset), raw]).toString('base64');
    const start = offset === 0 ? 0 : 4;
    const tail = (offset + raw.length) % 3 === 0 ? 0 : 4;
    const core = encoded.slice(start, encoded.length - tail);
    if (core.length >= 12) {
      forms.add(core);
      forms.add(core.replaceAll('+', '-').replaceAll('/', '_'));
    }
  }
  // Whole-token base64 (with padding) too, as `btoa(token)` would print it.
  forms.add(raw.toString('base64'));
  forms.add(raw.toString('base64url'));
  return [...forms].filter((form) => form.length >= 8);
}

export interface Finding {
  where: string;
  secret: string;
  form: string;
}

/** Every place `secrets` (in any encoded form) occur in `haystacks`. */
export function findSecrets(
  haystacks: Array<{ where: string; text: string | Buffer }>,
  secrets: string[],
): Finding[] {
  const findings: Finding[] = [];
  for (const secret of secrets.filter((value) => value.length >= 8)) {
    const forms = encodedForms(secret);
    for (const { where, text } of haystacks) {
      const buffer = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      for (const form of forms) {
        if (buffer.includes(form)) findings.push({ where, secret, form });
      }
    }
  }
  return findings;
}

/** Everything the emulator holds that the app sent: calls (messages, updates, uploads), files, ephemerals. */
export function slackHaystacks(h: Harness): Array<{ where: string; text: string | Buffer }> {
  const haystacks: Array<{ where: string; text: string | Buffer }> = [
    { where: 'Slack Web API calls', text: JSON.stringify(h.slack.calls) },
    { where: 'Slack response_url posts', text: JSON.stringify(h.slack.responseUrlPosts) },
    { where: 'Slack ephemeral messages', text: JSON.stringify(h.slack.ephemeralMessages()) },
    { where: `Slack channel ${CHANNEL}`, text: JSON.stringify(h.slack.messagesIn(CHANNEL)) },
  ];
  for (const call of h.slack.callsTo('files.completeUploadExternal')) {
    const files = Array.isArray(call.args.files) ? (call.args.files as Array<{ id?: unknown }>) : [];
    for (const file of files) {
      const content = typeof file.id === 'string' ? h.slack.fileContent(file.id) : undefined;
      if (content) haystacks.push({ where: `Slack file ${String(file.id)}`, text: content });
    }
  }
  return haystacks;
}

export function logHaystacks(h: Harness): Array<{ where: string; text: string }> {
  return [
    { where: 'app logs', text: h.app.logs.map((line) => JSON.stringify(line)).join('\n') },
    { where: 'app stderr', text: h.app.stderr },
  ];
}

/** Every object in the bare remote (commits with their messages, trees, blobs of every pushed ref). */
export async function remoteHaystacks(remoteDir: string): Promise<Array<{ where: string; text: Buffer }>> {
  const objects = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch-all-objects', '--batch', '--unordered'], {
      cwd: remoteDir,
      env: gitEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`git cat-file: ${stderr}`)),
    );
  });
  const refs = await remoteGit(remoteDir, ['for-each-ref', '--format=%(refname) %(objectname)']);
  return [
    { where: `remote objects in ${remoteDir}`, text: objects },
    { where: 'remote ref names', text: Buffer.from(refs) },
  ];
}

/**
 * No token (plain, base64, base64url, hex, URL-encoded) in any Slack message or file the
 * emulator holds, in the app's logs, or in any object on the remote.
 */
export async function expectNoSecretsLeaked(
  h: Harness,
  secrets: string[],
  options: { remoteDir?: string; extra?: Array<{ where: string; text: string | Buffer }> } = {},
): Promise<void> {
  const haystacks = [
    ...slackHaystacks(h),
    ...logHaystacks(h),
    ...(options.remoteDir ? await remoteHaystacks(options.remoteDir) : []),
    ...(options.extra ?? []),
  ];
  const findings = findSecrets(haystacks, secrets);
  expect(
    findings.map((finding) => `${finding.where}: ${finding.secret.slice(0, 6)}… as "${finding.form}"`),
    'secrets found',
  ).toEqual([]);
}

/** The test bed's own tokens: Slack bot token, model key, and the GitHub token when given. */
export function testTokens(h: Harness, githubToken?: string): string[] {
  return [h.slack.botToken, h.model.apiKey, ...(githubToken ? [githubToken] : [])];
}

// ── the hostile model ───────────────────────────────────────────────────────

export type HostileStep = ScriptedReply | ((request: RecordedRequest) => ScriptedReply);

const reviewerPrompt = /strict code reviewer/i;

/**
 * Plays `steps` in order for the agent's requests (a step may look at what the tools returned
 * so far); the diff review call always gets "LGTM"; once the steps are used up, "Done.".
 * Replaces any earlier responder, so each test scripts its own attacker.
 */
export function playHostileModel(h: Harness, steps: HostileStep[]): void {
  const queue = [...steps];
  h.model.reset();
  h.model.respondWith((request) => {
    const system = request.body.messages.find((message) => message.role === 'system');
    if (typeof system?.content === 'string' && reviewerPrompt.test(system.content))
      return { content: 'LGTM' };
    const step = queue.shift();
    if (!step) return { content: 'Done.' };
    return typeof step === 'function' ? step(request) : step;
  });
}

/** One shell tool call. */
export function shell(command: string): ScriptedReply {
  return { toolCalls: [{ name: 'shell', arguments: { command } }] };
}

/** One edit_file tool call. */
export function editFile(path: string, newText: string, oldText?: string): ScriptedReply {
  return {
    toolCalls: [
      {
        name: 'edit_file',
        arguments: { path, new_text: newText, ...(oldText === undefined ? {} : { old_text: oldText }) },
      },
    ],
  };
}

/** The content of every tool result the model has been sent (all requests), in order. */
export function toolOutputs(h: Harness): string[] {
  const seen = new Map<string, string>();
  for (const request of h.model.requests) {
    for (const message of request.body.messages.filter((item: ChatMessage) => item.role === 'tool')) {
      const id = message.tool_call_id ?? String(seen.size);
      if (!seen.has(id)) seen.set(id, typeof message.content === 'string' ? message.content : '');
    }
  }
  return [...seen.values()];
}

/** The result of the tool call with this id (scripted calls can carry fixed ids). */
export function toolOutputById(h: Harness, id: string): string | undefined {
  for (const request of h.model.requests) {
    const found = request.body.messages.find(
      (message) => message.role === 'tool' && message.tool_call_id === id,
    );
    if (found) return typeof found.content === 'string' ? found.content : '';
  }
  return undefined;
}

/** Every tool result in one request, in order. */
export function toolOutputsIn(request: RecordedRequest): string[] {
  return request.body.messages
    .filter((message) => message.role === 'tool')
    .map((message) => (typeof message.content === 'string' ? message.content : ''));
}

/** `'…'` for bash. */
export function shq(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

// ── Slack side ──────────────────────────────────────────────────────────────

export interface SettledJob {
  threadTs: string;
  jobId: string;
  /** The job's replies (markdown answers and file messages), oldest first. */
  answers: EmulatedMessage[];
  /** The first of them with text: the summary of a change request, or the answer. */
  summary: EmulatedMessage;
}

const jobEnds = new Set(['job-succeeded', 'job-failed', 'job-cancelled', 'job-parked']);

/**
 * Waits until the job queued for `threadTs` after `queuedBefore` earlier ones is over (its
 * end logged and, for a failure, its error reply posted) and returns its replies. Waiting for
 * the end, not the first reply, keeps late uploads and pushes out of the next test.
 */
async function settle(
  h: Harness,
  threadTs: string,
  queuedBefore: number,
  answersBefore: Set<string>,
  timeoutMs: number,
): Promise<SettledJob> {
  const queued = () => h.app.logs.filter((line) => line.msg === 'job-queued' && line.threadTs === threadTs);
  const jobId = await waitFor(
    () => {
      const id = queued()[queuedBefore]?.jobId;
      return id === undefined ? undefined : String(id);
    },
    timeoutMs,
    `a job queued for thread ${threadTs}`,
  );
  const end = await waitFor(
    () => h.app.logs.find((line) => String(line.jobId) === jobId && jobEnds.has(line.msg)),
    timeoutMs,
    `the end of job ${jobId}; the app's warnings: ${appProblems(h)}`,
  );
  const fresh = () => h.answers(threadTs).filter((message) => !answersBefore.has(message.ts));
  if (end.msg === 'job-failed' && typeof end.referenceId === 'string') {
    const reference = end.referenceId;
    await waitFor(
      () => fresh().some((message) => answerText(message).includes(reference)),
      timeoutMs,
      `the error reply of job ${jobId}`,
    );
  }
  const answers = fresh();
  const summary = answers.find((message) => answerText(message).trim()) ?? answers[0];
  if (!summary) throw new Error(`job ${jobId} (${end.msg}) posted no answer in ${threadTs}`);
  return { threadTs, jobId, answers, summary };
}

/** `@shipmate <text>` in a new thread, then waits until the job is over. */
export async function askAndSettle(
  h: Harness,
  text: string,
  options: { user?: string; timeoutMs?: number } = {},
): Promise<SettledJob> {
  const { ts } = await h.ask(text, options.user ? { user: options.user } : {});
  return settle(h, ts, 0, new Set(), options.timeoutMs ?? 40_000);
}

/** A reply in a followed thread, then waits until its job is over. */
export async function followUpAndSettle(
  h: Harness,
  threadTs: string,
  text: string,
  options: { user?: string; timeoutMs?: number } = {},
): Promise<SettledJob> {
  const queuedBefore = h.app.logs.filter(
    (line) => line.msg === 'job-queued' && line.threadTs === threadTs,
  ).length;
  const answersBefore = new Set(h.answers(threadTs).map((message) => message.ts));
  await h.slack.postMessage({ user: options.user ?? ALICE, channel: CHANNEL, threadTs, text });
  return settle(h, threadTs, queuedBefore, answersBefore, options.timeoutMs ?? 40_000);
}

/**
 * A click on Open PR for a settled change, delivered whether or not the summary offered the
 * button (a stale or forged click must be as safe as a real one). Returns shipmate's reply to
 * it: the first new message with text posted after the click.
 */
export async function clickOpenPr(h: Harness, user: string, job: SettledJob): Promise<EmulatedMessage> {
  const before = new Set(h.slack.botMessagesInThread(CHANNEL, job.threadTs).map((message) => message.ts));
  await h.slack.deliverInteraction({
    type: 'block_actions',
    user: { id: user },
    channel: { id: CHANNEL },
    message: { ts: job.summary.ts, thread_ts: job.threadTs },
    actions: [{ action_id: 'pr_open', value: job.jobId }],
  });
  return waitFor(
    () =>
      h
        .answers(job.threadTs)
        .find((message) => !before.has(message.ts) && answerText(message).trim().length > 0),
    40_000,
    `shipmate's reply to Open PR in ${job.threadTs}; the app's warnings: ${appProblems(h)}`,
  );
}

export function offersButton(message: EmulatedMessage, actionId: string): boolean {
  return JSON.stringify(message.blocks ?? []).includes(`"${actionId}"`);
}

// ── the remote, from the test side ──────────────────────────────────────────

export async function remoteGit(dir: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd: dir,
    env: gitEnv(),
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

/** refname → sha for every ref on the remote. */
export async function remoteRefs(dir: string): Promise<Map<string, string>> {
  const out = await remoteGit(dir, ['for-each-ref', '--format=%(refname) %(objectname)']);
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}

export interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  size: number | undefined;
  path: string;
}

/** Every entry (recursively, with sizes) in a commit's tree on the remote. */
export async function remoteTree(dir: string, ref: string): Promise<TreeEntry[]> {
  const out = await remoteGit(dir, ['ls-tree', '-r', '-t', '-l', '-z', '--full-tree', ref]);
  return out
    .split('\0')
    .filter(Boolean)
    .map((record) => {
      const [meta = '', path = ''] = record.split('\t');
      const [mode = '', type = '', sha = '', size = ''] = meta.split(/\s+/);
      return { mode, type, sha, size: size === '-' ? undefined : Number(size), path };
    });
}

/** Pushed branch refs other than those present before (name → sha). */
export async function newRemoteBranches(
  dir: string,
  before: Map<string, string>,
): Promise<Map<string, string>> {
  const now = await remoteRefs(dir);
  return new Map([...now].filter(([ref, sha]) => ref.startsWith('refs/heads/') && before.get(ref) !== sha));
}

/**
 * Nothing a pushed ref adds (compared with `baseRef`) that the host must refuse: gitlinks,
 * `.git` paths in any letter case, `.gitmodules` changes, symlinks that lead out of the checkout.
 */
export async function expectNoForbiddenEntries(
  dir: string,
  refs: Iterable<string>,
  baseRef: string,
): Promise<void> {
  const key = (entry: TreeEntry) => `${entry.mode} ${entry.sha} ${entry.path}`;
  const base = new Set((await remoteTree(dir, baseRef)).map(key));
  const bad: string[] = [];
  for (const ref of refs) {
    for (const entry of (await remoteTree(dir, ref)).filter((item) => !base.has(key(item)))) {
      if (entry.mode === '160000') bad.push(`${ref}: gitlink ${entry.path}`);
      if (entry.path.split('/').some((part) => part.toLowerCase() === '.git'))
        bad.push(`${ref}: .git path ${entry.path}`);
      if (entry.path === '.gitmodules') bad.push(`${ref}: changed .gitmodules`);
      if (entry.mode === '120000') {
        const target = await remoteGit(dir, ['cat-file', 'blob', entry.sha]);
        const resolved = posix.normalize(posix.join(posix.dirname(entry.path), target));
        if (posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../'))
          bad.push(`${ref}: symlink ${entry.path} -> ${target}`);
      }
    }
  }
  expect(bad, 'gitlinks, .git paths or outward symlinks pushed').toEqual([]);
}

export function gitEnv(): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_'));
  return {
    ...Object.fromEntries(inherited),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
}

/**
 * A diff as what it changes: per file, the removed and added lines (sorted). Independent of
 * `index` lines, hunk headers and context, so the diff in Slack and the pushed commit compare.
 */
export function diffEffect(patch: string): Record<string, { added: string[]; removed: string[] }> {
  const files: Record<string, { added: string[]; removed: string[] }> = {};
  let current: { added: string[]; removed: string[] } | undefined;
  for (const line of patch.split('\n')) {
    const header = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
    if (header) {
      current = { added: [], removed: [] };
      files[header[2]!] = current;
      continue;
    }
    if (!current || line.startsWith('+++ ') || line.startsWith('--- ')) continue;
    if (line.startsWith('+')) current.added.push(line.slice(1));
    else if (line.startsWith('-')) current.removed.push(line.slice(1));
  }
  for (const file of Object.values(files)) {
    file.added.sort();
    file.removed.sort();
  }
  return files;
}

/** The ```diff block of a summary. */
export function diffInSummary(markdown: string): string {
  const match = /```diff\n([\s\S]*?)\n```/.exec(markdown);
  return match?.[1] ?? '';
}

export { waitFor };

// ── one bed per file ────────────────────────────────────────────────────────

export const HOSTILE_GITHUB_TOKEN = 'ghp_hostileSuiteToken0123456789abcdefXY';

export interface HostileBed {
  h: Harness;
  github: GitHubStandIn;
  remote: BareRemote;
  githubToken: string;
  /** The remote's default branch sha right after setup. */
  defaultSha: string;
  /** Every token the app holds (Slack bot token, model key, GitHub token). */
  tokens: string[];
  stop(): Promise<void>;
}

export interface HostileBedOptions {
  /** Extra YAML appended to the config (under the top level). */
  extraConfig?: string[];
  /** Lines added under the repo entry (indented by the caller with 4 spaces). */
  repoConfig?: string[];
  /** Runs in the fixture repo before the remote is cloned from it (add submodules, branches…). */
  prepareRepo?: (repoDir: string) => Promise<void>;
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * The real app against a bare remote (file://), the GitHub stand-in and the scripted model;
 * ALICE is the only writer. One per test file (beforeAll/afterAll).
 */
export async function startHostileBed(options: HostileBedOptions = {}): Promise<HostileBed> {
  const github = new GitHubStandIn({ token: HOSTILE_GITHUB_TOKEN });
  await github.start();
  github.addRepo('acme/shop', { defaultBranch: 'main' });
  let remote: BareRemote | undefined;
  try {
    const h = await Harness.start({
      env: { GITHUB_TOKEN: HOSTILE_GITHUB_TOKEN, GITHUB_API_URL: github.apiUrl, ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      config: [
        'repos:',
        '  - name: shop',
        '    url: "{{remote}}"',
        '    defaultBranch: main',
        '    github: acme/shop',
        ...(options.repoConfig ?? []),
        'access:',
        `  writers: [${ALICE}]`,
        ...(options.extraConfig ?? []),
      ].join('\n'),
      beforeLaunch: async (repoDir) => {
        await options.prepareRepo?.(repoDir);
        remote = await createBareRemote(repoDir);
        return { remote: remote.url };
      },
    });
    const defaultSha = (await remoteGit(remote!.dir, ['rev-parse', 'refs/heads/main'])).trim();
    const bed: HostileBed = {
      h,
      github,
      remote: remote!,
      githubToken: HOSTILE_GITHUB_TOKEN,
      defaultSha,
      tokens: testTokens(h, HOSTILE_GITHUB_TOKEN),
      stop: async () => {
        await h.stop();
        await github.stop();
        await remote?.cleanup();
      },
    };
    return bed;
  } catch (error) {
    await github.stop();
    await remote?.cleanup();
    throw error;
  }
}

/** The remote's default branch did not move. */
export async function expectDefaultBranchUnchanged(bed: HostileBed): Promise<void> {
  const now = (await remoteGit(bed.remote.dir, ['rev-parse', 'refs/heads/main'])).trim();
  expect(now, 'refs/heads/main on the remote').toBe(bed.defaultSha);
}

/** Warnings and errors the app logged (for failure messages). */
export function appProblems(h: Harness): string {
  return h.app.logs
    .filter((line) => line.level >= 40)
    .map((line) => JSON.stringify(line))
    .join('\n')
    .slice(-6000);
}

/**
 * The pushed branch is exactly what the thread was shown: one commit on top of the base
 * (one parent, authored by shipmate), whose diff has the same effect as the diff in Slack.
 */
export async function expectPushedAsShown(
  bed: HostileBed,
  ref: string,
  summaryMarkdown: string,
): Promise<void> {
  const dir = bed.remote.dir;
  const [, ...parents] = (await remoteGit(dir, ['rev-list', '--parents', '-n', '1', ref])).trim().split(' ');
  const author = (await remoteGit(dir, ['log', '-1', '--format=%an <%ae>', ref])).trim();
  const count = Number((await remoteGit(dir, ['rev-list', '--count', `${bed.defaultSha}..${ref}`])).trim());
  const pushedDiff = await remoteGit(dir, ['diff', '--no-color', '--no-ext-diff', bed.defaultSha, ref]);
  expect(
    { parents, commits: count, author: author.replace(/ <.*$/, '') },
    `the commit pushed to ${ref}`,
  ).toEqual({
    parents: [bed.defaultSha],
    commits: 1,
    author: 'shipmate',
  });
  expect(diffEffect(pushedDiff), `the pushed diff of ${ref} against the diff shown in Slack`).toEqual(
    diffEffect(diffInSummary(summaryMarkdown)),
  );
}

/** One bot message in the thread matches every pattern (a sentence, not words scattered over replies). */
export function expectSentence(h: Harness, threadTs: string, ...patterns: RegExp[]): void {
  const messages = h.slack
    .botMessagesInThread(CHANNEL, threadTs)
    .map((message) => `${message.text}\n${answerText(message)}`);
  expect(
    messages.some((text) => patterns.every((pattern) => pattern.test(text))),
    `a message in the thread matching ${patterns.join(' and ')}; the thread: ${JSON.stringify(messages)}`,
  ).toBe(true);
}

/**
 * `expectNoSecretsLeaked` for a bed: its tokens (plus `extraSecrets`) in no Slack message or
 * file, log line, remote object, pull request title/body or PR comment on the GitHub stand-in.
 */
export async function expectNoLeaks(bed: HostileBed, extraSecrets: string[] = []): Promise<void> {
  await expectNoSecretsLeaked(bed.h, [...bed.tokens, ...extraSecrets], {
    remoteDir: bed.remote.dir,
    extra: [
      { where: 'GitHub pull requests', text: JSON.stringify(bed.github.pulls) },
      { where: 'GitHub comments', text: JSON.stringify(bed.github.comments) },
    ],
  });
}
