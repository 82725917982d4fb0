import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { runHostGit } from './host-git.js';
import { assertRepoName, RepoMirrors } from './repo-mirror.js';
import type { SandboxRunner } from './sandbox-runner.js';
import { SandboxRuntimeWorkspace, threadObjectStores } from './sandbox-workspace.js';
import type { RepoSpec, Workspace } from './types.js';
import { safeThreadKey, threadBranchName, type WorktreeRecord, WorktreeRecords } from './worktree-records.js';

export interface WorkspaceManagerOptions {
  dataDir: string;
  sandbox: SandboxRunner;
  fetchIntervalMs?: number;
  idleTtlMs?: number;
  maxWorktrees?: number;
  clock?: () => number;
  log?: Logger;
}

export interface AcquireOptions {
  branchPrefix?: string;
  /** A few words for the branch name ("fix-typo-in-readme"). */
  slug?: string;
}

/**
 * Hands out one git worktree per Slack thread, made from the repo's bare mirror at the
 * default branch's fresh head; follow-ups in the thread get the same worktree back.
 * Idle or surplus worktrees are removed opportunistically.
 */
export class WorkspaceManager {
  private readonly mirrors: RepoMirrors;
  private readonly records: WorktreeRecords;
  private readonly lastUsed = new Map<string, number>();
  private readonly running = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly checkedPrefixes = new Set<string>();
  private readonly idleTtlMs: number;
  private readonly maxWorktrees: number;
  private readonly clock: () => number;
  private pruning: Promise<number> | undefined;
  private pruneQueued: Promise<number> | undefined;

  constructor(private readonly options: WorkspaceManagerOptions) {
    this.clock = options.clock ?? Date.now;
    this.idleTtlMs = options.idleTtlMs ?? 24 * 60 * 60 * 1000;
    this.maxWorktrees = options.maxWorktrees ?? 200;
    this.records = new WorktreeRecords(join(options.dataDir, 'worktree-records'));
    this.mirrors = new RepoMirrors({
      dataDir: options.dataDir,
      fetchIntervalMs: options.fetchIntervalMs ?? 60_000,
      clock: this.clock,
      ...(options.log ? { log: options.log } : {}),
    });
  }

  async acquire(repo: RepoSpec, threadKey: string, options: AcquireOptions = {}): Promise<Workspace> {
    assertRepoName(repo.name);
    const key = safeThreadKey(threadKey);
    const workspace = await this.withLock(`${repo.name}/${key}`, async () => {
      const mirror = await this.mirrors.ensureFresh(repo);
      const existing = await this.records.read(repo.name, key);
      // Locks are always taken in this order (thread, then its sandbox), so a rebuild waiting
      // for nothing but the sandbox lock never waits on an acquire that waits on it.
      const record =
        existing && isLiveThread(existing)
          ? existing
          : await this.withLock(`sandbox:${repo.name}/${key}`, async () => {
              // A rebuild may have had the trees out of place a moment ago: look again.
              const again = await this.records.read(repo.name, key);
              if (again && isLiveThread(again)) return again;
              return this.create(repo, mirror, threadKey, key, again, options);
            });
      record.lastUsedAt = this.clock();
      await this.records.write(record);
      this.lastUsed.set(recordId(record), record.lastUsedAt);
      return this.workspaceFor(record);
    });
    this.pruneInBackground();
    return workspace;
  }

  /** The repo's bare mirror, fetched when older than the interval (for host-side git log in digests). */
  mirrorFor(repo: RepoSpec): Promise<string> {
    return this.mirrors.ensureFresh(repo);
  }

  /** Marks the thread's worktree as no longer in use right now and prunes opportunistically. */
  async release(repo: RepoSpec, threadKey: string): Promise<void> {
    this.lastUsed.set(`${repo.name}/${safeThreadKey(threadKey)}`, this.clock());
    await this.prune();
  }

  /**
   * Removes worktrees idle longer than idleTtlMs, then the least recently used past
   * maxWorktrees. A worktree with a command running is never removed. Returns how many went.
   */
  prune(): Promise<number> {
    if (!this.pruning) {
      this.pruning = this.pruneNow().finally(() => {
        this.pruning = undefined;
      });
      return this.pruning;
    }
    // One is running with an older view: queue exactly one more pass after it.
    this.pruneQueued ??= this.pruning
      .catch(() => 0)
      .then(() => {
        this.pruneQueued = undefined;
        return this.prune();
      });
    return this.pruneQueued;
  }

