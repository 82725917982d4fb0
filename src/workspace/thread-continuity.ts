import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, WorkspaceError } from '../errors.js';
import type { Logger } from '../log.js';
import { measureDiskUsage } from './disk-usage.js';
import { hasObject, runHostGit } from './host-git.js';
import type { RepoMirrors } from './repo-mirror.js';
import type { SandboxRunner } from './sandbox-runner.js';
import { type ExportedChange, type ThreadPaths, threadObjectStores } from './sandbox-workspace.js';
import { bundleThreadCommits, importThreadCommits } from './thread-bundle.js';
import {
  omittedPatch,
  patchOmission,
  type RestoreOutcome,
  type StoredThreadState,
  type ThreadStamp,
  type ThreadStateStore,
  threadStateSchema,
} from './thread-state.js';
import type { RepoSpec } from './types.js';
import { buildCheckout, initHostRepo, setThreadBranch } from './worktree-layout.js';
import type { WorktreeRecord, WorktreeRecords } from './worktree-records.js';

/**
 * A thread outliving the process that made its worktree (#14): a checkpoint saves its state;
 * a process that has never seen it rebuilds it from there. Host git touches only what the
 * host writes: the new thread repository (the bundle came from another process's host git)
 * and the new, empty checkout. The uncommitted change was written by a sandbox, so it is
 * applied inside this thread's sandbox and nowhere else.
 */

export interface Acquired {
  record: WorktreeRecord;
  restored: RestoreOutcome;
}

/** What the manager lends: its stores and the tree operations (the caller holds the locks). */
export interface ContinuityHost {
  dataDir: string;
  sandbox: SandboxRunner;
  mirrors: RepoMirrors;
  records: WorktreeRecords;
  store: ThreadStateStore;
  processId?: string;
  log?: Logger;
  removeThreadFiles(record: WorktreeRecord): Promise<void>;
  rebuildNow(record: WorktreeRecord): Promise<void>;
}

export class ThreadContinuity {
  constructor(private readonly host: ContinuityHost) {}

  /** A saved state newer than what this worktree last matched: the thread moved on elsewhere. */
  movedOnElsewhere(record: WorktreeRecord, saved: ThreadStamp | undefined): boolean {
    if (!saved) return false;
    if (record.syncedAt === undefined) return saved.holder !== (this.host.processId ?? null);
    return saved.updatedAt > record.syncedAt;
  }

  /**
   * Rebuilds the thread at `record` (its paths, the saved branch, base and head) with the
   * thread's sandbox lock held. Never throws for a state that cannot be used: the thread then
   * starts afresh (or, when only the uncommitted change fails, stays at its saved head), the
   * outcome says 'failed', the log says why and a copy is kept for an operator.
   */
  async restore(input: {
    repo: RepoSpec;
    record: WorktreeRecord;
    stale: WorktreeRecord | undefined;
    saved: StoredThreadState;
    fresh: () => Promise<WorktreeRecord>;
  }): Promise<Acquired> {
    const { repo, record, saved } = input;
    const tmpRoot = join(this.host.dataDir, 'host-tmp');
    try {
      checkSavedState(saved);
      if (input.stale) await this.host.removeThreadFiles(input.stale);
      await this.host.removeThreadFiles(record);
      await layOutSavedThread({ record, repo, mirrors: this.host.mirrors, saved, tmpRoot });
    } catch (error) {
      await this.restoreFailed(saved, record.key, 'the saved commits could not be restored', error);
      // Seen: this process must not try the same state again at the next follow-up.
      return { record: { ...(await input.fresh()), syncedAt: saved.updatedAt }, restored: 'failed' };
    }
    const omitted = patchOmission(saved.patch);
    if (omitted !== undefined) {
      await this.restoreFailed(saved, record.key, `the uncommitted change was not saved (${omitted})`);
      return { record, restored: 'failed' };
    }
    try {
      const mirror = this.host.mirrors.mirrorPath(repo.name);
      if (saved.patch !== '') {
        await restoreWorkingChange({ record, mirror, sandbox: this.host.sandbox, patch: saved.patch });
      }
    } catch (error) {
      await this.restoreFailed(saved, record.key, 'the uncommitted change did not apply', error);
      await this.host.rebuildNow(record);
      return { record, restored: 'failed' };
    }
    const { threadKey, branch, head } = record;
    this.host.log?.info(
      { repo: repo.name, threadKey, branch, head },
      'worktree restored from the saved state',
    );
    return { record, restored: 'ok' };
  }

  /** Saves what a checkpoint exported, with the commits bundled from the host repository. */
  async save(record: WorktreeRecord, head: string, change: ExportedChange): Promise<void> {
    const { repo, threadKey, branch, baseCommit, hostRepo } = record;
    if ('omitted' in change) {
      this.host.log?.warn(
        { event: 'thread-workspace-patch-omitted', repo, threadKey, reason: change.omitted },
        'checkpoint saved without the uncommitted change: another process cannot restore it',
      );
    }
    const commits = await bundleThreadCommits({ hostRepo, branch, baseCommit, head });
    const patch = 'patch' in change ? change.patch.toString('base64') : omittedPatch(change.omitted);
    const holder = this.host.processId ?? null;
    const updatedAt = await this.host.store.save({
      repo,
      threadKey,
      branch,
      baseCommit,
      head,
      commits,
      patch,
      holder,
    });
    const current = (await this.host.records.read(repo, record.key)) ?? record;
    await this.host.records.write({ ...current, syncedAt: updatedAt });
  }

