import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkspaceError } from '../errors.js';
import { runHostGit, runHostGitRaw } from './host-git.js';

/**
 * The commits shipmate made on a thread, carried between processes as a git bundle. Both
 * ends run host git on the thread's host-owned bare repository only: the bundle is made
 * there from commits the host itself wrote, and read back into a new one.
 */

/** A bundle of the branch's commits since `baseCommit` (base64), or null when there are none. */
export async function bundleThreadCommits(input: {
  hostRepo: string;
  branch: string;
  baseCommit: string;
  head: string;
}): Promise<string | null> {
  if (input.head === input.baseCommit) return null;
  const git = (args: string[]) => runHostGit(['--git-dir', input.hostRepo, ...args]);
  const branchHead = (await git(['rev-parse', '--verify', `refs/heads/${input.branch}^{commit}`])).trim();
  if (branchHead !== input.head) {
    throw new WorkspaceError('branch-moved', 'the thread branch is not at the recorded head', {
      fields: { branchHead, head: input.head },
    });
  }
  const bundle = await runHostGitRaw([
    '--git-dir',
    input.hostRepo,
    'bundle',
    'create',
    '--quiet',
    '-',
    `refs/heads/${input.branch}`,
    `^${input.baseCommit}`,
  ]);
  return bundle.toString('base64');
}

/**
 * Reads a bundle into `hostRepo` (objects only; no ref is taken from it) and checks that
 * `head` is now a commit there that descends from `baseCommit`. Throws when it is not.
 */
export async function importThreadCommits(input: {
  hostRepo: string;
  bundle: string | null;
  baseCommit: string;
  head: string;
  tmpRoot: string;
}): Promise<void> {
  const git = (args: string[]) => runHostGit(['--git-dir', input.hostRepo, ...args]);
  await requireCommit(input.hostRepo, input.baseCommit, 'base');
  if (input.bundle) {
    await mkdir(input.tmpRoot, { recursive: true, mode: 0o700 });
    const tmp = await mkdtemp(join(input.tmpRoot, 'bundle-'));
    try {
      const file = join(tmp, 'commits.bundle');
      await writeFile(file, Buffer.from(input.bundle, 'base64'), { mode: 0o600 });
      // The bundle was made by host git from commits the host itself wrote (each checked when it
      // was imported), and it comes from the database, not the sandbox. `bundle unbundle` does
      // not run fsck whatever transfer.fsckObjects says (git 2.39); the checkout built from it
      // afterwards refuses .git paths on its own (read-tree). The setting stays for newer gits.
      await runHostGit([
        '-c',
        'transfer.fsckObjects=true',
        '--git-dir',
        input.hostRepo,
        'bundle',
        'unbundle',
        file,
      ]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  await requireCommit(input.hostRepo, input.head, 'head');
  await git(['merge-base', '--is-ancestor', input.baseCommit, input.head]).catch((error: unknown) => {
    throw new WorkspaceError('thread-state-unusable', 'the saved head does not descend from its base', {
      cause: error,
    });
  });
}

async function requireCommit(hostRepo: string, sha: string, role: string): Promise<void> {
  await runHostGit(['--git-dir', hostRepo, 'cat-file', '-e', `${sha}^{commit}`]).catch((error: unknown) => {
    throw new WorkspaceError('thread-state-unusable', `the saved ${role} commit ${sha} is not there`, {
      cause: error,
    });
  });
}