  private async create(
    repo: RepoSpec,
    mirror: string,
    threadKey: string,
    key: string,
    stale: WorktreeRecord | undefined,
    options: AcquireOptions,
  ): Promise<WorktreeRecord> {
    const dataDir = this.options.dataDir;
    const baseCommit = await this.mirrors.defaultHead(repo);
    const branch = threadBranchName(threadKey, options.branchPrefix ?? 'shipmate/', options.slug);
    await this.checkBranchName(branch);
    const record: WorktreeRecord = {
      repo: repo.name,
      threadKey,
      key,
      path: join(dataDir, 'worktrees', repo.name, key),
      gitDir: join(dataDir, 'worktree-git', repo.name, key),
      hostRepo: join(dataDir, 'thread-repos', repo.name, `${key}.git`),
      branch,
      baseCommit,
      head: baseCommit,
      lastUsedAt: this.clock(),
    };
    // The caller holds the thread's sandbox lock: no command of this thread is running.
    if (stale) await this.removeThreadFiles(stale);
    await this.removeThreadFiles(record);
    await createHostRepo(record, mirror);
    await buildCheckout(record, mirror);
    this.options.log?.info({ repo: repo.name, threadKey, branch, baseCommit }, 'worktree created');
    return record;
  }

  /**
   * Throws away the checkout and the sandbox's git dir and lays them out again from the
   * thread branch's recorded head: whatever the sandbox left there (files, git state) is gone.
   */
  private rebuild(repo: string, key: string): Promise<void> {
    return this.withLock(`sandbox:${repo}/${key}`, () => this.rebuildNow(repo, key));
  }

  /** Only with the thread's sandbox lock held (rebuild, or a command that ended over the cap). */
  private async rebuildNow(repo: string, key: string): Promise<void> {
    const record = await this.records.read(repo, key);
    if (!record) return;
    await rm(record.path, { recursive: true, force: true });
    await rm(record.gitDir, { recursive: true, force: true });
    await buildCheckout(record, this.mirrors.mirrorPath(repo));
  }

  private async removeThreadFiles(record: Pick<WorktreeRecord, 'path' | 'gitDir' | 'hostRepo'>) {
    // fs.rm never follows a link out: a symlink the sandbox planted is unlinked, not walked.
    await Promise.all(
      [record.path, record.gitDir, record.hostRepo].map((dir) => rm(dir, { recursive: true, force: true })),
    );
  }

  /** git's own check, once per prefix (the generated rest of the name is always valid). */
  private async checkBranchName(branch: string): Promise<void> {
    const prefix = branch.slice(0, branch.lastIndexOf('/') + 1);
    if (this.checkedPrefixes.has(prefix)) return;
    await runHostGit(['check-ref-format', '--branch', branch]);
    this.checkedPrefixes.add(prefix);
  }

  private workspaceFor(record: WorktreeRecord): Workspace {
    const id = recordId(record);
    const mirror = this.mirrors.mirrorPath(record.repo);
    let head = record.head;
    const keeper = {
      head: () => head,
      advance: async (next: string) => {
        const current = (await this.records.read(record.repo, record.key)) ?? record;
        head = next;
        await this.records.write({ ...current, head: next });
      },
      rebuild: () => this.rebuild(record.repo, record.key),
      rebuildNow: () => this.rebuildNow(record.repo, record.key),
      exclusive: <T>(work: () => Promise<T>) => this.withLock(`sandbox:${id}`, work),
      tmpRoot: join(this.options.dataDir, 'host-tmp'),
    };
    const paths = { ...record, root: record.path, mirror };
    return new SandboxRuntimeWorkspace(paths, this.options.sandbox, keeper, {
      started: () => {
        this.running.set(id, (this.running.get(id) ?? 0) + 1);
        this.lastUsed.set(id, this.clock());
      },
      finished: () => {
        this.running.set(id, (this.running.get(id) ?? 1) - 1);
        this.lastUsed.set(id, this.clock());
      },
    });
  }

