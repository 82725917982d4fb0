import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { SqlThreadWorkspaceStore } from '../../src/storage/thread-workspace-store.js';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { ImportPolicy, RepoSpec, Workspace } from '../../src/workspace/types.js';
import { WorkspaceManager } from '../../src/workspace/worktree-manager.js';
import { safeThreadKey } from '../../src/workspace/worktree-records.js';
import { describeBackends } from '../support/backends.js';
import { createRepo, git, TEST_AUTHOR, type TestRepo } from '../support/git-fixtures.js';

/**
 * Any process can continue any thread (#14): process A works on a thread and checkpoints;
 * process B (its own disk, the same database) picks the thread up and finds it as A left it.
 * The saved uncommitted change is sandbox-written data: B applies it inside its sandbox only,
 * so a patch that tries to leave the worktree, plant a hook or poison git changes nothing on
 * the host.
 */

let origin: TestRepo;
let repo: RepoSpec;
let dataRoot: string;
/** Outside every worktree, readable in the sandbox (not under its private /tmp), writable by none of it. */
let outside: string;
let sandbox: SandboxRunner;
let baseHead: string;
const logLines: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: { write: (line: string) => logLines.push(line) } as never,
});
const policy: ImportPolicy = { exclude: () => undefined, maxFileBytes: 1024 * 1024 };
const canaryText = 'canary: nobody may touch this\n';

beforeAll(async () => {
  origin = await createRepo({
    files: {
      'README.md': '# demo\n',
      'src/app.ts': 'export const answer = 42;\n',
      'src/old.ts': 'export const old = true;\n',
      'scripts/run.sh': 'echo run\n',
    },
  });
  repo = { name: 'demo', url: origin.dir, defaultBranch: origin.defaultBranch };
  baseHead = await git(origin.dir, ['rev-parse', 'HEAD']);
  dataRoot = await mkdtemp(join(tmpdir(), 'shipmate-continue-'));
  outside = await mkdtemp('/var/tmp/shipmate-outside-');
  await writeFile(join(outside, 'canary.txt'), canaryText);
  // Hooks a poisoned config could point git at: each would leave a mark if it ever ran.
  await mkdir(join(outside, 'hooks'));
  for (const hook of [
    'post-checkout',
    'pre-commit',
    'post-commit',
    'reference-transaction',
    'post-index-change',
  ]) {
    await writeFile(join(outside, 'hooks', hook), `#!/bin/sh\ntouch "${outside}/hook-ran"\n`);
    await chmod(join(outside, 'hooks', hook), 0o755);
  }
  sandbox = await SandboxRunner.create({ mode: 'on', tempRoot: join(dataRoot, 'tmp'), denyRead: [dataRoot] });
});

afterAll(async () => {
  await sandbox?.close();
  await Promise.all([
    rm(dataRoot, { recursive: true, force: true }),
    rm(outside, { recursive: true, force: true }),
    origin?.cleanup(),
  ]);
});

