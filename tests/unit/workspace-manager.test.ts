import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { RepoSpec } from '../../src/workspace/types.js';
import { WorkspaceManager } from '../../src/workspace/worktree-manager.js';
import { commitFiles, createRepo, git, type TestRepo } from '../support/git-fixtures.js';

let origin: TestRepo;
let repo: RepoSpec;
let dataDir: string;
let sandbox: SandboxRunner;
let now = 1_000_000;
const clock = () => now;

beforeAll(async () => {
  origin = await createRepo({
    files: { 'README.md': '# demo\n', 'src/app.ts': 'export const answer = 42;\n' },
  });
  repo = { name: 'demo', url: origin.dir, defaultBranch: origin.defaultBranch };
  dataDir = await mkdtemp(join(tmpdir(), 'shipmate-ws-'));
  sandbox = await SandboxRunner.create({ mode: 'on', tempRoot: join(dataDir, 'tmp'), denyRead: [dataDir] });
});

afterAll(async () => {
  await sandbox.close();
  await rm(dataDir, { recursive: true, force: true });
  await origin.cleanup();
});

function newManager(overrides: Partial<ConstructorParameters<typeof WorkspaceManager>[0]> = {}) {
  return new WorkspaceManager({ dataDir, sandbox, clock, fetchIntervalMs: 60_000, ...overrides });
}