  private async pruneNow(): Promise<number> {
    const now = this.clock();
    const records = (await this.records.list()).map((record) => ({
      ...record,
      lastUsedAt: Math.max(record.lastUsedAt, this.lastUsed.get(recordId(record)) ?? 0),
    }));
    const removable = (record: WorktreeRecord) => (this.running.get(recordId(record)) ?? 0) === 0;
    const idle = records.filter((record) => now - record.lastUsedAt > this.idleTtlMs);
    const kept = records
      .filter((record) => !idle.includes(record))
      .sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    const victims = [...idle, ...kept.slice(this.maxWorktrees)].filter(removable);
    let removed = 0;
    for (const record of victims) {
      const done = await this.withLock(recordId(record), () => this.evict(record)).catch((error: unknown) => {
        this.options.log?.warn(
          { path: record.path, error: describeError(error) },
          'could not remove a worktree',
        );
        return false;
      });
      if (done) removed += 1;
    }
    return removed;
  }

  private async evict(record: WorktreeRecord): Promise<boolean> {
    // Re-check under the lock: an acquire may have just picked it up again.
    const used = this.lastUsed.get(recordId(record)) ?? 0;
    if ((this.running.get(recordId(record)) ?? 0) > 0 || used > record.lastUsedAt) return false;
    await this.withLock(`sandbox:${recordId(record)}`, () => this.removeThreadFiles(record));
    await this.records.remove(record.repo, record.key);
    this.lastUsed.delete(recordId(record));
    this.options.log?.info({ repo: record.repo, threadKey: record.threadKey }, 'worktree pruned');
    return true;
  }

  private pruneInBackground(): void {
    this.prune().catch((error: unknown) =>
      this.options.log?.warn({ error: describeError(error) }, 'opportunistic worktree prune failed'),
    );
  }

  /** Runs `work` after every earlier holder of `key` is done. */
  private async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }
  }
}

function recordId(record: Pick<WorktreeRecord, 'repo' | 'key'>): string {
  return `${record.repo}/${record.key}`;
}

/** A recorded thread is usable when its three directories are there; their content is not trusted. */
function isLiveThread(record: WorktreeRecord): boolean {
  return existsSync(record.path) && existsSync(record.gitDir) && existsSync(join(record.hostRepo, 'HEAD'));
}

/** The thread's host-owned bare repository: objects borrowed from the mirror, the branch at its base. */
async function createHostRepo(record: WorktreeRecord, mirror: string): Promise<void> {
  await mkdir(dirname(record.hostRepo), { recursive: true });
  await runHostGit(['init', '--quiet', '--bare', '--template=', record.hostRepo]);
  await mkdir(join(record.hostRepo, 'objects', 'info'), { recursive: true });
  await writeFile(join(record.hostRepo, 'objects', 'info', 'alternates'), `${join(mirror, 'objects')}\n`);
  await runHostGit(['--git-dir', record.hostRepo, 'update-ref', `refs/heads/${record.branch}`, record.head]);
}

/**
 * Lays out a fresh checkout and the sandbox's own git dir at the recorded head. The host
 * writes both while they are new and empty; from then on only the sandbox does, and the host
 * never runs git in them again (a rebuild deletes them first).
 */
async function buildCheckout(record: WorktreeRecord, mirror: string): Promise<void> {
  await mkdir(dirname(record.path), { recursive: true });
  await mkdir(dirname(record.gitDir), { recursive: true });
  await runHostGit(['init', '--quiet', '--template=', `--separate-git-dir=${record.gitDir}`, record.path]);
  await mkdir(join(record.gitDir, 'objects', 'info'), { recursive: true });
  await writeFile(
    join(record.gitDir, 'objects', 'info', 'alternates'),
    `${threadObjectStores({ mirror, hostRepo: record.hostRepo }).join('\n')}\n`,
  );
  const git = ['--git-dir', record.gitDir, '--work-tree', record.path];
  await runHostGit([...git, 'symbolic-ref', 'HEAD', `refs/heads/${record.branch}`]);
  await runHostGit([...git, 'update-ref', `refs/heads/${record.branch}`, record.head]);
  // checkout.workers=0: parallel checkout, one worker per core.
  await runHostGit(['-c', 'checkout.workers=0', ...git, 'read-tree', '--reset', '-u', record.head]);
}
