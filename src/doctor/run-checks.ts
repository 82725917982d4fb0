import type { Config } from '../config.js';
import type { checkGitHubAccess } from '../forge/forge-doctor.js';
import type { Database } from '../storage/database.js';
import { checkDatabase } from './database-check.js';
import { checkForges } from './forge-check.js';
import { checkGit, type RunGit } from './git-check.js';
import { checkModel, type ModelCheckDeps } from './model-check.js';
import { checkSandbox, type SandboxReport } from './sandbox-check.js';
import { checkSlack, type SlackScopeProbe } from './slack-check.js';
import type { CheckResult } from './types.js';

/** Stand-ins and shared pieces; every one is optional except Slack's, which only src/slack/ can give. */
export interface DoctorDeps extends ModelCheckDeps {
  /** `auth.test` and the scopes (src/slack/slack-doctor.ts `checkSlackScopes`); without it Slack is not checked. */
  slackScopes?: SlackScopeProbe;
  /** The running app's sandbox (`{ status: sandbox.status(), weak }`), so start-up does not start a second one. */
  sandbox?: () => Promise<SandboxReport>;
  runGit?: RunGit;
  checkGitHub?: typeof checkGitHubAccess;
  /** The running app's database, so start-up checks do not open a second one. */
  database?: Database;
}

/**
 * Every check, in a fixed order: config, model, sandbox, git and each repository, Slack (when
 * a bot token is set), GitHub (when a repository has `github:`). They run concurrently and
 * never throw; a check that broke says so as a failure.
 */
export async function runChecks(config: Readonly<Config>, deps: DoctorDeps = {}): Promise<CheckResult[]> {
  const guard = <T>(name: string, check: () => Promise<T>, wrap: (result: T) => CheckResult[]) =>
    check().then(wrap, (error: unknown): CheckResult[] => [
      {
        name,
        status: 'fail',
        detail: `the check itself failed: ${error instanceof Error ? error.message : String(error)}`,
      },
    ]);
  const groups = await Promise.all([
    Promise.resolve([describeConfig(config)]),
    guard(
      'database',
      () => checkDatabase(config, deps.database),
      (result) => [result],
    ),
    guard(
      'model',
      () => checkModel(config, deps),
      (result) => [result],
    ),
    guard(
      'sandbox',
      () => checkSandbox(config, deps),
      (result) => [result],
    ),
    guard(
      'git',
      () => checkGit(config, deps),
      (results) => results,
    ),
    guard(
      'slack',
      () => checkSlack(config, deps),
      (result) => (result ? [result] : []),
    ),
    guard(
      'github',
      () => checkForges(config, deps),
      (results) => results,
    ),
  ]);
  return groups.flat();
}

function describeConfig(config: Readonly<Config>): CheckResult {
  const source = config.configFile ? config.configFile : 'environment only (no SHIPMATE_CONFIG)';
  const repos = `${config.repos.length} ${config.repos.length === 1 ? 'repository' : 'repositories'}`;
  const slack =
    config.slack.mode === 'playground'
      ? 'Slack: playground (no SLACK_BOT_TOKEN)'
      : `Slack: ${config.slack.mode} mode`;
  return { name: 'config', status: 'ok', detail: `${source}; ${repos}; ${slack}; data in ${config.dataDir}` };
}