describe('WorkspaceManager', () => {
  it('gives two threads on one repo separate worktrees at the default-branch head', async () => {
    const manager = newManager();
    const head = await git(origin.dir, ['rev-parse', 'HEAD']);
    const [a, b] = await Promise.all([manager.acquire(repo, 'C1-100.1'), manager.acquire(repo, 'C1-200.2')]);
    expect(a.root).not.toBe(b.root);
    expect(a.branch).not.toBe(b.branch);
    expect(a.branch.startsWith('shipmate/')).toBe(true);
    expect([a.baseCommit, b.baseCommit]).toEqual([head, head]);
    expect(await a.readFile('src/app.ts')).toContain('42');
    expect(await git(a.root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(await git(a.root, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe(a.branch);
  });

  it('gives a follow-up in the thread the same worktree with its edits', async () => {
    const manager = newManager();
    const first = await manager.acquire(repo, 'C1-300.3', { slug: 'Fix the README!' });
    expect(first.branch).toMatch(/^shipmate\/fix-the-readme-[0-9a-f]{8}$/);
    await first.writeFile('notes/todo.md', 'keep me\n');
    const again = await newManager().acquire(repo, 'C1-300.3');
    expect(again.root).toBe(first.root);
    expect(again.branch).toBe(first.branch);
    expect(await again.readFile('notes/todo.md')).toBe('keep me\n');
  });

  it('shows a new origin commit to a new thread once the fetch interval has passed', async () => {
    const manager = newManager();
    const before = await manager.acquire(repo, 'C2-1.1');
    const newSha = await commitFiles(origin.dir, {
      message: 'Add feature',
      files: { 'feature.txt': 'new\n' },
    });
    const tooSoon = await manager.acquire(repo, 'C2-2.2');
    expect(tooSoon.baseCommit).toBe(before.baseCommit);
    now += 61_000;
    const later = await manager.acquire(repo, 'C2-3.3');
    expect(later.baseCommit).toBe(newSha);
    expect(await later.readFile('feature.txt')).toBe('new\n');
  });

  it('fetches once for concurrent acquires of one repo', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      destination: { write: (line: string) => lines.push(line) } as never,
    });
    const manager = newManager({ log });
    await manager.acquire(repo, 'C3-0.0');
    const head = await commitFiles(origin.dir, { message: 'Another', files: { 'another.txt': 'x\n' } });
    now += 61_000;
    const fetches = () => lines.filter((line) => line.includes('"mirror fetched"')).length;
    const before = fetches();
    const workspaces = await Promise.all(
      Array.from({ length: 5 }, (_, index) => manager.acquire(repo, `C3-${index + 1}.0`)),
    );
    expect(new Set(workspaces.map((workspace) => workspace.baseCommit))).toEqual(new Set([head]));
    expect(fetches() - before).toBe(1);
  });

  it('never stores the repository URL (or credentials in it) in the mirror config', async () => {
    const config = await readFile(join(dataDir, 'mirrors', 'demo.git', 'config'), 'utf8');
    expect(config).not.toContain(origin.dir);
    expect(config).not.toContain('url');
  });

  it('names the repo and scrubs credentials when the clone fails', async () => {
    const manager = newManager();
    const broken = {
      name: 'broken',
      url: 'https://alice:s3cr3t-token@127.0.0.1:9/none.git',
      defaultBranch: 'main',
    };
    const error = await manager.acquire(broken, 'C4-1.1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkspaceError);
    const workspaceError = error as WorkspaceError;
    expect(workspaceError.code).toBe('clone-failed');
    expect(workspaceError.userMessage).toContain('"broken"');
    expect(
      JSON.stringify({ m: workspaceError.message, u: workspaceError.userMessage, f: workspaceError.fields }),
    ).not.toContain('s3cr3t-token');
    expect(existsSync(join(dataDir, 'mirrors', 'broken.git'))).toBe(false);
  });

  it('keeps working from a stale mirror when a fetch fails', async () => {
    const manager = newManager();
    const first = await manager.acquire(repo, 'C5-1.1');
    now += 61_000;
    const moved = { ...repo, url: join(dataDir, 'nowhere') };
    const second = await manager.acquire(moved, 'C5-2.2');
    expect(second.baseCommit).toBe(first.baseCommit);
  });

  it('prunes idle worktrees and the least recently used past the limit', async () => {
    const manager = newManager({ maxWorktrees: 2, idleTtlMs: 10_000 });
    const old = await manager.acquire(repo, 'C6-1.1');
    now += 20_000;
    const a = await manager.acquire(repo, 'C6-2.2');
    now += 1;
    const b = await manager.acquire(repo, 'C6-3.3');
    now += 1;
    const c = await manager.acquire(repo, 'C6-4.4');
    await manager.prune();
    expect(existsSync(old.root)).toBe(false);
    expect(existsSync(a.root)).toBe(false);
    expect(existsSync(b.root)).toBe(true);
    expect(existsSync(c.root)).toBe(true);
    const branches = await git(join(dataDir, 'mirrors', 'demo.git'), ['branch', '--list', old.branch]);
    expect(branches).toBe('');
    // A pruned thread comes back as a fresh worktree.
    const back = await manager.acquire(repo, 'C6-1.1');
    expect(existsSync(join(back.root, 'README.md'))).toBe(true);
    await manager.prune();
  });

  // git trusts an index entry whose stat data matches the file unless the entry is as new as
  // the index file ("racily clean", https://git-scm.com/docs/racy-git). A same-size edit in
  // the second the checkout was written matches on stat, so only the index file's own mtime
  // tells git to compare content: a copy of the index that loses it loses the edit.
  it('stages a same-size edit made in the same second as the checkout', async () => {
    const manager = newManager();
    const workspace = await manager.acquire(repo, 'C7-1.1');
    const setup = await workspace.run(
      [
        'idx="$(git rev-parse --git-path index)"',
        'for attempt in 1 2 3 4 5; do',
        '  git checkout-index -f -- src/app.ts',
        "  printf 'export const answer = 44;\\n' > src/app.ts",
        '  [ "$(stat -c %Y "$idx")" = "$(stat -c %Z src/app.ts)" ] && break',
        'done',
        // The export must run in a later second than the index was written: wait for the tick.
        'written="$(stat -c %Y "$idx")"',
        'while [ "$(date +%s)" = "$written" ]; do sleep 0.05; done',
        'git diff --quiet && echo git-says-clean || echo git-says-changed',
      ].join('\n'),
    );
    expect(setup.exitCode).toBe(0);
    // The agent's own git sees the change: the racy-git check compares content.
    expect(setup.stdout).toContain('git-says-changed');
    const staged = await workspace.stage({ exclude: () => undefined, maxFileBytes: 1024 * 1024 });
    expect(staged.files.map((file) => file.path)).toEqual(['src/app.ts']);
    expect(staged.patch).toContain('+export const answer = 44;');
  });
});
