import { runHostGit } from './host-git.js';

/**
 * The branch a remote's HEAD points at (`git ls-remote --symref <url> HEAD`), for repos
 * configured without `defaultBranch`. Falls back to "main" when the remote does not say.
 * Runs like a mirror fetch: the hardened host git with the operator's own git config.
 */
export async function detectDefaultBranch(url: string): Promise<string> {
  try {
    const stdout = await runHostGit(['ls-remote', '--symref', '--', url, 'HEAD'], {
      profile: 'network',
      timeoutMs: 30_000,
    });
    const match = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(stdout);
    return match?.[1] ?? 'main';
  } catch {
    // Unreachable or not a repository: cloning will fail next with a message that names the repo.
    return 'main';
  }
}

/**
 * A repo's default branch: the configured one, else the remote's HEAD asked once per
 * process (a `git ls-remote` per job would cost a network round trip each time).
 */
export function defaultBranchResolver(
  detect: (url: string) => Promise<string> = detectDefaultBranch,
): (repo: { name: string; url: string; defaultBranch?: string | undefined }) => Promise<string> {
  const known = new Map<string, Promise<string>>();
  return (repo) => {
    if (repo.defaultBranch) return Promise.resolve(repo.defaultBranch);
    const branch = known.get(repo.name) ?? detect(repo.url);
    known.set(repo.name, branch);
    return branch;
  };
}
