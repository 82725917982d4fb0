import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, waitFor } from './app-process.js';
import { createRepo, type TestRepo } from './git-fixtures.js';
import { type Responder, ScriptedModel, type ScriptedReply } from './scripted-model.js';
import {
  type EmulatedMessage,
  type SlackEmulator,
  type SlackEmulatorOptions,
  startSlackEmulator,
  TEST_APP_TOKEN,
  TEST_SIGNING_SECRET,
} from './slack-emulator.js';
import { installSocketMode } from './socket-mode.js';

export const CHANNEL = 'C0GENERAL';
export const ALICE = 'U0ALICE';
export const BOB = 'U0BOB';

export const defaultRepoFiles: Record<string, string> = {
  'README.md': '# shop\n\nA small shop used in tests.\n',
  'src/shipping.ts': [
    'export function computeShippingCost(items: number): number {',
    '  const base = 4.99;',
    '  // BUG: shipping is added twice for carts with more than one item',
    '  return items > 1 ? base * 2 : base;',
    '}',
    '',
  ].join('\n'),
  'src/pricing.html': '<h1>Pricng</h1>\n<p>Plans start at $9.</p>\n',
};

/** What tests use of a model stand-in: the generic ScriptedModel and every family server offer it. */
export interface ModelStandIn
  extends Pick<
    ScriptedModel,
    | 'requests'
    | 'baseUrl'
    | 'apiKey'
    | 'pendingReplies'
    | 'stop'
    | 'reset'
    | 'waitForRequests'
    | 'lastRequest'
    | 'allMessagesText'
    | 'toolResultsIn'
  > {
  enqueue(...replies: ScriptedReply[]): unknown;
  respondWith(responder: Responder | undefined): unknown;
}

export interface HarnessOptions {
  /** Extra env for the app (overrides the defaults). */
  env?: Record<string, string>;
  /** YAML config file content; `{{repo}}` is replaced by the test repo's path. */
  config?: string;
  repoFiles?: Record<string, string>;
  /** Start the app in Socket Mode instead of HTTP. */
  socketMode?: boolean;
  /** A workspace with Slack's streaming and agent-session methods (task cards, streamed answers, Stop). */
  slackNative?: boolean;
  /** More emulator options (refusals, scopes). */
  slack?: Partial<SlackEmulatorOptions>;
  /** Do not configure a model (playground-style "set OPENAI_API_KEY" path). */
  noModel?: boolean;
  dataDir?: string;
  /** The app's working directory (default: the install directory). */
  cwd?: string;
  /** The model server stand-in (default: the generic ScriptedModel); e.g. one of tests/support/model-families/. */
  model?: () => Promise<ModelStandIn>;
  /** SHIPMATE_MODEL (default "test-model"). */
  modelName?: string;
  /** Runs once before the first launch (e.g. a bare remote of the test repo); its values fill `{{name}}` in config. */
  beforeLaunch?: (repoDir: string) => Promise<Record<string, string>>;
}

/**
 * Everything an end-to-end test needs: the Slack emulator, the scripted model, a
 * throwaway git repo and the real app process wired to them through env only.
 */
export class Harness {
  app!: AppProcess;
  private templateValues: Record<string, string> = {};

