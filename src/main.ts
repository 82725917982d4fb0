import { createAgentRoom } from './agent/agent-room.js';
import { repoForThread } from './agent/steps/resolve-request.js';
import { type Config, loadConfig } from './config.js';
import { createDigestsRoom } from './digests/index.js';
import { startStartupChecks } from './doctor/startup.js';
import { ConfigError } from './errors.js';
import { ChangeStore } from './forge/change-store.js';
import { createForgeRoom } from './forge/forge-room.js';
import { createActionHandler, createViewHandler } from './handlers/action-handler.js';
import { createMessageHandler, createStopHandler } from './handlers/message-handler.js';
import { createCommandJob } from './jobs/command-job.js';
import type { JobHandlers } from './jobs/ports.js';
import { gatherRooms } from './jobs/room.js';
import { createLogger, type Logger } from './log.js';
import { createPermissionsRoom } from './permissions/permissions-room.js';
import { createScriptsRoom } from './scripts/create-scripts-room.js';
import { createScrubber } from './scrub-secrets.js';
import { buildServices, type Services } from './services.js';
import { startHttpServer } from './slack/http-server.js';
import { describeStartFailure } from './slack/slack-app.js';
import { checkSlackScopes } from './slack/slack-doctor.js';
import { SlackModalOpener } from './slack/slack-modals.js';
import { DataDirInUse, type DataDirLock, lockDataDir } from './storage/data-dir-lock.js';

