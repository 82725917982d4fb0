import { homedir } from 'node:os';
import { join } from 'node:path';
import { createAgentJob, modeSwitchAction, repoForThread } from './agent/agent-job.js';
import { ModelClient } from './agent/model-client.js';
import { type Config, loadConfig } from './config.js';
import { createDigestsRoom } from './digests/index.js';
import { ConfigError } from './errors.js';
import { createForgeRoom } from './forge/forge-room.js';
import { type ActionRoute, createActionHandler, createViewHandler } from './handlers/action-handler.js';
import { createBudgetCommand } from './handlers/budget-command.js';
import { createCommandJob } from './handlers/command-job.js';
import { createMessageHandler } from './handlers/message-handler.js';
import { createPermissionActions } from './handlers/permission-actions.js';
import { createPermissionsCommand, effectiveDomains } from './handlers/permissions-command.js';
import { routeTable } from './jobs/actions.js';
import { copyOf } from './jobs/job-kinds.js';
import { JobQueue } from './jobs/job-queue.js';
import type { JobHandlers } from './jobs/ports.js';
import { WorkerPool } from './jobs/worker-pool.js';
import { createLogger, type Logger } from './log.js';
import { createScriptsRoom } from './scripts/create-scripts-room.js';
import { createScrubber, type Scrubber } from './scrub-secrets.js';
import { startHttpServer } from './slack/http-server.js';
import { OutputQueue } from './slack/output-queue.js';
import { startPlayground } from './slack/playground/playground.js';
import { createSlackEdge } from './slack/slack-app.js';
import { SlackModalOpener } from './slack/slack-modals.js';
import { SlackNotifier } from './slack/slack-notifier.js';
import { SlackThreadHistory } from './slack/slack-thread-history.js';
import { ChangeStore } from './storage/change-store.js';
import { openDatabase } from './storage/database.js';
import { GrantStore } from './storage/grant-store.js';
import { ThreadStore } from './storage/thread-store.js';
import { UsageStore } from './storage/usage-store.js';
import { detectDefaultBranch } from './workspace/default-branch.js';
import { SandboxRunner } from './workspace/sandbox-runner.js';
import { WorkspaceManager } from './workspace/worktree-manager.js';