  private async restoreFailed(saved: StoredThreadState, key: string, reason: string, error?: unknown) {
    const kept = await keepUnrestoredState(this.host.dataDir, saved, key).catch(
      // The row is still in the database; the log line below is what the operator has.
      (failure: unknown) => `not kept: ${describeError(failure)}`,
    );
    this.host.log?.warn(
      {
        event: 'thread-workspace-restore-failed',
        repo: saved.repo,
        threadKey: saved.threadKey,
        holder: saved.holder,
        updatedAt: saved.updatedAt,
        kept,
        ...(error === undefined ? {} : { error: describeError(error) }),
      },
      `could not restore the thread's workspace: ${reason}`,
    );
  }
}

/** Checks the saved state's shape before any of it reaches git. Throws when it is unusable. */
function checkSavedState(saved: StoredThreadState): void {
  const parsed = threadStateSchema.safeParse(saved);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))].join(', ');
    throw new WorkspaceError('thread-state-unusable', `the saved state is malformed (${fields})`);
  }
}

/**
 * The thread repository with the saved commits and the branch at the saved head, and a clean
 * checkout there. The caller holds the thread's sandbox lock and has removed the old trees.
 */
async function layOutSavedThread(input: {
  record: WorktreeRecord;
  repo: RepoSpec;
  mirrors: RepoMirrors;
  saved: StoredThreadState;
  tmpRoot: string;
}): Promise<void> {
  const { record, saved } = input;
  const mirror = input.mirrors.mirrorPath(input.repo.name);
  await runHostGit(['check-ref-format', '--branch', record.branch]);
  // A base pushed since this process last fetched is not in its mirror yet.
  if (!(await hasObject(mirror, saved.baseCommit, 'commit'))) await input.mirrors.refresh(input.repo);
  await initHostRepo(record, mirror);
  await importThreadCommits({
    hostRepo: record.hostRepo,
    bundle: saved.commits,
    baseCommit: saved.baseCommit,
    head: saved.head,
    tmpRoot: input.tmpRoot,
  });
  await setThreadBranch(record);
  await buildCheckout(record, mirror);
}

/**
 * Applies the saved working change in the sandbox and checks the result against the
 * per-worktree disk cap (a small patch may inflate). Throws when it does not apply or is too big.
 */
async function restoreWorkingChange(input: {
  record: WorktreeRecord;
  mirror: string;
  sandbox: SandboxRunner;
  patch: string;
}): Promise<void> {
  const { record, sandbox } = input;
  const paths = { root: record.path, gitDir: record.gitDir, hostRepo: record.hostRepo, mirror: input.mirror };
  await applyWorkingChange(sandbox, paths, input.patch);
  const cap = sandbox.resourceLimits().maxWorktreeBytes;
  const disk = await measureDiskUsage([record.path, record.gitDir], cap);
  if (disk.over) {
    throw new WorkspaceError('thread-state-unusable', 'the restored change is over the worktree disk cap');
  }
}

/**
 * A note of a state that could not be restored, for an operator: which thread, which save,
 * from which process, how large. Only metadata, one file per thread (replaced): a hostile
 * change that never applies must not fill the disk with copies of itself. The row itself
 * stays in the database until the thread saves a new state. Host-only directory.
 */
async function keepUnrestoredState(dataDir: string, saved: StoredThreadState, key: string) {
  const dir = join(dataDir, 'unrestored-threads', saved.repo);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${key}.json`);
  const note = {
    repo: saved.repo,
    threadKey: saved.threadKey,
    branch: saved.branch,
    baseCommit: saved.baseCommit,
    head: saved.head,
    holder: saved.holder,
    updatedAt: saved.updatedAt,
    commitsBytes: saved.commits?.length ?? 0,
    patchBytes: saved.patch.length,
  };
  await writeFile(file, JSON.stringify(note), { mode: 0o600 });
  return file;
}

/**
 * Runs inside the sandbox: applies the saved working change (base64 on stdin) to the checkout
 * at the thread's head, the way the agent's own git would. No config but the fresh git dir's,
 * and git apply's own refusals (paths outside the tree, through a symlink, into `.git`) on
 * top of the sandbox's, so whatever the patch says stays inside the checkout.
 */
const applyScript = [
  'set -euo pipefail',
  'export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null',
  'base64 -d | git apply --binary --whitespace=nowarn -',
].join('\n');

/**
 * Applies a saved working change in the thread's checkout, inside the sandbox. The caller
 * holds the thread's sandbox lock. Throws with git's words when it does not apply.
 */
async function applyWorkingChange(
  sandbox: SandboxRunner,
  paths: Pick<ThreadPaths, 'root' | 'gitDir' | 'mirror' | 'hostRepo'>,
  patch: string,
): Promise<void> {
  const result = await sandbox.run(
    paths.root,
    applyScript,
    { stdin: patch, timeoutMs: 300_000 },
    { mounts: { gitDir: paths.gitDir, readOnly: threadObjectStores(paths) } },
  );
  if (result.exitCode === 0) return;
  const detail = [result.limitNote, result.stderr.trim().split('\n').slice(-3).join(' ')].filter(Boolean);
  throw new WorkspaceError('thread-state-unusable', `the saved change did not apply: ${detail.join(' ')}`);
}
