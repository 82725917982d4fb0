import type { RepoConfig } from '../config.js';
import { sandboxEnvFor } from '../workspace/command-env.js';
import type { Workspace } from '../workspace/types.js';

export interface CheckResult {
  command: string;
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  /** The last part of stdout + stderr, for the summary when the check failed. */
  tail: string;
}

const tailChars = 1_500;

/**
 * The repo's checks, one after the other, in the sandbox (workspace.run), with install
 * scripts off unless the repo allows them. A check that did not run is never reported as passed.
 */
export async function runChecks(
  repo: Pick<RepoConfig, 'checks' | 'allowLifecycleScripts'>,
  workspace: Pick<Workspace, 'run'>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CheckResult[]> {
  const env = sandboxEnvFor(repo);
  const results: CheckResult[] = [];
  for (const command of repo.checks) {
    const result = await workspace.run(command, { timeoutMs, env, ...(signal ? { signal } : {}) });
    const notes = [result.limitNote, result.sandboxViolation].filter(Boolean).join('\n');
    const output = [result.stdout, result.stderr, notes].join('\n').trim();
    results.push({
      command,
      ok: result.exitCode === 0 && !result.timedOut && !result.cancelled,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      tail: output.slice(-tailChars),
    });
  }
  return results;
}