/** The composition root: every service is built once here and passed in. */
async function main(): Promise<void> {
  const config = readConfigOrExit();
  const scrub = createScrubber(config.secrets);
  const log = createLogger({ level: config.logLevel }, scrub);
  const core = await buildCore(config, log, scrub);
  const { db, queue, threads, playground, edge, notifier, sandbox } = core;
  const rooms = buildRooms(core);
  const { scripts, digests, handlers } = rooms;
  const pool = new WorkerPool({ queue, notifier, handlers, concurrency: config.concurrency, log });
  const actionRoutes = buildActionRoutes(core, rooms, pool);

  let ready = false;
  const { server, port } = await startHttpServer({
    host: config.host,
    port: config.port,
    log,
    health: () => ({
      ok: ready,
      mode: config.slack.mode,
      sandbox: sandbox.status(),
      ...(config.sandbox === 'off'
        ? { warning: 'SHIPMATE_SANDBOX=off: commands run without a sandbox' }
        : {}),
      model: config.model.configured ? config.model.name : 'not configured',
      jobs: queue.counts(),
    }),
    events: edge.eventsListener,
    prefixes: playground ? { '/playground': playground.route } : {},
  });
  playground?.attach(`http://127.0.0.1:${port}/slack/events`);
  log.info({ port, host: config.host, mode: config.slack.mode }, 'server-listening');

  try {
    await edge.start({
      onMessage: createMessageHandler({ queue, pool, threads, notifier, log, botUserId: edge.botUserId }),
      onAction: createActionHandler({ queue, pool, notifier, log, routes: actionRoutes }),
      onViewSubmission: createViewHandler({ routes: { ...scripts.viewRoutes }, log }),
    });
  } catch (error) {
    exitOnStartFailure(log, error, config);
  }
  await pool.start();
  digests.seedFromConfig();
  digests.scheduler.start();
  ready = true;
  log.info({ concurrency: config.concurrency, botUserId: edge.botUserId() }, 'shipmate-ready');
  if (playground) {
    const host = config.host === '127.0.0.1' || config.host === '0.0.0.0' ? 'localhost' : config.host;
    const url = `http://${host}:${port}/playground`;
    log.info({ url }, 'playground-ready');
    process.stdout.write(`shipmate playground: ${url}\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info({ signal }, 'shutdown-started');
    digests.scheduler.stop();
    await pool.drain(config.drainSeconds * 1000);
    await edge.stop().catch((error: unknown) => log.warn({ err: error }, 'slack-stop-failed'));
    server.close();
    await playground?.stop();
    await sandbox.close();
    db.close();
    log.info('shutdown-finished');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The database, Slack edge, sandbox, workspaces and model: built once, shared by every room. */
async function buildCore(config: Readonly<Config>, log: Logger, scrub: Scrubber) {
  const db = openDatabase(join(config.dataDir, 'shipmate.db'));
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
  const updates = new OutputQueue({
    send: async (channel, ts, payload) => {
      await edge.client.chat.update({ channel, ts, ...payload } as Parameters<
        typeof edge.client.chat.update
      >[0]);
    },
    log,
  });
  edge.watchRateLimits(updates);
  const notifier = new SlackNotifier(edge.client, updates, scrub, log);

  const sandbox = await SandboxRunner.create({
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
  });
  if (config.sandbox === 'off')
    log.warn('SHIPMATE_SANDBOX=off: commands run WITHOUT a sandbox. Development only.');
  const workspaces = new WorkspaceManager({
    dataDir: config.dataDir,
    sandbox,
    idleTtlMs: config.limits.worktreeIdleHours * 3600_000,
    log,
  });
  const history = new SlackThreadHistory(edge.client, edge.botUserId, log);
  const usage = new UsageStore(db);
  const grants = new GrantStore(db);
  const model = config.model.configured
    ? new ModelClient({
        apiKey: config.model.apiKey,
        baseUrl: config.model.baseUrl,
        model: config.model.name,
      })
    : undefined;
  const defaultBranches = new Map<string, Promise<string>>();
  const resolveDefaultBranch = (repo: Config['repos'][number]) => {
    const known = defaultBranches.get(repo.name) ?? detectDefaultBranch(repo.url);
    defaultBranches.set(repo.name, known);
    return known;
  };
  const resolveRepo = async (repo: Config['repos'][number]) => ({
    ...repo,
    defaultBranch: repo.defaultBranch ?? (await resolveDefaultBranch(repo)),
  });
  const workspaceProvider = {
    acquire: (repo: Config['repos'][number] & { defaultBranch: string }, threadKey: string, slug?: string) =>
      workspaces.acquire(repo, threadKey, {
        branchPrefix: config.git.branchPrefix,
        ...(slug ? { slug } : {}),
      }),
  };
  return {
    config,
    log,
    scrub,
    db,
    queue,
    threads,
    playground,
    edge,
    notifier,
    sandbox,
    workspaces,
    history,
    usage,
    grants,
    model,
    resolveDefaultBranch,
    resolveRepo,
    workspaceProvider,
  };
}

type Core = Awaited<ReturnType<typeof buildCore>>;

/** Forge, scripts, agent and digests, wired to each other through their ports. */
function buildRooms(core: Core) {
  const {
    config,
    log,
    scrub,
    db,
    queue,
    threads,
    edge,
    notifier,
    workspaces,
    history,
    usage,
    grants,
    model,
    resolveDefaultBranch,
    resolveRepo,
    workspaceProvider,
  } = core;
  /** A configured repo by name, with its default branch resolved. */
  const repoNamed = async (name: string) => {
    const repo = config.repos.find((candidate) => candidate.name === name);
    return repo ? resolveRepo(repo) : undefined;
  };
  const forge = createForgeRoom({
    config,
    workspaces: workspaceProvider,
    history,
    model,
    notifier,
    changes: new ChangeStore(db),
    resolveRepo: repoNamed,
    scrub,
    log,
  });
  const scripts = createScriptsRoom({
    config,
    db,
    workspaces: workspaceProvider,
    history,
    notifier,
    log,
    modals: new SlackModalOpener(edge.client),
    proposer: forge.scriptProposer,
    resolveRepo: async (channel, threadTs) => {
      const repo = repoForThread(config, threads, channel, threadTs);
      return repo ? resolveRepo(repo) : undefined;
    },
  });
  const agent = createAgentJob({
    config,
    model,
    workspaces: workspaceProvider,
    toolSources: [scripts.toolSource],
    changeFlow: forge.changeFlow,
    pendingPlan: (channel, threadTs) => {
      const last = queue
        .inThread(channel, threadTs)
        .filter((job) => job.kind === 'agent' && job.status === 'succeeded')
        .at(-1);
      return last?.kind === 'agent' && last.result?.mode === 'plan'
        ? { request: last.result.planFor, plan: last.result.plan }
        : undefined;
    },
    answerActions: (jobId, toolCalls, hints) => scripts.proposeScriptAction(jobId, toolCalls, hints),
    history,
    usage,
    threads,
    grants,
    resolveDefaultBranch,
  });
  const digests = createDigestsRoom({
    config,
    db,
    log,
    jobs: queue,
    post: (channel, markdown) => notifier.postToChannel(channel, markdown),
    history: { messagesBetween: (channel, from, to) => history.messagesBetween(channel, from, to) },
    permalinks: (channel, ts) => history.permalink(channel, ts),
    scripts: scripts.digestScripts,
    pullRequests: forge.digestPullRequests,
    mirrorPathFor: async (name) => {
      const repo = await repoNamed(name);
      return repo ? workspaces.mirrorFor(repo) : undefined;
    },
    summarize: model
      ? async (text) =>
          (
            await model.complete(
              { messages: [{ role: 'user', content: text }], max_tokens: 600 },
              AbortSignal.timeout(60_000),
            )
          ).choices[0]?.message.content ?? ''
      : undefined,
  });
  const handlers: JobHandlers = {
    agent,
    command: createCommandJob({
      ...digests.commandRoutes,
      ...scripts.commandRoutes,
      permissions: createPermissionsCommand(config, grants),
      budget: createBudgetCommand(config, usage),
    }),
  };
  return { forge, scripts, digests, handlers };
}

/** Buttons: each room's routes, plus switching a request between question and change. */
function buildActionRoutes(
  core: Core,
  rooms: ReturnType<typeof buildRooms>,
  pool: WorkerPool,
): Record<string, ActionRoute> {
  const { config, queue, threads, grants, notifier, log } = core;
  const { scripts, forge } = rooms;
  return {
    ...scripts.actionRoutes,
    ...forge.actionRoutes,
    ...createPermissionActions({ config, queue, pool, threads, grants, notifier, log }),
    ...routeTable(
      modeSwitchAction.route(async ({ jobId, mode }) => {
        const original = queue.get(jobId, 'agent');
        if (!original) return;
        pool.cancel(original.id);
        const job = queue.enqueue(copyOf(original, { payload: { ...original.payload, mode } }));
        log.info({ jobId: job.id, switchedFrom: original.id, mode }, 'job-mode-switched');
        pool.submit(job);
      }),
    ),
  };
}

/** The playground's channels: the config's mapped channels, or one #general. */
function playgroundChannels(config: Readonly<Config>): Array<{ id: string; name: string }> {
  const mapped = config.repos.flatMap((repo) => repo.channels.map((id) => ({ id, name: repo.name })));
  const unique = [...new Map(mapped.map((channel) => [channel.id, channel])).values()];
  return unique.length > 0 ? unique : [{ id: 'C0GENERAL', name: 'general' }];
}

function readConfigOrExit(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`shipmate: ${problem}\n`);
      process.exit(78);
    }
    throw error;
  }
}

function exitOnStartFailure(log: Logger, error: unknown, config: Readonly<Config>): never {
  const code = (error as { data?: { error?: string } }).data?.error ?? (error as { code?: string }).code;
  const hint =
    code === 'invalid_auth' || code === 'not_authed'
      ? 'SLACK_BOT_TOKEN was rejected by Slack (auth.test): copy the Bot User OAuth Token (xoxb-…) again.'
      : `could not reach Slack at ${config.slack.apiUrl ?? 'https://slack.com/api/'} (${code ?? 'error'}).`;
  log.error({ err: error }, 'slack-start-failed');
  process.stderr.write(`shipmate: ${hint}\n`);
  process.exit(1);
}

main().catch((error: unknown) => {
  process.stderr.write(`shipmate: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
