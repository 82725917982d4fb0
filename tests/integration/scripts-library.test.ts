import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoConfig } from '../../src/config.js';
import { parseCommandWord } from '../../src/handlers/command-words.js';
import { createCommandJob } from '../../src/jobs/command-job.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import type { JobOutcome, Reply, ThreadHistory, ThreadRef } from '../../src/jobs/ports.js';
import type { ToolContext } from '../../src/jobs/tools.js';
import { type AgentTool, toOpenAiTool } from '../../src/jobs/tools.js';
import { createLogger } from '../../src/log.js';
import { createScriptsRoom, type ScriptsRoom } from '../../src/scripts/create-scripts-room.js';
import { exportScripts, importScripts } from '../../src/scripts/export-import.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { Workspace } from '../../src/workspace/types.js';
import { WorkspaceManager } from '../../src/workspace/worktree-manager.js';
import { describeBackends } from '../support/backends.js';
import { createRepo, type TestRepo } from '../support/git-fixtures.js';

const CHANNEL = 'C0SCRIPTS';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const log = createLogger({ level: 'silent' });

let origin: TestRepo;
let dataDir: string;
let sandbox: SandboxRunner;
let manager: WorkspaceManager;
let repo: RepoConfig & { defaultBranch: string };

const history: ThreadHistory = {
  fetch: async () => [],
  displayName: async (userId) => ({ [ALICE]: 'Alice', [BOB]: 'Bob', [CAROL]: 'Carol' })[userId] ?? userId,
  permalink: async (channel, ts) => `https://example.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
};

beforeAll(async () => {
  origin = await createRepo({
    files: {
      'README.md': '# shop\n',
      'src/a.js': 'export const a = 1;\n',
      'src/b.js': 'export const b = 2;\n',
      'lib/c.js': 'export const c = 3;\n',
      'fixtures/signups.csv': 'plan\npro\nfree\npro\n',
    },
  });
  dataDir = await mkdtemp(join(tmpdir(), 'shipmate-scripts-'));
  sandbox = await SandboxRunner.create({ mode: 'on', tempRoot: join(dataDir, 'tmp'), denyRead: [dataDir] });
  manager = new WorkspaceManager({ dataDir: join(dataDir, 'workspaces'), sandbox });
  repo = {
    name: 'shop',
    url: origin.dir,
    defaultBranch: origin.defaultBranch,
    channels: [CHANNEL],
    checks: [],
    allowedDomains: [],
    allowLifecycleScripts: false,
    allowWorkflowChanges: false,
  };
});

afterAll(async () => {
  await sandbox.close();
  await rm(dataDir, { recursive: true, force: true });
  await origin.cleanup();
});

interface Bed {
  db: Database;
  room: ScriptsRoom;
  queue: JobQueue;
  replies: Array<{ thread: ThreadRef; reply: Reply }>;
  command(text: string, userId: string, threadTs?: string): Promise<JobOutcome<'command'>>;
  tool(name: string, userId: string): AgentTool;
  workspace(threadTs: string): Promise<Workspace>;
}

const limits = {
  maxSteps: 40,
  wallTimeSeconds: 600,
  commandTimeoutSeconds: 30,
  jobTokens: 400_000,
  maxChangedFiles: 10,
  maxChangedLines: 400,
  maxFileBytes: 1024 ** 2,
  worktreeIdleHours: 72,
  modelIdleSeconds: 120,
};

/** A scripts room on `db` (a fresh SQLite file unless given). */
async function newBed(writers: string[] = [], given?: Database): Promise<Bed> {
  const db = given ?? (await sqliteDatabase());
  const replies: Bed['replies'] = [];
  const room = createScriptsRoom({
    config: {
      access: { writers },
      repos: [repo],
      limits,
    },
    db,
    workspaces: { acquire: (spec, threadKey) => manager.acquire(spec, threadKey) },
    history,
    notifier: { reply: async (thread, reply) => void replies.push({ thread, reply }) },
    log,
    resolveRepo: (channel) => (channel === CHANNEL ? repo : undefined),
  });
  const queue = new JobQueue(db);
  const handler = createCommandJob(room.commands);
  const workspace = (threadTs: string) => manager.acquire(repo, `${CHANNEL}-${threadTs}`);
  return {
    db,
    room,
    queue,
    replies,
    workspace,
    async command(text, userId, threadTs = '1700000000.000100') {
      const command = parseCommandWord(text);
      if (!command) throw new Error(`"${text}" is not a command word`);
      const job = await queue.enqueue({
        kind: 'command',
        channel: CHANNEL,
        threadTs,
        messageTs: threadTs,
        userId,
        payload: { command },
      });
      return handler({ job, signal: new AbortController().signal, log, progress: () => {} });
    },
    tool(name, userId) {
      const tools = room.tools.tools({
        userId,
        repo: repo.name,
        channel: CHANNEL,
        threadTs: '1.1',
        mode: 'question',
        jobId: 'job-1',
      });
      const found = tools.find((tool) => tool.name === name);
      if (!found) throw new Error(`no tool ${name}`);
      return found;
    },
  };
}

async function callTool(bed: Bed, name: string, userId: string, input: unknown): Promise<string> {
  const tool = bed.tool(name, userId);
  const context: ToolContext = {
    workspace: await bed.workspace('1700000000.000900'),
    jobId: 'job-1',
    userId,
    signal: new AbortController().signal,
    log,
    progress: () => {},
    commands: { timeoutMs: 30_000 },
    ask: () => {},
    reportBlocked: () => {},
  };
  return tool.run(tool.schema.parse(input), context);
}

async function sqliteDatabase(): Promise<Database> {
  return openDatabase(join(await mkdtemp(join(dataDir, 'db-')), 'shipmate.db'));
}

const countJs = {
  name: 'count-js',
  description: 'Counts JavaScript files under a directory',
  interpreter: 'bash',
  body: 'echo "dir=$PARAM_DIR"\nfind "$PARAM_DIR" -name "*.js" | wc -l | tr -d " "\n',
  parameters: [{ name: 'dir', description: 'Directory to scan', default: 'src' }],
};

describe('team scripts run in the sandbox', () => {
  it('saves a script through the tool and another user runs it by name without a model', async () => {
    const bed = await newBed();
    const saved = await callTool(bed, 'save_script', ALICE, countJs);
    expect(saved).toMatch(/Saved team script "count-js"/);

    const started = Date.now();
    const outcome = await bed.command('run count-js', BOB);
    expect(outcome.reply?.markdown).toMatch(/`count-js` finished \(exit 0\)/);
    expect(outcome.reply?.markdown).toContain('dir=src\n2');
    expect(Date.now() - started).toBeLessThan(15_000);

    // Warm worktree: the reply costs well under a second beyond the script's own run time.
    const warmStart = Date.now();
    const other = await bed.command('run count-js dir=lib', BOB);
    expect(other.reply?.markdown).toContain('dir=lib\n1');
    expect(Date.now() - warmStart - Number(other.result?.durationMs)).toBeLessThan(1000);

    const viaTool = await callTool(bed, 'run_script', BOB, { name: 'count-js', parameters: { DIR: 'lib' } });
    expect(viaTool).toMatch(/^count-js finished \(exit 0\) in .*\nstdout:\ndir=lib\n1/s);
    const script = await bed.room.store.find('count-js', 'shop');
    expect(script).toMatchObject({ author: ALICE, runCount: 3, lastExitStatus: 0 });
    expect(script?.sourcePermalink).toContain(`/archives/${CHANNEL}/`);
  });

  it('passes a parameter as a plain string, never as shell text', async () => {
    const bed = await newBed();
    await callTool(bed, 'save_script', ALICE, countJs);
    // The worktree is writable inside the sandbox, so an injected `touch` would leave its mark there.
    const workspace = await bed.workspace('1700000000.000100');
    const marker = join(workspace.root, 'pwned');
    const outcome = await bed.command("run count-js dir='$(touch pwned)'", BOB);
    expect(outcome.reply?.markdown).toContain('dir=$(touch pwned)\n0');
    const quoted = await bed.command('run count-js dir="a; touch pwned; `touch pwned`"', BOB);
    expect(quoted.reply?.markdown).toContain('dir=a; touch pwned; `touch pwned`');
    expect(existsSync(marker)).toBe(false);
  });

  it('answers a missing required parameter or an unknown one with the usage line', async () => {
    const bed = await newBed();
    await callTool(bed, 'save_script', ALICE, {
      name: 'greet',
      description: 'Says hello to someone',
      interpreter: 'python3',
      body: 'import os\nprint("hello " + os.environ["PARAM_WHO"])\n',
      parameters: [{ name: 'who', description: 'Who to greet' }],
    });
    const missing = await bed.command('run greet', BOB);
    expect(missing.reply?.markdown).toMatch(/Missing `who`/);
    expect(missing.reply?.markdown).toContain('Usage: `run greet who=<who>`');
    const unknown = await bed.command('run greet who=ana colour=red', BOB);
    expect(unknown.reply?.markdown).toMatch(/no parameter `colour`/);
    expect((await bed.room.store.find('greet', 'shop'))?.runCount).toBe(0);
    const ran = await bed.command('run greet who="Ana Lima"', BOB);
    expect(ran.reply?.markdown).toContain('hello Ana Lima');
  });

  it('proposes a script as a pull request through the forge, or says a forge is needed', async () => {
    const bed = await newBed();
    await callTool(bed, 'save_script', ALICE, countJs);
    const without = await bed.command('propose script count-js', BOB);
    expect(without.reply?.markdown).toMatch(/needs a forge/);

    const proposed: unknown[] = [];
    const db = await sqliteDatabase();
    const room = createScriptsRoom({
      config: { access: { writers: [] }, repos: [repo], limits: { ...limits } },
      db,
      workspaces: { acquire: (spec, threadKey) => manager.acquire(spec, threadKey) },
      history,
      notifier: { reply: async () => {} },
      log,
      resolveRepo: () => repo,
      proposer: {
        propose: async (target, script, userId) => {
          proposed.push({ repo: target.name, file: script.file, userId });
          return { markdown: 'Opened a pull request.' };
        },
      },
    });
    await room.store.insert({ ...countJs, scope: 'shop', interpreter: 'bash' }, ALICE, undefined);
    const job = await bed.queue.enqueue({
      kind: 'command',
      channel: CHANNEL,
      threadTs: '1.2',
      messageTs: '1.2',
      userId: BOB,
      payload: { command: { name: 'propose-script', script: 'count-js' } },
    });
    const outcome = await room.commands['propose-script'](
      { name: 'propose-script', script: 'count-js' },
      { job, signal: new AbortController().signal, log, progress: () => {} },
    );
    expect(outcome.reply?.markdown).toBe('Opened a pull request.');
    expect(proposed).toEqual([
      {
        repo: 'shop',
        userId: BOB,
        file: {
          path: '.shipmate/scripts/count-js.bash',
          content: expect.stringContaining('# shipmate: param dir: Directory to scan (default: src)'),
        },
      },
    ]);
  });

  it('describes every tool field to the model', async () => {
    const bed = await newBed();
    const tools = bed.room.tools.tools({
      userId: ALICE,
      repo: 'shop',
      channel: CHANNEL,
      threadTs: '1.1',
      mode: 'question',
      jobId: 'job-1',
    });
    expect(tools.map((tool) => tool.name)).toEqual(['search_scripts', 'run_script', 'save_script']);
    for (const tool of tools) {
      const spec = toOpenAiTool(tool).function.parameters as {
        properties: Record<string, { description?: string }>;
      };
      for (const [field, schema] of Object.entries(spec.properties)) {
        expect(schema.description, `${tool.name}.${field}`).toBeTruthy();
      }
    }
  });
});

describeBackends('the team script library', (open) => {
  it('finds a script by a word of its description and lists it with author and runs', async () => {
    const bed = await newBed([], await open());
    await callTool(bed, 'save_script', ALICE, countJs);
    await callTool(bed, 'save_script', ALICE, {
      name: 'signups-by-plan',
      description: 'Counts signups by plan from the fixtures',
      interpreter: 'sh',
      body: 'tail -n +2 fixtures/signups.csv | sort | uniq -c\n',
    });
    const found = await bed.command('scripts javascript', BOB);
    expect(found.reply?.markdown).toContain('**count-js**');
    expect(found.reply?.markdown).not.toContain('signups-by-plan');
    const hostile = await bed.command('scripts signups" OR name:* NEAR(', BOB);
    expect(hostile.reply?.markdown).toContain('signups-by-plan');

    await bed.command('run signups-by-plan', BOB);
    const listed = await bed.command('scripts', BOB);
    expect(listed.reply?.markdown).toMatch(
      /\*\*signups-by-plan\*\*: Counts signups by plan.* · by Alice · 1 run · last succeeded/,
    );
    expect(listed.reply?.markdown).toMatch(/\*\*count-js\*\*.* · 0 runs/);

    const searched = await callTool(bed, 'search_scripts', BOB, { query: 'signups' });
    expect(searched).toContain('signups-by-plan (sh; 1 runs)');
    const context = await bed.room.tools.context?.({
      repo: 'shop',
      request: 'how many signups per plan are in the fixtures?',
    });
    expect(context?.join('\n')).toContain(
      'signups-by-plan — Counts signups by plan from the fixtures (run_script)',
    );
  });

  it('keeps the old body in the history after an update, and refuses a clash without update', async () => {
    const bed = await newBed([], await open());
    await callTool(bed, 'save_script', ALICE, countJs);
    const clash = await callTool(bed, 'save_script', BOB, { ...countJs, body: 'echo replaced\n' });
    expect(clash).toMatch(/already exists.*update: true/s);
    expect((await bed.room.store.find('count-js', 'shop'))?.body).toBe(countJs.body);

    const updated = await callTool(bed, 'save_script', BOB, {
      ...countJs,
      body: 'echo replaced\n',
      update: true,
    });
    expect(updated).toMatch(/Updated \(now version 2/);
    const shown = await bed.command('script count-js', CAROL);
    expect(shown.reply?.markdown).toContain('echo replaced');
    expect(shown.reply?.markdown).toMatch(/- v2 \(current\): Bob/);
    expect(shown.reply?.markdown).toMatch(/- v1: Alice/);
    const script = await bed.room.store.find('count-js', 'shop');
    expect((await bed.room.store.versions(script!.id))[0]?.body).toBe(countJs.body);
  });

  it('does not let a non-writer save when writers are set', async () => {
    const bed = await newBed([ALICE], await open());
    const refused = await callTool(bed, 'save_script', BOB, countJs);
    expect(refused).toMatch(/Not saved\. Saving team scripts is limited to the writers/);
    expect(await bed.room.store.find('count-js', 'shop')).toBeUndefined();
    expect(await callTool(bed, 'save_script', ALICE, countJs)).toMatch(/Saved/);
  });

  it('lets only the author or a writer delete a script', async () => {
    const bed = await newBed([CAROL], await open());
    // Alice saved it before writers were set; she is not a writer now but is still its author.
    await bed.room.store.insert(
      {
        name: 'alices',
        scope: 'shop',
        description: 'Alice’s script',
        interpreter: 'sh',
        body: 'echo hi\n',
        parameters: [],
      },
      ALICE,
      undefined,
    );
    const byBob = await bed.command('delete script alices', BOB);
    expect(byBob.reply?.markdown).toMatch(/Only Alice .* or a writer can delete it/);
    expect(await bed.room.store.find('alices', 'shop')).toBeDefined();
    const byAuthor = await bed.command('delete script alices', ALICE);
    expect(byAuthor.reply?.markdown).toMatch(/Deleted `alices`/);
    expect(await bed.room.store.find('alices', 'shop')).toBeUndefined();

    await bed.room.store.insert(
      {
        name: 'bobs',
        scope: 'shop',
        description: 'Bob’s script',
        interpreter: 'sh',
        body: 'echo hi\n',
        parameters: [],
      },
      BOB,
      undefined,
    );
    expect((await bed.command('delete script bobs', CAROL)).reply?.markdown).toMatch(/Deleted `bobs`/);
    expect((await bed.room.store.changesBetween(0, Date.now() + 1)).map((change) => change.change)).toEqual([
      'added',
      'deleted',
      'added',
      'deleted',
    ]);
  });

  it('exports to .shipmate/scripts and imports back with nothing changed', async () => {
    const bed = await newBed([], await open());
    await callTool(bed, 'save_script', ALICE, countJs);
    await callTool(bed, 'save_script', ALICE, {
      name: 'greet',
      description: 'Says hello',
      interpreter: 'node',
      body: 'console.log("hello " + process.env.PARAM_WHO);\n',
      parameters: [{ name: 'who', description: 'Who to greet' }],
    });
    const workspace = await bed.workspace('1700000000.000500');
    const paths = await exportScripts(bed.room.store, workspace, { repo: 'shop' });
    expect(paths.sort()).toEqual(['.shipmate/scripts/count-js.bash', '.shipmate/scripts/greet.js']);
    const file = await workspace.readFile('.shipmate/scripts/count-js.bash');
    expect(file).toContain('# shipmate: description: Counts JavaScript files under a directory');
    expect(file).toContain('# shipmate: param dir: Directory to scan (default: src)');

    const fresh = await newBed([], await open());
    const first = await importScripts(fresh.room.store, workspace, CAROL, { repo: 'shop' });
    expect(first).toEqual({ added: ['count-js', 'greet'], updated: [], unchanged: [], skipped: [] });
    expect(await fresh.room.store.find('greet', 'shop')).toMatchObject({
      interpreter: 'node',
      body: (await bed.room.store.find('greet', 'shop'))?.body,
      parameters: [{ name: 'who', description: 'Who to greet' }],
    });
    const second = await importScripts(fresh.room.store, workspace, CAROL, { repo: 'shop' });
    expect(second).toEqual({ added: [], updated: [], unchanged: ['count-js', 'greet'], skipped: [] });

    await workspace.writeFile(
      '.shipmate/scripts/greet.js',
      `#!/usr/bin/env node\n// shipmate: description: Says hi\n// shipmate: param who: Who to greet\nconsole.log('hi');\n`,
    );
    const viaCommand = await fresh.command('scripts import', CAROL, '1700000000.000500');
    expect(viaCommand.reply?.markdown).toContain('Updated: `greet`');
    expect(viaCommand.reply?.markdown).toContain('Unchanged: `count-js`');
  });
});
