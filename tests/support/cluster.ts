import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, waitFor } from './app-process.js';
import { createRepo, type TestRepo } from './git-fixtures.js';
import { ALICE, CHANNEL, defaultRepoFiles } from './harness.js';
import { LoadBalancer } from './load-balancer.js';
import { createTestDatabase } from './postgres.js';
import { ScriptedModel } from './scripted-model.js';
import {
  type EmulatedMessage,
  type SlackEmulator,
  startSlackEmulator,
  TEST_SIGNING_SECRET,
} from './slack-emulator.js';

export interface ClusterOptions {
  processes: number;
  /** The PostgreSQL server to make a fresh database on (superuser URL); undefined: SQLite, one process. */
  adminUrl: string | undefined;
  model?: ScriptedModel;
  env?: Record<string, string>;
}

/**
 * Several real shipmate processes (dist/main.js) on one PostgreSQL database, each with its
 * own data dir (mirrors, worktrees: a local disk per process, as in production), behind one
 * load balancer that Slack's emulator delivers to.
 */
export class Cluster {
  apps: Array<AppProcess | undefined> = [];
  private dropDatabase: (() => Promise<void>) | undefined;

  private constructor(
    readonly slack: SlackEmulator,
    readonly model: ScriptedModel,
    readonly repo: TestRepo,
    readonly balancer: LoadBalancer,
    readonly databaseUrl: string | undefined,
    private readonly env: Record<string, string>,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    const [slack, model, repo, database] = await Promise.all([
      startSlackEmulator({ agentRefusal: { kind: 'older-workspace' as const } }),
      options.model ?? new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start(),
      createRepo({ files: defaultRepoFiles }),
      options.adminUrl ? createTestDatabase(options.adminUrl) : undefined,
    ]);
    if (!database && options.processes > 1) throw new Error('SQLite is one process: pass adminUrl for more');
    let cluster: Cluster | undefined;
    const balancer = new LoadBalancer(() =>
      (cluster?.apps ?? []).flatMap((app) => (app?.port ? [app.baseUrl] : [])),
    );
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      OPENAI_API_KEY: model.apiKey,
      OPENAI_BASE_URL: model.baseUrl,
      SHIPMATE_MODEL: 'test-model',
      SHIPMATE_REPO: repo.dir,
      SHIPMATE_DRAIN_SECONDS: '5',
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...options.env,
    };
    cluster = new Cluster(slack, model, repo, balancer, database?.url, env);
    cluster.dropDatabase = database?.drop;
    slack.setEventsUrl(`${await balancer.start()}/slack/events`);
    await Promise.all(Array.from({ length: options.processes }, () => cluster.addProcess()));
    return cluster;
  }

  /** Starts one more process; resolves when it is ready. */
  async addProcess(): Promise<AppProcess> {
    const app = new AppProcess(this.env, { dataDir: mkdtempSync(join(tmpdir(), 'shipmate-node-')) });
    const index = this.apps.length;
    this.apps.push(undefined);
    await app.start({ timeoutMs: 60_000 });
    this.apps[index] = app;
    return app;
  }

  get live(): AppProcess[] {
    return this.apps.filter((app): app is AppProcess => app !== undefined);
  }

  /** kill -9 of one process: it is taken out of the balancer. */
  async kill(app: AppProcess): Promise<void> {
    this.apps[this.apps.indexOf(app)] = undefined;
    await app.crash();
  }

  /** The process that logged starting `jobId`... or the one running a job in `threadTs`. */
  processRunning(threadTs: string): AppProcess | undefined {
    return this.live.find((app) =>
      app.logs.some((line) => line.msg === 'job-claimed' && line.threadTs === threadTs),
    );
  }

  ask(text: string, options: { threadTs?: string; user?: string } = {}) {
    return this.slack.mention({
      user: options.user ?? ALICE,
      channel: CHANNEL,
      text,
      threadTs: options.threadTs,
    });
  }

  /** A Slack retry of the app_mention for `ts` (same message, delivered again). */
  retry(ts: string, retryNum: number) {
    return this.slack.redeliverMention(ts, { retryNum, retryReason: 'http_timeout' }, CHANNEL);
  }

  answers(threadTs: string): EmulatedMessage[] {
    return this.slack
      .botMessagesInThread(CHANNEL, threadTs)
      .filter(
        (message) =>
          (message.blocks ?? []).some((block) => block.type === 'markdown') || Boolean(message.files?.length),
      );
  }

  waitForAnswers(threadTs: string, count = 1, timeoutMs = 60_000): Promise<EmulatedMessage[]> {
    return waitFor(
      () => {
        const answers = this.answers(threadTs);
        return answers.length >= count ? answers : undefined;
      },
      timeoutMs,
      `${count} answer(s) in ${threadTs}`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.live.map((app) => app.stop()));
    for (const app of this.apps) app?.cleanup();
    await this.balancer.stop();
    await this.slack.stop();
    await this.model.stop();
    await this.repo.cleanup();
    await this.dropDatabase?.();
  }
}
