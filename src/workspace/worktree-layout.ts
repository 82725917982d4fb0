import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runHostGit } from './host-git.js';
import { threadObjectStores } from './sandbox-workspace.js';
import type { WorktreeRecord } from './worktree-records.js';

/** Where a thread lives under `dataDir` (the paths follow from the repo and the thread key). */
export function threadRecord(
  dataDir: string,
  thread: Pick<WorktreeRecord, 'repo' | 'threadKey' | 'key' | 'lastUsedAt'>,
  at: Pick<WorktreeRecord, 'branch' | 'baseCommit' | 'head'>,
): WorktreeRecord {
  const { repo, key } = thread;
  return {
    ...thread,
    path: join(dataDir, 'worktrees', repo, key),
    gitDir: join(dataDir, 'worktree-git', repo, key),
    hostRepo: join(dataDir, 'thread-repos', repo, `${key}.git`),
    branch: at.branch,
    baseCommit: at.baseCommit,
    head: at.head,
  };
}

type Layout = Pick<WorktreeRecord, 'path' | 'gitDir' | 'hostRepo' | 'branch' | 'head'>;

/** The thread's host-owned bare repository: objects borrowed from the mirror, the branch at its head. */
export async function createHostRepo(record: Layout, mirror: string): Promise<void> {
  await initHostRepo(record, mirror);
  await setThreadBranch(record);
}

/** An empty thread repository borrowing the mirror's objects (no branch yet). */
export async function initHostRepo(record: Pick<WorktreeRecord, 'hostRepo'>, mirror: string): Promise<void> {
  await mkdir(dirname(record.hostRepo), { recursive: true });
  await runHostGit(['init', '--quiet', '--bare', '--template=', record.hostRepo]);
  await mkdir(join(record.hostRepo, 'objects', 'info'), { recursive: true });
  await writeFile(join(record.hostRepo, 'objects', 'info', 'alternates'), `${join(mirror, 'objects')}\n`);
}

export async function setThreadBranch(record: Pick<WorktreeRecord, 'hostRepo' | 'branch' | 'head'>) {
  await runHostGit(['--git-dir', record.hostRepo, 'update-ref', `refs/heads/${record.branch}`, record.head]);
}

/**
 * Lays out a fresh checkout and the sandbox's own git dir at the recorded head. The host
 * writes both while they are new and empty; from then on only the sandbox does, and the host
 * never runs git in them again (a rebuild deletes them first).
 */
export async function buildCheckout(record: Layout, mirror: string): Promise<void> {
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
