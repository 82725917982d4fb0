import type { Config } from '../config.js';
import type { CommandRoute } from '../jobs/command-job.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Room } from '../jobs/room.js';
import type { Logger } from '../log.js';
import type { Database } from '../storage/database.js';
import { DigestChannels } from './channel-access.js';
import { createDigestCommand } from './digest-command.js';
import { DigestScheduler, type RunResult } from './digest-scheduler.js';
import { DigestStore } from './digest-store.js';
import type {
  ChannelHistory,
  DigestPullRequests,
  DigestScripts,
  MirrorPathFor,
  Permalinks,
  PostToChannel,
  Summarize,
} from './ports.js';
import { publishDigest } from './publish-digest.js';
import { type SeedReport, seedDigestsFromConfig } from './seed-from-config.js';

export interface DigestsRoomDeps {
  config: Pick<Config, 'digests' | 'repos'>;
  db: Database;
  clock?: () => number;
  log: Logger;
  /** Posts a channel message (not in a thread); returns its ts. Must scrub secrets like every post. */
  post: PostToChannel;
  jobs: JobQueue;
  history: ChannelHistory;
  permalinks: Permalinks;
  pullRequests?: DigestPullRequests | undefined;
  scripts?: DigestScripts | undefined;
  mirrorPathFor: MirrorPathFor;
  /** One model call without tools; absent when no model is configured. */
  summarize?: Summarize | undefined;
  /** Unique per process; defaults to host:pid:random. */
  owner?: string;
  tickIntervalMs?: number;
}

export interface DigestsRoom extends Room {
  commands: { digest: CommandRoute<'digest'> };
  scheduler: {
    start(): void;
    stop(): void;
    tick(now?: number): Promise<RunResult[]>;
  };
  seedFromConfig(): Promise<SeedReport>;
  /** Channels whose digest waits for someone to type `/invite @shipmate` there (for /healthz). */
  channelsNeedingInvite(): string[];
}

/** Builds the digests room: store, scheduler and the `digest` command, from ports only. */
export function createDigestsRoom(deps: DigestsRoomDeps): DigestsRoom {
  const clock = deps.clock ?? Date.now;
  const log = deps.log.child({ room: 'digests' });
  const store = new DigestStore(deps.db, clock);
  const channels = new DigestChannels({ history: deps.history, log });
  const publishDeps = {
    jobs: deps.jobs,
    repos: deps.config.repos,
    permalinks: deps.permalinks,
    mirrorPathFor: deps.mirrorPathFor,
    pullRequests: deps.pullRequests,
    scripts: deps.scripts,
    history: deps.history,
    summarize: deps.summarize,
    post: deps.post,
    log,
  };
  const scheduler = new DigestScheduler({
    store,
    // Join (or learn to ask for an invite) before reading the channel and posting to it.
    publish: async (request) => {
      await channels.ensure(request.channel);
      return publishDigest(publishDeps, request);
    },
    post: deps.post,
    clock,
    log,
    ...(deps.owner ? { owner: deps.owner } : {}),
    ...(deps.tickIntervalMs ? { intervalMs: deps.tickIntervalMs } : {}),
  });
  return {
    name: 'digests',
    /** Digests named in the config are stored once, then the scheduler ticks. */
    start: async () => {
      await seedDigestsFromConfig(deps.config.digests, store, clock(), log);
      // The configured channels are joined (or reported) at once, not only at their first digest.
      void channels.checkAll(deps.config.digests.map((digest) => digest.channel));
      scheduler.start();
    },
    stop: () => scheduler.stop(),
    commands: {
      digest: createDigestCommand({
        config: deps.config,
        store,
        scheduler,
        permalinks: deps.permalinks,
        clock,
      }),
    },
    scheduler: {
      start: () => scheduler.start(),
      stop: () => scheduler.stop(),
      tick: (now) => scheduler.tick(now ?? clock()),
    },
    seedFromConfig: () => seedDigestsFromConfig(deps.config.digests, store, clock(), log),
    channelsNeedingInvite: () => channels.needingInvite(),
  };
}