describeBackends('continuing a thread on another process', (open, backend) => {
  let store: SqlThreadWorkspaceStore;
  let processA: WorkspaceManager;
  let processB: WorkspaceManager;
  let thread = 0;
  const nextThread = () => `C0${backend.toUpperCase()}-${++thread}.0001`;
  const newProcess = (name: string, more: Partial<ConstructorParameters<typeof WorkspaceManager>[0]> = {}) =>
    new WorkspaceManager({
      dataDir: join(dataRoot, backend, name),
      sandbox,
      log,
      state: store,
      processId: `process-${name}`,
      ...more,
    });

  beforeAll(async () => {
    store = new SqlThreadWorkspaceStore(await open());
    processA = newProcess('a');
    processB = newProcess('b');
  });

  it('gives another process the same working tree, branch and head', async () => {
    const key = nextThread();
    const a = await processA.acquire(repo, key, { slug: 'tidy up' });
    expect(a.restored).toBe('fresh');
    await mustRun(a, [
      "printf 'more words\\n' >> README.md",
      "mkdir -p notes && printf 'a new file\\n' > notes/new.txt",
      "printf '\\x89PNG\\r\\n\\x1a\\n\\x00\\x01\\xff\\xfe' > logo.png",
      "printf 'caf\\xe9 au lait\\n' > latin1.txt",
      'rm src/old.ts',
      'chmod +x scripts/run.sh',
    ]);
    await a.checkpoint();
    expect((await store.load('demo', key))?.holder).toBe('process-a');

    const b = await processB.acquire(repo, key);
    expect(b.restored).toBe('ok');
    expect(b.root).not.toBe(a.root);
    expect({ branch: b.branch, base: b.baseCommit, head: b.head() }).toEqual({
      branch: a.branch,
      base: a.baseCommit,
      head: a.head(),
    });
    expect(await snapshot(b.root)).toEqual(await snapshot(a.root));
    expect(await status(b)).toBe(await status(a));
    expect(await status(b)).toContain(' D src/old.ts');
  });

  it('carries commits and the uncommitted change made after them, and follows the thread back', async () => {
    const key = nextThread();
    const a = await processA.acquire(repo, key);
    await mustRun(a, ["printf 'export const answer = 43;\\n' > src/app.ts"]);
    const first = await a.commit(await a.stage(policy), 'Change the answer', TEST_AUTHOR);
    await mustRun(a, ["printf 'draft\\n' > draft.md", "printf 'more\\n' >> README.md"]);
    await a.checkpoint();

    const b = await processB.acquire(repo, key);
    expect(b.restored).toBe('ok');
    expect(b.head()).toBe(first);
    expect(await git(b.hostRepo, ['rev-parse', `refs/heads/${b.branch}`])).toBe(first);
    expect((await mustRun(b, ['git log -1 --format=%s'])).trim()).toBe('Change the answer');
    expect(await snapshot(b.root)).toEqual(await snapshot(a.root));
    expect(await status(b)).toBe(await status(a));

    // B moves the thread on; A's worktree is now a stale cache and is rebuilt from the database.
    const second = await b.commit(await b.stage(policy), 'Add the draft', TEST_AUTHOR);
    await mustRun(b, ["printf 'from b\\n' > b.txt"]);
    await b.checkpoint();
    const back = await processA.acquire(repo, key);
    expect(back.restored).toBe('ok');
    expect(back.head()).toBe(second);
    expect(await snapshot(back.root)).toEqual(await snapshot(b.root));

    // Nobody else wrote since: A's own later edits (not checkpointed) stay in its worktree.
    await mustRun(back, ["printf 'local only\\n' > local.txt"]);
    const again = await processA.acquire(repo, key);
    expect(await again.readFile('local.txt')).toBe('local only\n');
  });

  it('a discard is saved too, so no other process brings the change back', async () => {
    const key = nextThread();
    const a = await processA.acquire(repo, key);
    await mustRun(a, ["printf 'throw me away\\n' > scratch.txt"]);
    await a.checkpoint();
    await a.discard();
    const b = await processB.acquire(repo, key);
    expect(b.restored).toBe('ok');
    expect(await status(b)).toBe('');
  });

  const hostilePatches: Array<{ name: string; patch: (root: string) => string }> = [
    {
      name: 'a path climbing out with ../',
      patch: (root) => newFile(`${relative(root, outside)}/escape.txt`),
    },
    {
      name: 'a path into the thread’s own sandbox git dir with ../',
      patch: (root) =>
        newFile(`${relative(root, join(root, '..', '..', '..', 'worktree-git'))}/x/hooks/post-checkout`),
    },
    {
      name: 'a path into the thread’s host repository with ../',
      patch: (root) => {
        const hostRepo = join(root, '..', '..', '..', 'thread-repos', 'demo', `${basename(root)}.git`);
        return (
          newFile(`${relative(root, hostRepo)}/hooks/post-update`) +
          newFile(`${relative(root, hostRepo)}/info/x`)
        );
      },
    },
    { name: 'an absolute path', patch: () => newFile(`${outside}/absolute.txt`) },
    {
      name: 'a symlink out and a write through it',
      patch: () => symlink('link', outside) + newFile('link/through.txt'),
    },
    {
      name: 'a hook in .git/hooks',
      patch: () => newFile('.git/hooks/post-checkout', `#!/bin/sh\ntouch "${outside}/hook-ran"`, '100755'),
    },
    {
      name: 'a .git/config pointing hooks outside',
      patch: () => newFile('.git/config', `[core]\n\thooksPath = ${outside}/hooks`),
    },
    {
      name: 'a .GIT/config spelled another way',
      patch: () => newFile('.GIT/config', `[core]\n\thooksPath = ${outside}/hooks`),
    },
  ];

  for (const hostile of hostilePatches) {
    it(`never lets a saved change escape the worktree: ${hostile.name}`, async () => {
      const key = nextThread();
      const root = join(dataRoot, backend, 'b', 'worktrees', 'demo', safeThreadKey(key));
      const patch = `${modifyReadme()}${hostile.patch(root)}`;
      await saveState(key, { patch: Buffer.from(patch).toString('base64') });
      const before = await listTree(outside);

      const b = await processB.acquire(repo, key);
      expect(b.root).toBe(root);
      expect(b.restored).toBe('failed');
      expect(b.head()).toBe(baseHead);
      expect(await status(b)).toBe('');
      // Host git runs on the thread's own repository after a restore: still no hook fires.
      await b.commit(await b.stageFiles([{ path: 'x.txt', content: 'x\n' }], policy), 'x', TEST_AUTHOR);
      await b.discard();

      await expectHostUntouched(before, b);
    });
  }

  it('a restored symlink out stays inert: the host never follows it', async () => {
    const key = nextThread();
    await saveState(key, { patch: Buffer.from(symlink('link', outside)).toString('base64') });
    const before = await listTree(outside);
    const b = await processB.acquire(repo, key);
    expect(b.restored).toBe('ok');
    expect(await readlink(join(b.root, 'link'))).toBe(outside);
    await expect(b.writeFile('link/through.txt', 'pwned')).rejects.toThrow();
    await expect(b.readFile('link/canary.txt')).rejects.toThrow();
    const write = await b.run('echo pwned > link/canary.txt; echo pwned > link/new.txt');
    expect(write.exitCode).not.toBe(0);
    await expect(b.stage(policy)).rejects.toMatchObject({ code: 'change-refused' });
    await b.checkpoint();
    await b.discard();
    await processB.prune();
    await expectHostUntouched(before, b);
  });

  it('starts afresh, says so and keeps the row when the saved commits are gone', async () => {
    for (const broken of [
      { head: 'a'.repeat(40), commits: Buffer.from('not a bundle').toString('base64') },
      { baseCommit: 'f'.repeat(40), head: 'f'.repeat(40) },
      { head: 'b'.repeat(40), commits: null },
    ]) {
      const key = nextThread();
      await saveState(key, { patch: Buffer.from(modifyReadme()).toString('base64'), ...broken });
      const saved = await store.load('demo', key);
      const seen = logLines.length;

      const b = await processB.acquire(repo, key, { slug: 'again' });
      expect(b.restored).toBe('failed');
      expect(b.head()).toBe(baseHead);
      expect(b.baseCommit).toBe(baseHead);
      expect(await status(b)).toBe('');
      expect(await store.load('demo', key)).toEqual(saved);
      const warning = logLines.slice(seen).find((line) => line.includes('thread-workspace-restore-failed'));
      expect(warning).toBeDefined();
      // The same process does not try the same state again at the next follow-up.
      await mustRun(b, ["printf 'kept\\n' > kept.txt"]);
      const again = await processB.acquire(repo, key);
      expect(await again.readFile('kept.txt')).toBe('kept\n');
    }
  });

  it('keeps the commits but says the change is lost when the saved change does not apply', async () => {
    const key = nextThread();
    const a = await processA.acquire(repo, key);
    await mustRun(a, ["printf 'export const answer = 44;\\n' > src/app.ts"]);
    const head = await a.commit(await a.stage(policy), 'Answer 44', TEST_AUTHOR);
    await a.checkpoint();
    const saved = await store.load('demo', key);
    await store.save({
      ...saved!,
      patch: Buffer.from(modifyReadme('# not what is there\n')).toString('base64'),
    });

    const b = await processB.acquire(repo, key);
    expect(b.restored).toBe('failed');
    expect(b.head()).toBe(head);
    expect(await b.readFile('src/app.ts')).toBe('export const answer = 44;\n');
    expect(await status(b)).toBe('');
  });

  it('saves no change past the size cap and says so', async () => {
    const key = nextThread();
    const small = newProcess('small-cap', { checkpointPatchBytes: 4096 });
    const a = await small.acquire(repo, key);
    await mustRun(a, ['head -c 20000 /dev/urandom | base64 > big.txt']);
    const seen = logLines.length;
    await a.checkpoint();
    expect(logLines.slice(seen).some((line) => line.includes('thread-workspace-patch-omitted'))).toBe(true);
    const b = await processB.acquire(repo, key);
    expect(b.restored).toBe('failed');
    expect(await status(b)).toBe('');
  });

  it('orders saves of a thread even when a writer’s clock is behind', async () => {
    const db = await open();
    let now = 5_000;
    const skewed = new SqlThreadWorkspaceStore(db, () => now);
    const state = {
      repo: 'demo',
      threadKey: 'C0CLOCK-1.0',
      branch: 'shipmate/clock-1',
      baseCommit: baseHead,
      head: baseHead,
      commits: null,
      patch: '',
      holder: 'process-a',
    };
    const first = await skewed.save(state);
    now = 1_000;
    const second = await skewed.save({ ...state, holder: 'process-b' });
    expect(second).toBeGreaterThan(first);
    expect(await skewed.load('demo', 'C0CLOCK-1.0')).toEqual({
      ...state,
      holder: 'process-b',
      updatedAt: second,
    });
    expect(await skewed.load('demo', 'C0CLOCK-2.0')).toBeUndefined();
  });

  async function saveState(
    key: string,
    fields: { patch: string; baseCommit?: string; head?: string; commits?: string | null },
  ): Promise<void> {
    await store.save({
      repo: 'demo',
      threadKey: key,
      branch: `shipmate/hostile-${thread}`,
      baseCommit: baseHead,
      head: baseHead,
      commits: null,
      holder: 'process-evil',
      ...fields,
    });
  }

  async function expectHostUntouched(before: string[], b: Workspace): Promise<void> {
    expect(await readFile(join(outside, 'canary.txt'), 'utf8')).toBe(canaryText);
    expect(await listTree(outside)).toEqual(before);
    const planted = (await listTree(dataRoot)).filter((path) =>
      /(?:escape|absolute|through)\.txt$|hooks\/post-checkout$/.test(path),
    );
    expect(planted).toEqual([]);
    const hostConfig = await readFile(join(b.hostRepo, 'config'), 'utf8');
    expect(hostConfig).not.toMatch(/hooksPath|fsmonitor|sshCommand|\[alias|\[url/i);
    expect(hostConfig).not.toContain(outside);
    expect(await readdir(join(b.hostRepo, 'hooks')).catch(() => [])).toEqual([]);
    expect(await git(origin.dir, ['rev-parse', 'HEAD'])).toBe(baseHead);
  }
});

async function mustRun(workspace: Workspace, commands: string[]): Promise<string> {
  const result = await workspace.run(commands.join(' && '));
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

/** git status as the agent sees it, from inside the sandbox. */
async function status(workspace: Workspace): Promise<string> {
  return (await mustRun(workspace, ['git status --porcelain=v1 -uall'])).trim();
}

/** Every path under `root` but the `.git` link: its kind, mode and content (or link target). */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of (await readdir(dir)).sort()) {
      const path = join(dir, entry);
      const name = relative(root, path);
      if (name === '.git') continue;
      const info = await lstat(path);
      if (info.isSymbolicLink()) out[name] = `link ${await readlink(path)}`;
      else if (info.isDirectory()) await walk(path);
      else {
        const digest = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
        out[name] = `file ${(info.mode & 0o111) !== 0 ? 'x' : '-'} ${digest}`;
      }
    }
  };
  await walk(root);
  return out;
}

