import type { IncomingMessage as HttpRequest, ServerResponse } from 'node:http';
import bolt, { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import { WebClientEvent } from '@slack/web-api';
import { z } from 'zod';
import type { SlackMode } from '../config.js';
import type { InboundHandlers, IncomingMessage } from '../handlers/types.js';
import type { Logger } from '../log.js';
import { addressedText, mentionsUser } from './mention-syntax.js';
import type { OutputQueue } from './output-queue.js';
import { threadFilesFrom } from './slack-files.js';

const { App, HTTPReceiver, SocketModeReceiver } = bolt;

export interface SlackAppOptions {
  mode: Exclude<SlackMode, 'playground'> | 'http';
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  log: Logger;
}

export interface SlackEdge {
  app: InstanceType<typeof App>;
  client: InstanceType<typeof App>['client'];
  /** Serves POST /slack/events in HTTP mode; undefined in Socket Mode. */
  eventsListener: ((request: HttpRequest, response: ServerResponse) => void) | undefined;
  botUserId: () => string | undefined;
  /** The workspace's id (auth.test), for streams in channels (`recipient_team_id`). */
  teamId: () => string | undefined;
  /** Verifies the token (auth.test), registers listeners and, in Socket Mode, connects. */
  start(handlers: InboundHandlers): Promise<void>;
  stop(): Promise<void>;
  watchRateLimits(queue: OutputQueue): void;
}

const sessionStoppedEvent = z.object({
  type: z.literal('agent_session_stopped'),
  channel: z.string().min(1),
  thread_ts: z.string().min(1),
  user: z.string().min(1),
  streaming_message_ts: z.array(z.string()).default([]),
});

const messageEvent = z.object({
  type: z.enum(['message', 'app_mention']),
  subtype: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().default(''),
  ts: z.string(),
  thread_ts: z.string().optional(),
  channel: z.string(),
  channel_type: z.enum(['channel', 'group', 'im', 'mpim', 'app_home']).optional(),
  /** `file_share` messages and mentions with files carry Slack's file objects (parsed in slack-files.ts). */
  files: z.array(z.unknown()).optional(),
});

const blockAction = z.object({
  user: z.object({ id: z.string() }),
  channel: z.object({ id: z.string() }).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  trigger_id: z.string().optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

/** Subtypes that are still a person writing; every other subtype (edits, joins, bots…) is ignored. */
const personSubtypes = new Set(['file_share', 'thread_broadcast']);

/**
 * The Bolt app and its receiver. This is the only room that knows Slack's wire format:
 * it verifies, parses with zod, drops what shipmate ignores and hands the rest on.
 */
export function createSlackEdge(options: SlackAppOptions): SlackEdge {
  const boltLogger = toBoltLogger(options.log.child({ component: 'bolt' }));
  const clientOptions = options.apiUrl ? { slackApiUrl: withSlash(options.apiUrl) } : {};
  const receiver =
    options.mode === 'socket'
      ? new SocketModeReceiver({
          appToken: options.appToken ?? '',
          logger: boltLogger,
          installerOptions: { clientOptions },
        })
      : new HTTPReceiver({
          signingSecret: options.signingSecret ?? '',
          processBeforeResponse: true,
          logger: boltLogger,
          unhandledRequestTimeoutMillis: 2_500,
        });
  const app = new App({
    token: options.botToken,
    receiver,
    logger: boltLogger,
    clientOptions,
    deferInitialization: true,
  });
  let botUserId: string | undefined;
  let teamId: string | undefined;
  const log = options.log;
  if (receiver instanceof SocketModeReceiver) ackEventsOnceProcessed(receiver, app, log);

  const edge: SlackEdge = {
    app,
    client: app.client,
    eventsListener: receiver instanceof HTTPReceiver ? receiver.requestListener : undefined,
    botUserId: () => botUserId,
    teamId: () => teamId,
    async start(handlers) {
      await app.init();
      const identity = await app.client.auth.test();
      botUserId = identity.user_id;
      teamId = identity.team_id;
      register(app, handlers, () => botUserId, log);
      if (options.mode === 'socket') await app.start();
    },
    async stop() {
      if (options.mode === 'socket') await app.stop();
    },
    watchRateLimits(queue) {
      app.client.on(WebClientEvent.RATE_LIMITED, (seconds: number) => {
        log.warn({ retryAfterSeconds: seconds }, 'slack-rate-limited');
        queue.pause(seconds);
      });
    },
  };
  return edge;
}

/** What @slack/socket-mode hands a `slack_event` listener. */
interface SocketModeEnvelope {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  type: string;
  body: unknown;
  retry_num?: number;
  retry_reason?: string;
}

/**
 * Socket Mode acks an `events_api` envelope only once the event was processed (the message
 * stored). Bolt acks events before their listeners run, and Slack never sends an acked
 * envelope again, so a store that failed would lose the message; an envelope left unacked is
 * delivered again with `retry_attempt` (https://docs.slack.dev/apis/events-api/using-socket-mode).
 * Interactivity and commands keep Bolt's own handling: their listeners ack themselves.
 */
function ackEventsOnceProcessed(
  receiver: InstanceType<typeof SocketModeReceiver>,
  app: InstanceType<typeof App>,
  log: Logger,
): void {
  const client = receiver.client;
  const bolts = client.listeners('slack_event') as Array<(envelope: SocketModeEnvelope) => Promise<void>>;
  client.removeAllListeners('slack_event');
  client.on('slack_event', async (envelope: SocketModeEnvelope) => {
    if (envelope.type !== 'events_api') {
      for (const listener of bolts) await listener(envelope);
      return;
    }
    try {
      await app.processEvent({
        body: envelope.body as Record<string, unknown>,
        ack: async () => undefined,
        retryNum: envelope.retry_num,
        retryReason: envelope.retry_reason,
      });
    } catch {
      // Logged by app.error; no ack, so Slack delivers the envelope again.
      log.warn({ retryNum: envelope.retry_num ?? 0 }, 'slack-event-not-acked');
      return;
    }
    // The socket may have closed meanwhile (Slack recycles connections): the envelope then
    // comes again on the next one, and the (channel, ts) ledger answers it once.
    await envelope.ack().catch((error: unknown) => {
      log.warn({ err: error, retryNum: envelope.retry_num ?? 0 }, 'slack-event-ack-failed');
    });
  });
}

function register(
  app: InstanceType<typeof App>,
  handlers: InboundHandlers,
  botUserId: () => string | undefined,
  log: Logger,
): void {
  const onEvent = async ({ event }: { event: unknown }) => {
    const message = toIncomingMessage(event, botUserId(), log);
    // Awaited: with processBeforeResponse the ack waits for the job to be stored; a failure is no ack, so Slack retries.
    if (message) await handlers.onMessage(message);
  };
  app.event('app_mention', onEvent);
  app.event('message', onEvent);
  // https://docs.slack.dev/reference/events/agent_session_stopped
  app.event('agent_session_stopped' as never, async ({ event }: { event: unknown }) => {
    const parsed = sessionStoppedEvent.safeParse(event);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.length }, 'slack-session-stopped-malformed');
      return;
    }
    handlers.onSessionStopped?.({
      channel: parsed.data.channel,
      threadTs: parsed.data.thread_ts,
      userId: parsed.data.user,
    });
  });
  app.action({ type: 'block_actions' }, async ({ ack, body }) => {
    await ack();
    const parsed = blockAction.safeParse(body);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.length }, 'slack-action-malformed');
      return;
    }
    const payload = parsed.data;
    const action = payload.actions[0]!;
    const channel = payload.channel?.id ?? payload.container?.channel_id;
    const messageTs = payload.message?.ts ?? payload.container?.message_ts;
    if (!channel || !messageTs) return;
    handlers.onAction({
      actionId: action.action_id,
      value: action.value ?? '',
      user: payload.user.id,
      channel,
      messageTs,
      threadTs: payload.message?.thread_ts,
      triggerId: payload.trigger_id,
    });
  });
  app.view(/.*/, async ({ ack, body, view }) => {
    await ack();
    const values: Record<string, string> = {};
    for (const block of Object.values(view.state.values)) {
      for (const [actionId, input] of Object.entries(block)) {
        if (typeof input.value === 'string') values[actionId] = input.value;
      }
    }
    handlers.onViewSubmission?.({
      callbackId: view.callback_id,
      user: body.user.id,
      privateMetadata: view.private_metadata ?? '',
      values,
    });
  });
  // Rethrown after logging: a handler that resolves here makes Bolt treat the event as
  // processed, and with processBeforeResponse the receiver then acks with 200, so a message
  // that was never stored would be lost. Rejecting lets the receiver's processEventErrorHandler
  // answer 500 and Slack deliver it again
  // (https://docs.slack.dev/tools/bolt-js/concepts/error-handling,
  // https://docs.slack.dev/apis/events-api/#retries).
  app.error(async (error) => {
    log.error({ err: error }, 'slack-listener-error');
    throw error;
  });
}

