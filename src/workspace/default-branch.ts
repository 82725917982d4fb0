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
