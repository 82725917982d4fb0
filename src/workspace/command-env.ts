import type { RepoConfig } from '../config.js';

/**
 * Env for every sandboxed command of a repo (checks, and the agent's shell tool): npm, yarn
 * and pnpm install without running packages' lifecycle scripts unless the repo allows them.
 */
export function sandboxEnvFor(repo: Pick<RepoConfig, 'allowLifecycleScripts'>): Record<string, string> {
  if (repo.allowLifecycleScripts) return {};
  // npm and pnpm read npm_config_*; yarn 1 reads YARN_IGNORE_SCRIPTS, yarn 2+ YARN_ENABLE_SCRIPTS.
  return { npm_config_ignore_scripts: 'true', YARN_IGNORE_SCRIPTS: 'true', YARN_ENABLE_SCRIPTS: 'false' };
}
