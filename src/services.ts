import { join } from 'node:path';
import { resolveProfile } from './agent/model/profile.js';
import { ModelClient } from './agent/model-client.js';
import type { Config, RepoConfig } from './config.js';
import { JobQueue } from './jobs/job-queue.js';
import { ThreadStore } from './jobs/thread-store.js';
import type { WorkspaceProvider } from './jobs/tools.js';
import { newProcessId, WorkerPool } from './jobs/worker-pool.js';
import type { Logger } from './log.js';
import { sandboxOptionsFor } from './sandbox-options.js';
import type { Scrubber } from './scrub-secrets.js';
import { patternReach, scrubReach, secretNeedles } from './scrub-secrets.js';
import { startPlayground } from './slack/playground/playground.js';
import { createSlackEdge } from './slack/slack-app.js';
import { SlackThreadFiles } from './slack/slack-files.js';
import { createSlackNotifier } from './slack/slack-notifier.js';
import { SlackThreadHistory } from './slack/slack-thread-history.js';
import { openDatabase } from './storage/database.js';
import { ProcessRegistry } from './storage/process-registry.js';
import { SqlRateBudget } from './storage/rate-budget-store.js';
import { SqlThreadWorkspaceStore } from './storage/thread-workspace-store.js';
import { defaultBranchResolver } from './workspace/default-branch.js';
import { SandboxRunner } from './workspace/sandbox-runner.js';
import { WorkspaceManager } from './workspace/worktree-manager.js';

/**
 * Part one of the composition root: the services every room shares (database, queue,
 * Slack edge, sandbox, worktrees, model), each built once from the config.
 */
export async function buildServices(config: Readonly<Config>, log: Logger, scrub: Scrubber) {
  const db = await openDatabase(config.database.url ?? join(config.dataDir, 'shipmate.db'), { log });
  const shared = db.dialect === 'postgres';
  const processId = newProcessId();
  const registry = new ProcessRegistry(db, processId);
  const queue = new JobQueue(db);
  const threads = new ThreadStore(db);
  const playground =
    config.slack.mode === 'playground'
      ? await startPlayground({ channels: playgroundChannels(config), log, allowedHosts: [config.host] })
      : undefined;
  const edge = createSlackEdge({
    mode: config.slack.mode === 'socket' ? 'socket' : 'http',
    botToken: playground?.botToken ?? config.slack.botToken,
    signingSecret: playground?.signingSecret ?? config.slack.signingSecret,
    appToken: config.slack.appToken,
    apiUrl: playground?.apiUrl ?? config.slack.apiUrl,
    log,
  });
  const notifier = createSlackNotifier(edge, scrub, log, {
    // Slack counts per app and workspace: processes sharing a database share the budget.
    ...(shared ? { budget: new SqlRateBudget(db) } : {}),
    window: {
      holdBack: patternReach,
      needles: secretNeedles(config.secrets),
      escapeReach: scrubReach(config.secrets),
    },
  });
  const pool = new WorkerPool({
    queue,
    notifier,
    concurrency: config.concurrency,
    log,
    owner: processId,
    leaseMs: config.database.leaseSeconds * 1000,
  });

  const sandbox = await SandboxRunner.create(sandboxOptionsFor(config, log));
  if (config.sandbox === 'off')
    log.warn('SHIPMATE_SANDBOX=off: commands run WITHOUT a sandbox. Development only.');
  const worktrees = new WorkspaceManager({
    dataDir: config.dataDir,
    sandbox,
    idleTtlMs: config.limits.worktreeIdleHours * 3600_000,
    log,
    // With several processes a worktree is a cache: the thread's branch, commits and working
    // change live in the database, so any process can continue the thread.
    ...(shared ? { state: new SqlThreadWorkspaceStore(db), processId } : {}),
  });
  const workspaces: WorkspaceProvider = {
    acquire: (repo, threadKey, slug) =>
      worktrees.acquire(repo, threadKey, {
        branchPrefix: config.git.branchPrefix,
        ...(slug ? { slug } : {}),
      }),
  };
  const resolveDefaultBranch = defaultBranchResolver();
  /** A configured repo by name, with its default branch resolved. */
  const repoNamed = async (name: string) => {
    const repo = config.repos.find((candidate) => candidate.name === name);
    return repo ? withDefaultBranch(repo) : undefined;
  };
  const withDefaultBranch = async (repo: RepoConfig) => ({
    ...repo,
    defaultBranch: await resolveDefaultBranch(repo),
  });
  const idleTimeoutMs = config.limits.modelIdleSeconds * 1000;
  const model = config.model.configured
    ? new ModelClient({
        apiKey: config.model.apiKey,
        baseUrl: config.model.baseUrl,
        profile: resolveProfile(config.model.name, config.model.settings[config.model.name]),
        idleTimeoutMs,
      })
    : undefined;
  const review = config.model.review;
  /** The reviewer of changes: another model (and server) when `review:` says so, else the same. */
  const reviewer = review
    ? new ModelClient({
        apiKey: review.apiKey,
        baseUrl: review.baseUrl,
        profile: resolveProfile(review.name, config.model.settings[review.name]),
        idleTimeoutMs,
      })
    : model;
  return {
    config,
    log,
    scrub,
    db,
    processId,
    registry,
    queue,
    pool,
    threads,
    playground,
    edge,
    notifier,
    sandbox,
    worktrees,
    workspaces,
    history: new SlackThreadHistory(edge.client, edge.botUserId, log),
    /** Files shared in threads: downloaded with the bot token from Slack's file host only. */
    threadFiles: new SlackThreadFiles({
      client: edge.client,
      botToken: playground?.botToken ?? config.slack.botToken,
      apiUrl: playground?.apiUrl ?? config.slack.apiUrl,
      log,
    }),
    model,
    reviewer,
    resolveDefaultBranch,
    repoNamed,
    withDefaultBranch,
  };
}

export type Services = Awaited<ReturnType<typeof buildServices>>;

/** The playground's channels: the config's mapped channels, or one #general. */
function playgroundChannels(config: Readonly<Config>): Array<{ id: string; name: string }> {
  const mapped = config.repos.flatMap((repo) => repo.channels.map((id) => ({ id, name: repo.name })));
  const unique = [...new Map(mapped.map((channel) => [channel.id, channel])).values()];
  return unique.length > 0 ? unique : [{ id: 'C0GENERAL', name: 'general' }];
}
