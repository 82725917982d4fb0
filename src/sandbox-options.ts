import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { effectiveDomains } from './permissions/permissions-command.js';
import type { SandboxRunner } from './workspace/sandbox-runner.js';

/**
 * The sandbox as the config asks for it, for the app and the doctor alike (so the doctor
 * checks the sandbox the app runs): what commands may never read, the domains they may reach.
 */
export function sandboxOptionsFor(
  config: Readonly<Config>,
  log: Logger,
): Parameters<typeof SandboxRunner.create>[0] {
  return {
    mode: config.sandbox,
    tempRoot: join(config.dataDir, 'tmp'),
    denyRead: [
      config.dataDir,
      ...(config.configFile ? [config.configFile] : []),
      homedir(),
      '/root',
      '/home',
    ],
    allowedDomains: effectiveDomains(config),
    ...(config.limits.maxWorktreeBytes
      ? { limits: { maxWorktreeBytes: config.limits.maxWorktreeBytes } }
      : {}),
    log,
  };
}
