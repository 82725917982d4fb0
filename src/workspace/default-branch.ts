import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The branch a remote's HEAD points at (`git ls-remote --symref <url> HEAD`), for repos
 * configured without `defaultBranch`. Falls back to "main" when the remote does not say.
 */
export async function detectDefaultBranch(url: string): Promise<string> {
  try {
    const { stdout } = await run('git', ['ls-remote', '--symref', url, 'HEAD'], {
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_TERMINAL_PROMPT: '0',
        HOME: process.env.HOME ?? '/tmp',
      },
    });
    const match = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(stdout);
    return match?.[1] ?? 'main';
  } catch {
    // Unreachable or not a repository: cloning will fail next with a message that names the repo.
    return 'main';
  }
}