  private constructor(
    readonly slack: SlackEmulator,
    readonly model: ModelStandIn,
    readonly repo: TestRepo,
    private readonly options: HarnessOptions,
    private readonly dataDir: string,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const [slack, model, repo] = await Promise.all([
      // Most tests run where Slack has no streaming or agent sessions (the fallback: a status
      // message and a final post); `slackNative` gives the workspace streams and sessions.
      startSlackEmulator({
        ...(options.slackNative ? {} : { agentRefusal: { kind: 'older-workspace' as const } }),
        ...options.slack,
      }),
      options.model
        ? options.model()
        : new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start(),
      createRepo({ files: options.repoFiles ?? defaultRepoFiles }),
    ]);
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'shipmate-e2e-'));
    if (options.socketMode) installSocketMode(slack, { appToken: TEST_APP_TOKEN });
    const harness = new Harness(slack, model, repo, options, dataDir);
    harness.templateValues = { repo: repo.dir, ...(await options.beforeLaunch?.(repo.dir)) };
    await harness.launch();
    return harness;
  }

  /** (Re)starts the app against the same emulator, model, repo and data dir. */
  async launch(): Promise<void> {
    const env: Record<string, string> = {
      SLACK_BOT_TOKEN: this.slack.botToken,
      SLACK_API_URL: this.slack.apiUrl,
      ...(this.options.socketMode
        ? { SLACK_APP_TOKEN: TEST_APP_TOKEN }
        : { SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET }),
      ...(this.options.noModel
        ? {}
        : { OPENAI_API_KEY: this.model.apiKey, OPENAI_BASE_URL: this.model.baseUrl }),
      SHIPMATE_MODEL: this.options.modelName ?? 'test-model',
      SHIPMATE_REPO: this.repo.dir,
      SHIPMATE_DRAIN_SECONDS: '5',
      ...this.options.env,
    };
    if (this.options.config) {
      const file = join(this.dataDir, 'shipmate.yaml');
      const text = Object.entries(this.templateValues).reduce(
        (config, [name, value]) => config.replaceAll(`{{${name}}}`, value),
        this.options.config,
      );
      writeFileSync(file, text);
      env.SHIPMATE_CONFIG = file;
      delete env.SHIPMATE_REPO;
    }
    this.app = new AppProcess(env, {
      dataDir: this.dataDir,
      ...(this.options.cwd ? { cwd: this.options.cwd } : {}),
    });
    await this.app.start();
    this.slack.setEventsUrl(this.app.eventsUrl);
  }

  async restart(): Promise<void> {
    await this.app.stop();
    await this.launch();
  }

  async crashAndRestart(): Promise<void> {
    await this.app.crash();
    await this.launch();
  }

  /** `@shipmate <text>` as a user; returns the message ts (= thread ts for a new thread). */
  async ask(text: string, options: { user?: string; channel?: string; threadTs?: string } = {}) {
    return this.slack.mention({
      user: options.user ?? ALICE,
      channel: options.channel ?? CHANNEL,
      text,
      threadTs: options.threadTs,
    });
  }

  /** Bot messages in a thread that carry an answer (a markdown block), oldest first. */
  answers(threadTs: string, channel = CHANNEL): EmulatedMessage[] {
    return this.slack
      .botMessagesInThread(channel, threadTs)
      .filter(
        (message) =>
          (message.blocks ?? []).some((block) => block.type === 'markdown') || Boolean(message.files?.length),
      );
  }

  /** The status message (context block) of a thread. */
  statusMessages(threadTs: string, channel = CHANNEL): EmulatedMessage[] {
    return this.slack
      .botMessagesInThread(channel, threadTs)
      .filter((message) => (message.blocks ?? [])[0]?.type === 'context');
  }

  async waitForAnswers(
    threadTs: string,
    count = 1,
    channel = CHANNEL,
    timeoutMs = 20_000,
  ): Promise<EmulatedMessage[]> {
    return waitFor(
      () => {
        const answers = this.answers(threadTs, channel);
        return answers.length >= count ? answers : undefined;
      },
      timeoutMs,
      `${count} answer(s) in thread ${threadTs}: seen ${JSON.stringify(this.slack.botMessagesInThread(channel, threadTs).map((m) => m.text))}`,
    );
  }

  async waitForStatus(
    threadTs: string,
    pattern: RegExp,
    channel = CHANNEL,
    timeoutMs = 20_000,
  ): Promise<EmulatedMessage> {
    return waitFor(
      () => this.statusMessages(threadTs, channel).find((message) => pattern.test(message.text)),
      timeoutMs,
      `a status matching ${pattern} in ${threadTs}: seen ${JSON.stringify(this.statusMessages(threadTs, channel).map((m) => m.text))}`,
    );
  }

  async stop(): Promise<void> {
    await this.app?.stop().catch(() => undefined);
    await Promise.all([this.slack.stop(), this.model.stop()]);
    await this.repo.cleanup();
    this.app?.cleanup();
  }
}

/** The markdown text of an answer message. */
export function answerText(message: EmulatedMessage): string {
  return (message.blocks ?? [])
    .filter((block) => block.type === 'markdown')
    .map((block) => String(block.text))
    .join('\n');
}

export { waitFor };
