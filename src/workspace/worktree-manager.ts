import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { runHostGit } from './host-git.js';
import { assertRepoName, RepoMirrors } from './repo-mirror.js';
import type { SandboxRunner } from './sandbox-runner.js';
import { type ExportedChange, SandboxRuntimeWorkspace } from './sandbox-workspace.js';
import { type Acquired, ThreadContinuity } from './thread-continuity.js';
import type { RestoreOutcome, ThreadStateStore } from './thread-state.js';
import type { RepoSpec, Workspace } from './types.js';
import { buildCheckout, createHostRepo, threadRecord } from './worktree-layout.js';
import { safeThreadKey, threadBranchName, type WorktreeRecord, WorktreeRecords } from './worktree-records.js';

export interface WorkspaceManagerOptions {
  dataDir: string;
  sandbox: SandboxRunner;
  fetchIntervalMs?: number;
  idleTtlMs?: number;
  maxWorktrees?: number;
  clock?: () => number;
  log?: Logger;
  /** Where each thread's durable state lives, so any process can continue any thread (#14). */
  state?: ThreadStateStore;
  /** This process, as the saved state's holder. */
  processId?: string;
  /** Largest working change a checkpoint keeps (as a binary patch); past it none is kept. */
  checkpointPatchBytes?: number;
}

/** 20 MiB: a working change past this is no change a person reviews; the log says it was dropped. */
const defaultCheckpointPatchBytes = 20 * 1024 ** 2;

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
  private readonly continuity: ThreadContinuity | undefined;
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
    this.continuity = options.state
      ? new ThreadContinuity({
          ...options,
          store: options.state,
          mirrors: this.mirrors,
          records: this.records,
          removeThreadFiles: (record) => this.removeThreadFiles(record),
          rebuildNow: (record) => this.rebuildNowFor(record),
        })
      : undefined;
  }

  async acquire(repo: RepoSpec, threadKey: string, options: AcquireOptions = {}): Promise<Workspace> {
    assertRepoName(repo.name);
    const key = safeThreadKey(threadKey);
    const workspace = await this.withLock(`${repo.name}/${key}`, async () => {
      const mirror = await this.mirrors.ensureFresh(repo);
      // The stamp first: the whole state (patch, bundle) is read only when a rebuild needs it.
      const stamp = await this.options.state?.stamp(repo.name, threadKey);
      const usable = (record: WorktreeRecord | undefined): record is WorktreeRecord =>
        record !== undefined && isLiveThread(record) && !this.continuity?.movedOnElsewhere(record, stamp);
      const existing = await this.records.read(repo.name, key);
      // Locks are always taken in this order (thread, then its sandbox), so a rebuild waiting
      // for nothing but the sandbox lock never waits on an acquire that waits on it.
      const { record, restored } = usable(existing)
        ? { record: existing, restored: 'ok' as const }
        : await this.withLock(`sandbox:${repo.name}/${key}`, async (): Promise<Acquired> => {
            // A rebuild may have had the trees out of place a moment ago: look again.
            const again = await this.records.read(repo.name, key);
            if (usable(again)) return { record: again, restored: 'ok' };
            const saved = stamp ? await this.options.state?.load(repo.name, threadKey) : undefined;
            if (saved && this.continuity) {
              const record = {
                ...threadRecord(
                  this.options.dataDir,
                  { repo: repo.name, threadKey, key, lastUsedAt: this.clock() },
                  saved,
                ),
                syncedAt: saved.updatedAt,
              };
              const fresh = () => this.create(repo, mirror, threadKey, key, record, options);
              return this.continuity.restore({ repo, record, stale: again, saved, fresh });
            }
            return {
              record: await this.create(repo, mirror, threadKey, key, again, options),
              restored: 'fresh',
            };
          });
      record.lastUsedAt = this.clock();
      await this.records.write(record);
      this.lastUsed.set(recordId(record), record.lastUsedAt);
      return this.workspaceFor(record, restored);
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
    const baseCommit = await this.mirrors.defaultHead(repo);
    const branch = threadBranchName(threadKey, options.branchPrefix ?? 'shipmate/', options.slug);
    await this.checkBranchName(branch);
    const record = threadRecord(
      this.options.dataDir,
      { repo: repo.name, threadKey, key, lastUsedAt: this.clock() },
      { branch, baseCommit, head: baseCommit },
    );
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
    if (record) await this.rebuildNowFor(record);
  }

  private async rebuildNowFor(record: WorktreeRecord): Promise<void> {
    await rm(record.path, { recursive: true, force: true });
    await rm(record.gitDir, { recursive: true, force: true });
    await buildCheckout(record, this.mirrors.mirrorPath(record.repo));
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

  private workspaceFor(record: WorktreeRecord, restored: RestoreOutcome): Workspace {
    const id = recordId(record);
    const mirror = this.mirrors.mirrorPath(record.repo);
    let head = record.head;
    const continuity = this.continuity;
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
      restored,
      ...(continuity
        ? {
            saveState: {
              patchBytes: this.options.checkpointPatchBytes ?? defaultCheckpointPatchBytes,
              save: (at: string, change: ExportedChange) => continuity.save(record, at, change),
            },
          }
        : {}),
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