/** The composition root: config → services → rooms → start, and the reverse on a signal. */
async function main(): Promise<void> {
  const config = readConfigOrExit();
  const scrub = createScrubber(config.secrets);
  const log = createLogger({ level: config.logLevel }, scrub);
  const dataDirLock = await lockDataDirOrExit(config.dataDir);
  const services = await buildServices(config, log, scrub);
  const { db, queue, pool, threads, playground, edge, notifier, sandbox } = services;
  const { rooms, jobs, digests } = buildRooms(services);

  let ready = false;
  let checks: ReturnType<typeof startStartupChecks> | undefined;
  const { server, port } = await startHttpServer({
    host: config.host,
    port: config.port,
    log,
    ready: () => ready,
    health: async () => ({
      ok: ready,
      mode: config.slack.mode,
      database: { backend: db.backend, reachable: pool.databaseAvailable },
      process: { id: services.processId, running: pool.runningCount, holds: pool.heldJobIds() },
      sandbox: sandbox.status(),
      ...(config.sandbox === 'off'
        ? { warning: 'SHIPMATE_SANDBOX=off: commands run without a sandbox' }
        : {}),
      model: config.model.configured ? config.model.name : 'not configured',
      // The database may be restarting: the report still answers, without the counts.
      jobs: await queue.counts().catch(() => 'unavailable'),
      checks: checks?.results(),
      digestsNeedInvite: digests.channelsNeedingInvite(),
    }),
    events: edge.eventsListener,
    prefixes: playground ? { '/playground': playground.route } : {},
  });
  playground?.attach(`http://127.0.0.1:${port}/slack/events`);
  log.info({ port, host: config.host, mode: config.slack.mode }, 'server-listening');

  try {
    await edge.start({
      onMessage: createMessageHandler({ queue, pool, threads, notifier, log, botUserId: edge.botUserId }),
      onAction: createActionHandler({ queue, pool, notifier, log, routes: rooms.actions }),
      onViewSubmission: createViewHandler({ routes: rooms.views, log }),
      onSessionStopped: createStopHandler({ queue, pool, notifier, log }),
    });
  } catch (error) {
    exitOnStartFailure(log, error, config);
  }
  // Before the pool takes jobs: the first request waits for the model's context window.
  checks = startStartupChecks({
    config,
    log,
    models: [services.model, services.reviewer === services.model ? undefined : services.reviewer],
    sandboxStatus: () => sandbox.status(),
    scrub,
    ...(playground ? {} : { slackScopes: checkSlackScopes }),
    database: db,
  });
  await services.registry.register(config.concurrency);
  const beat = setInterval(() => {
    services.registry.beat(pool.runningCount).catch(() => undefined); // the database may be restarting
  }, 5_000);
  beat.unref();
  await pool.start(jobs);
  await rooms.start();
  ready = true;
  log.info({ concurrency: config.concurrency, botUserId: edge.botUserId() }, 'shipmate-ready');
  if (playground) {
    const host = config.host === '127.0.0.1' || config.host === '0.0.0.0' ? 'localhost' : config.host;
    log.info({ url: `http://${host}:${port}/playground` }, 'playground-ready');
    process.stdout.write(`shipmate playground: http://${host}:${port}/playground\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info({ signal }, 'shutdown-started');
    await rooms.stop();
    await pool.drain(config.drainSeconds * 1000);
    await edge.stop().catch((error: unknown) => log.warn({ err: error }, 'slack-stop-failed'));
    server.close();
    await playground?.stop();
    await sandbox.close();
    await services.registry.remove().catch(() => undefined);
    await db.close();
    await dataDirLock.release();
    log.info('shutdown-finished');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Part two: each room from the services and the ports the others offer; the agent comes last. */
function buildRooms(services: Services) {
  const { config, log, scrub, db, queue, pool, threads, edge, notifier, history, model } = services;
  const { workspaces, worktrees, repoNamed, withDefaultBranch, resolveDefaultBranch } = services;
  const forge = createForgeRoom({
    ...services,
    model: services.reviewer,
    changes: new ChangeStore(db),
    resolveRepo: repoNamed,
    scrub,
  });
  const scripts = createScriptsRoom({
    ...services,
    modals: new SlackModalOpener(edge.client),
    proposer: forge.scriptProposer,
    resolveRepo: async (channel, threadTs) => {
      const repo = await repoForThread(config, threads, channel, threadTs);
      return repo ? withDefaultBranch(repo) : undefined;
    },
  });
  const permissions = createPermissionsRoom(services);
  const digests = createDigestsRoom({
    config,
    db,
    log,
    jobs: queue,
    post: (channel, markdown) => notifier.postToChannel(channel, markdown),
    history,
    permalinks: (channel, ts) => history.permalink(channel, ts),
    scripts: scripts.digestScripts,
    pullRequests: forge.digestPullRequests,
    mirrorPathFor: async (name) => {
      const repo = await repoNamed(name);
      return repo ? worktrees.mirrorFor(repo) : undefined;
    },
    summarize: model
      ? async (text) => (await model.summarize(text, { maxTokens: 600, timeoutMs: 60_000 })).text
      : undefined,
  });
  const agent = createAgentRoom({
    config,
    db,
    queue,
    pool,
    threads,
    model,
    workspaces,
    history,
    resolveDefaultBranch,
    toolSources: gatherRooms([forge, scripts, permissions]).tools,
    changeFlow: forge.changeFlow,
    fileLinks: forge.fileLinks,
    briefing: forge.briefing,
    threadFiles: services.threadFiles,
    permissions: permissions.gate,
    answerActions: (jobId, toolCalls, hints) => scripts.proposeScriptAction(jobId, toolCalls, hints),
    log,
  });
  const rooms = gatherRooms([agent, forge, scripts, permissions, digests]);
  const jobs: JobHandlers = { ...agent.jobs, command: createCommandJob(rooms.commands) };
  return { rooms, jobs, digests };
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

/** Before anything touches the data dir: a second process on it is refused with the reason. */
async function lockDataDirOrExit(dataDir: string): Promise<DataDirLock> {
  try {
    return await lockDataDir(dataDir);
  } catch (error) {
    if (!(error instanceof DataDirInUse)) throw error;
    process.stderr.write(`shipmate: ${error.message}\n`);
    process.exit(1);
  }
}

function exitOnStartFailure(log: Logger, error: unknown, config: Readonly<Config>): never {
  log.error({ err: error }, 'slack-start-failed');
  process.stderr.write(`shipmate: ${describeStartFailure(error, config.slack.apiUrl)}\n`);
  process.exit(1);
}

main().catch((error: unknown) => {
  process.stderr.write(`shipmate: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