export function toIncomingMessage(
  event: unknown,
  botUserId: string | undefined,
  log: Logger,
): IncomingMessage | undefined {
  const parsed = messageEvent.safeParse(event);
  if (!parsed.success) {
    log.warn({ issues: parsed.error.issues.map((issue) => issue.path.join('.')) }, 'slack-event-malformed');
    return undefined;
  }
  const event_ = parsed.data;
  if (event_.subtype && !personSubtypes.has(event_.subtype)) return undefined;
  if (event_.bot_id || !event_.user || event_.user === botUserId) return undefined;
  const channelType =
    event_.channel_type === 'app_home' ? 'im' : (event_.channel_type ?? inferChannelType(event_.channel));
  const mentioned =
    event_.type === 'app_mention' || (botUserId !== undefined && mentionsUser(event_.text, botUserId));
  const files = threadFilesFrom(event_.files);
  return {
    channel: event_.channel,
    ts: event_.ts,
    threadTs: event_.thread_ts && event_.thread_ts !== event_.ts ? event_.thread_ts : undefined,
    user: event_.user,
    // The bot's own mention is how people address it, not part of what they ask.
    text: addressedText(event_.text, botUserId),
    channelType,
    mentioned,
    ...(files.length > 0 ? { files } : {}),
  };
}

function inferChannelType(channel: string): IncomingMessage['channelType'] {
  if (channel.startsWith('D')) return 'im';
  if (channel.startsWith('G')) return 'group';
  return 'channel';
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function toBoltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => log.debug(text(parts)),
    info: (...parts: unknown[]) => log.info(text(parts)),
    warn: (...parts: unknown[]) => log.warn(text(parts)),
    error: (...parts: unknown[]) => log.error(text(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/** Why the edge could not start (auth.test refused the token, or Slack was unreachable), as one line. */
export function describeStartFailure(error: unknown, apiUrl: string | undefined): string {
  const code = (error as { data?: { error?: string } }).data?.error ?? (error as { code?: string }).code;
  return code === 'invalid_auth' || code === 'not_authed'
    ? 'SLACK_BOT_TOKEN was rejected by Slack (auth.test): copy the Bot User OAuth Token (xoxb-…) again.'
    : `could not reach Slack at ${apiUrl ?? 'https://slack.com/api/'} (${code ?? 'error'}).`;
}