/** Every path under `dir` with its size and mtime, links not followed. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const out: string[] = [];
  for (const entry of entries.sort()) {
    const info = await stat(join(dir, entry)).catch(() => undefined);
    out.push(`${entry} ${info?.size ?? '?'} ${info?.mtimeMs ?? '?'}`);
  }
  return out;
}

function newFile(path: string, content = 'pwned', mode = '100644'): string {
  const lines = content.split('\n');
  return [
    `diff --git a/${path} b/${path}`,
    `new file mode ${mode}`,
    '--- /dev/null',
    `+++ b/${path}`,
    `@@ -0,0 +1,${lines.length} @@`,
    ...lines.map((line) => `+${line}`),
    '',
  ].join('\n');
}

function symlink(path: string, target: string): string {
  return [
    `diff --git a/${path} b/${path}`,
    'new file mode 120000',
    '--- /dev/null',
    `+++ b/${path}`,
    '@@ -0,0 +1 @@',
    `+${target}`,
    '\\ No newline at end of file',
    '',
  ].join('\n');
}

/** A harmless edit of README.md ahead of the hostile part, so all of it must be refused together. */
function modifyReadme(from = '# demo\n'): string {
  return [
    'diff --git a/README.md b/README.md',
    '--- a/README.md',
    '+++ b/README.md',
    '@@ -1 +1,2 @@',
    ` ${from.trimEnd()}`,
    '+added',
    '',
  ].join('\n');
}
