import { runHostGit } from '../workspace/host-git.js';

export interface LandedCommit {
  sha: string;
  author: string;
  committedAt: number;
  subject: string;
}

export interface RepoCommits {
  repo: string;
  branch: string;
  commits: LandedCommit[];
}

/** Subjects that say little in a digest: merges, dependency bumps, chores, fixups. */
const routineSubject =
  /^(merge (branch|pull request|remote-tracking)|bump |fixup!|squash!|(chore|ci|style|build)(\([^)]*\))?!?:)/i;

const maxCommits = 5_000;

/**
 * Commits on the default branch of a bare mirror whose committer date falls in
 * [from, to): what landed in the period (squash and rebase merges carry the landing time).
 * git runs on the host with an argument array and a clean environment.
 */
export async function commitsBetween(
  gitDir: string,
  branchCandidates: string[],
  from: number,
  to: number,
): Promise<{ branch: string; commits: LandedCommit[] } | undefined> {
  const resolved = await resolveBranch(gitDir, branchCandidates);
  if (!resolved) return undefined;
  const output = await runHostGit(
    [
      '--git-dir',
      gitDir,
      'log',
      '--no-merges',
      `--max-count=${maxCommits}`,
      `--since=${new Date(from).toISOString()}`,
      `--until=${new Date(to).toISOString()}`,
      '--format=%H%x1f%an%x1f%ct%x1f%s%x1e',
      resolved.ref,
      '--',
    ],
    { timeoutMs: 60_000 },
  );
  const commits = output
    .split('\x1e')
    .map((record) => record.trim())
    .filter(Boolean)
    .map((record): LandedCommit => {
      const [sha = '', author = '', seconds = '0', subject = ''] = record.split('\x1f');
      return { sha, author, committedAt: Number(seconds) * 1000, subject };
    })
    .filter((commit) => commit.committedAt >= from && commit.committedAt < to);
  return { branch: resolved.branch, commits };
}

/** Authors by number of commits, most first. */
export function authorsOf(commits: LandedCommit[]): Array<{ name: string; count: number }> {
  const counts = new Map<string, number>();
  for (const commit of commits) counts.set(commit.author, (counts.get(commit.author) ?? 0) + 1);
  return [...counts.entries()]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

/** Subjects worth reading, newest first, without routine ones and duplicates. */
export function notableSubjects(commits: LandedCommit[]): string[] {
  const seen = new Set<string>();
  const subjects: string[] = [];
  for (const commit of commits) {
    const subject = commit.subject.trim();
    if (!subject || routineSubject.test(subject) || seen.has(subject)) continue;
    seen.add(subject);
    subjects.push(subject);
  }
  return subjects;
}

/** The first candidate branch the mirror has (mirrors keep branches under refs/remotes/origin/). */
async function resolveBranch(
  gitDir: string,
  candidates: string[],
): Promise<{ branch: string; ref: string } | undefined> {
  for (const branch of candidates) {
    for (const ref of [`refs/remotes/origin/${branch}`, `refs/heads/${branch}`]) {
      const found = await runHostGit([
        '--git-dir',
        gitDir,
        'rev-parse',
        '--verify',
        '--quiet',
        `${ref}^{commit}`,
      ])
        .then(() => true)
        .catch(() => false); // Not this ref: try the next candidate.
      if (found) return { branch, ref };
    }
  }
  return undefined;
}
