import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AgentRefusal, AgentSessionView } from './agent-sessions.js';
import { AgentSurface, type AgentSurfaceChange, type SurfaceMessage } from './agent-surface.js';
import { checkMessageBlocks, checkModalView } from './block-kit-limits.js';
import { EmulatedSharedFiles, type ShareFilesInput, type SlackFileObject } from './files.js';
import { translateMarkdown, translateMarkdownBlocks } from './markdown-translation.js';
import { type ChannelKind, METHOD_SCOPES, manifestBotScopes } from './scopes.js';
import { signSlackRequest } from './signing.js';
import { ApiRefusal, type StreamView } from './streams.js';

/**
 * An in-memory Slack: the Web API methods shipmate calls (answered with Slack's shapes and
 * error codes) and the other direction, signed Events API and interactivity requests sent to
 * the app. End-to-end tests drive it; the playground page reuses it in-process, following
 * state through `on('change')`. It speaks only over 127.0.0.1.
 */

export interface EmulatedUser {
  id: string;
  name: string;
  realName: string;
  isBot?: boolean;
}

export interface EmulatedChannelInput {
  id: string;
  name: string;
  /** A private channel (default: ids starting with `G`). Slack hides one the bot is not in. */
  isPrivate?: boolean;
  /** Whether the bot is in the channel; default true, so tests start where an installed bot is. */
  botIsMember?: boolean;
}

export interface SlackEmulatorOptions {
  botToken: string;
  signingSecret: string;
  /** Where signed events and interactive payloads are POSTed (the app's `/slack/events`). */
  eventsUrl?: string;
  /** Fixed port; default 0 (any free port). */
  port?: number;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  apiAppId?: string;
  /** The legacy verification token put in envelopes (`token`). */
  verificationToken?: string;
  users?: EmulatedUser[];
  channels?: EmulatedChannelInput[];
  /**
   * Milliseconds; drives message `ts`, `event_time`, call times and trigger expiry. Request
   * signatures use the wall clock.
   */
  clock?: () => number;
  /** The bot token's OAuth scopes; default the bot scopes of slack-app-manifest.yaml. */
  scopes?: string[];
  /** How long a trigger_id stays exchangeable; default Slack's 3 seconds. */
  triggerLifetimeMs?: number;
  /**
   * Refuse the streaming and agent-session methods the way some workspaces do: an older
   * workspace (`unknown_method`), `feature_disabled`, or any named error (agent-sessions.ts).
   */
  agentRefusal?: AgentRefusal;
  /**
   * Whether the app subscribes to `agent_session_stopped` (what its manifest's bot_events say);
   * default true. Unsubscribed, setStatus warns and no Stop button shows.
   */
  subscribesToAgentSessionStopped?: boolean;
}

export type Block = Record<string, unknown> & { type: string };

export interface Reaction {
  name: string;
  users: string[];
  count: number;
}

export interface EmulatedFileReference {
  id: string;
  name: string;
  title: string;
}

export interface EmulatedMessage {
  type: 'message';
  ts: string;
  text: string;
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  subtype?: string;
  team?: string;
  markdown_text?: string;
  blocks?: Block[];
  files?: EmulatedFileReference[];
  reactions?: Reaction[];
  edited?: { user: string; ts: string };
  metadata?: unknown;
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  parent_user_id?: string;
  client_msg_id?: string;
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  message_ts: string;
  text: string;
  blocks?: Block[];
  thread_ts?: string;
}

export interface RecordedCall {
  method: string;
  /** Arguments without the token; JSON-encoded fields (`blocks`, `files`, `view`, …) decoded. */
  args: Record<string, unknown>;
  at: number;
}

export interface ResponseUrlPost {
  url: string;
  body: Record<string, unknown>;
}

export type EmulatorChange =
  | { type: 'message-posted'; channel: string; message: EmulatedMessage }
  | { type: 'message-updated'; channel: string; message: EmulatedMessage }
  | { type: 'message-deleted'; channel: string; ts: string }
  | { type: 'reaction-changed'; channel: string; ts: string; reactions: Reaction[] }
  | { type: 'file-shared'; channel: string; ts: string; fileId: string }
  | { type: 'ephemeral-posted'; message: EphemeralMessage }
  | { type: 'status-set'; channel: string; threadTs: string; status: string }
  | { type: 'view-opened'; view: Record<string, unknown> }
  | AgentSurfaceChange;

export interface DeliveryOptions {
  retryNum?: number;
  retryReason?: string;
  /** Sign with this secret instead (to forge a bad signature). */
  signingSecret?: string;
  /** Unix seconds for `X-Slack-Request-Timestamp` (to make a request stale). */
  timestamp?: number;
  /** Send these bytes instead of the encoded envelope (signed as they are). */
  rawBody?: string | Buffer;
  eventId?: string;
}

export type Delivery =
  | { kind: 'events_api'; body: Record<string, unknown>; options: DeliveryOptions }
  | { kind: 'interactive'; payload: Record<string, unknown>; options: DeliveryOptions };

export interface DeliveryResult {
  status: number;
  body: string;
  elapsedMs: number;
}

/** How events reach the app: signed HTTP by default; `tests/support/socket-mode.ts` adds a WebSocket. */
export interface EventTransport {
  deliver(delivery: Delivery): Promise<DeliveryResult>;
}

export interface UserMessageResult {
  ts: string;
  deliveries: DeliveryResult[];
}

export interface MethodContext {
  token: string;
}

export type MethodHandler = (
  args: Record<string, unknown>,
  context: MethodContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Thrown inside a method handler to answer `{ ok: false, error: code, ...extra }`. */
export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
    this.name = 'SlackApiError';
  }
}

interface ChannelState {
  id: string;
  name: string;
  isIm: boolean;
  isPrivate: boolean;
  botIsMember: boolean;
  user?: string;
  messages: EmulatedMessage[];
}

interface TriggerState {
  issuedAt: number;
  used: boolean;
}

interface StoredFile {
  id: string;
  name: string;
  title: string;
  length: number;
  content?: Buffer;
  shared: boolean;
}

interface MethodDefinition {
  handler: MethodHandler;
  /** The token this method accepts; default the bot token. */
  token?: string;
  /** Added or replaced through registerMethod: no scope check of its own. */
  custom?: boolean;
}

interface ResponseUrlTarget {
  channel: string;
  messageTs: string;
  user: string;
  threadTs?: string;
}

type Args = Record<string, unknown>;
type Json = Record<string, unknown>;

const DEFAULT_USERS: EmulatedUser[] = [
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Anders' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Brandt' },
  { id: 'U0CAROL', name: 'carol', realName: 'Carol Chen' },
];
const DEFAULT_CHANNELS: EmulatedChannelInput[] = [{ id: 'C0GENERAL', name: 'general' }];
const JSON_FIELDS = ['blocks', 'attachments', 'files', 'metadata', 'chunks', 'view'];
const MARKDOWN_LIMIT = 12_000;
const TEXT_LIMIT = 40_000;
const PERMALINK_BASE = 'https://emulated.slack.local';
/**
 * A trigger_id is good for 3 seconds: "Pass a valid trigger_id within 3 seconds of receiving it"
 * (https://docs.slack.dev/tools/bolt-js/concepts/creating-modals); views.open then answers
 * `expired_trigger_id` ("The trigger_id is expired", https://docs.slack.dev/reference/methods/views.open).
 */
const TRIGGER_LIFETIME_MS = 3_000;

export class SlackEmulator {
  readonly botToken: string;
  readonly signingSecret: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly apiAppId: string;
  readonly calls: RecordedCall[] = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];

  private eventsUrl: string | undefined;
  private transport: EventTransport | undefined;
  private server: Server | undefined;
  private port: number;
  private readonly clock: () => number;
  private readonly verificationToken: string;
  private readonly emitter = new EventEmitter();
  private readonly users = new Map<string, EmulatedUser>();
  private readonly channels = new Map<string, ChannelState>();
  private readonly files = new Map<string, StoredFile>();
  /** Files people share in threads (files.ts): file objects, files.info, downloads. */
  readonly sharedFiles = new EmulatedSharedFiles({
    baseUrl: () => this.baseUrl,
    teamId: () => this.teamId,
    botToken: () => this.botToken,
    scopes: () => this.grantedScopes,
    now: () => this.clock(),
  });
  private readonly ephemerals: EphemeralMessage[] = [];
  private readonly views = new Map<string, Json>();
  private readonly statuses = new Map<string, string>();
  private readonly agent: AgentSurface;
  private readonly triggers = new Map<string, TriggerState>();
  private readonly storedBlocks = new WeakMap<EmulatedMessage, { source: unknown; blocks: Block[] }>();
  private readonly triggerLifetimeMs: number;
  private grantedScopes: string[];
  private readonly responseTargets = new Map<string, ResponseUrlTarget>();
  private readonly rateLimits = new Map<string, { remaining: number; retryAfterSeconds: number }>();
  private readonly injectedErrors = new Map<string, { remaining: number; error: string }>();
  private readonly methods = new Map<string, MethodDefinition>();
  private readonly upgradeHandlers = new Map<string, UpgradeHandler>();
  private readonly upgradedSockets = new Set<Duplex>();
  private readonly defaultChannel: string;
  private lastTsMicros = 0;
  private counter = 0;

  constructor(options: SlackEmulatorOptions) {
    this.botToken = options.botToken;
    this.signingSecret = options.signingSecret;
    this.eventsUrl = options.eventsUrl;
    this.port = options.port ?? 0;
    this.teamId = options.teamId ?? 'T0001';
    this.botUserId = options.botUserId ?? 'U0BOT';
    this.botId = options.botId ?? 'B0BOT';
    this.apiAppId = options.apiAppId ?? 'A0SHIPMATE';
    this.verificationToken = options.verificationToken ?? 'emulated-verification-token';
    this.clock = options.clock ?? Date.now;
    this.grantedScopes = [...(options.scopes ?? manifestBotScopes())];
    this.triggerLifetimeMs = options.triggerLifetimeMs ?? TRIGGER_LIFETIME_MS;
    this.agent = this.createAgentSurface(options);
    for (const user of options.users ?? DEFAULT_USERS) this.addUser(user);
    this.addUser({ id: this.botUserId, name: 'shipmate', realName: 'shipmate', isBot: true });
    const channels = options.channels ?? DEFAULT_CHANNELS;
    for (const channel of channels) this.addChannel(channel);
    this.defaultChannel = channels[0]?.id ?? 'C0GENERAL';
    this.registerBuiltInMethods();
  }

  // ── lifecycle ────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          sendJson(response, 500, { ok: false, error: 'internal_error', detail: String(error) });
      });
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const handler = this.upgradeHandlers.get(pathOf(request));
      if (!handler) {
        socket.destroy();
        return;
      }
      this.upgradedSockets.add(socket);
      socket.once('close', () => this.upgradedSockets.delete(socket));
      handler(request, socket, head);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.upgradedSockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `http://127.0.0.1:PORT` */
  get baseUrl(): string {
    if (!this.server) throw new Error('SlackEmulator is not started; call start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  /** `http://127.0.0.1:PORT/api/`, for `new WebClient(token, { slackApiUrl })`. */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  setEventsUrl(url: string): void {
    this.eventsUrl = url;
  }

  /** Deliver through another transport (Socket Mode); `undefined` restores signed HTTP. */
  setTransport(transport: EventTransport | undefined): void {
    this.transport = transport;
  }

  on(event: 'change', listener: (change: EmulatorChange) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: 'change', listener: (change: EmulatorChange) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  // ── extension points ─────────────────────────────────────────────────────

  /** Add or replace a Web API method. `token` names the one token it accepts (default the bot token). */
  registerMethod(method: string, handler: MethodHandler, options: { token?: string } = {}): void {
    this.methods.set(method, { handler, token: options.token, custom: true });
  }

  /** Accept HTTP upgrades (WebSockets) on one path. */
  onUpgrade(path: string, handler: UpgradeHandler): void {
    this.upgradeHandlers.set(path, handler);
  }

  addUser(user: EmulatedUser): void {
    this.users.set(user.id, user);
  }

  addChannel(channel: EmulatedChannelInput): void {
    if (this.channels.has(channel.id)) return;
    const isIm = channel.id.startsWith('D');
    this.channels.set(channel.id, {
      id: channel.id,
      name: channel.name,
      isIm,
      isPrivate: !isIm && (channel.isPrivate ?? channel.id.startsWith('G')),
      botIsMember: isIm || (channel.botIsMember ?? true),
      messages: [],
    });
  }

  /** The DM channel between a user and the bot (`D` + the user id without its `U`). */
  directChannelId(user: string): string {
    const id = `D${user.replace(/^U/, '')}`;
    if (!this.channels.has(id))
      this.channels.set(id, {
        id,
        name: user,
        isIm: true,
        isPrivate: false,
        botIsMember: true,
        user,
        messages: [],
      });
    return id;
  }

  /** Put the bot in a channel or take it out (`/invite @shipmate`, `/remove`). */
  setBotMembership(channel: string, member: boolean): void {
    const state = this.requireChannel(channel);
    if (!state.isIm) state.botIsMember = member;
  }

  isBotMember(channel: string): boolean {
    return this.channels.get(channel)?.botIsMember ?? false;
  }

  /** The bot token's OAuth scopes (what `x-oauth-scopes` reports and methods check). */
  get scopes(): string[] {
    return [...this.grantedScopes];
  }

  setScopes(scopes: readonly string[]): void {
    this.grantedScopes = [...scopes];
  }

  // ── failure injection and call records ───────────────────────────────────

  injectRateLimit(method: string, options: { times?: number; retryAfterSeconds?: number } = {}): void {
    this.rateLimits.set(method, {
      remaining: options.times ?? 1,
      retryAfterSeconds: options.retryAfterSeconds ?? 1,
    });
  }

  injectError(method: string, error: string, times = 1): void {
    this.injectedErrors.set(method, { remaining: times, error });
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Forget recorded calls and response_url posts; channel state stays. */
  reset(): void {
    this.calls.length = 0;
    this.responseUrlPosts.length = 0;
  }

  // ── read helpers ─────────────────────────────────────────────────────────

  /** Every message in the channel, replies included, oldest first. */
  messagesIn(channel: string): EmulatedMessage[] {
    return structuredClone(this.channels.get(channel)?.messages ?? []);
  }

  message(channel: string, ts: string): EmulatedMessage | undefined {
    const found = this.findMessage(channel, ts);
    return found && structuredClone(found);
  }

  /** Replies in a thread, oldest first, without the parent. */
  threadReplies(channel: string, threadTs: string): EmulatedMessage[] {
    return this.messagesIn(channel).filter(
      (message) => message.thread_ts === threadTs && message.ts !== threadTs,
    );
  }

  botMessagesInThread(channel: string, threadTs: string): EmulatedMessage[] {
    return this.messagesIn(channel).filter(
      (message) =>
        (message.ts === threadTs || message.thread_ts === threadTs) && message.bot_id === this.botId,
    );
  }

  reactionsOn(channel: string, ts: string): Reaction[] {
    return structuredClone(this.findMessage(channel, ts)?.reactions ?? []);
  }

  assistantStatus(channel: string, threadTs: string): string | undefined {
    return this.statuses.get(`${channel}:${threadTs}`);
  }

  fileContent(fileId: string): Buffer | undefined {
    return this.files.get(fileId)?.content;
  }

  ephemeralMessages(channel?: string): EphemeralMessage[] {
    return structuredClone(
      this.ephemerals.filter((message) => channel === undefined || message.channel === channel),
    );
  }

  openedViews(): Json[] {
    return structuredClone([...this.views.values()]);
  }

  /** A trigger id the app may exchange once with `views.open` within 3 s (clicks issue their own). */
  issueTriggerId(): string {
    const id = `${this.nextNumber()}.${this.teamId.replace(/\D/g, '') || '1'}.${randomBytes(8).toString('hex')}`;
    this.triggers.set(id, { issuedAt: this.clock(), used: false });
    return id;
  }

  /** A message as the Web API returns it: `markdown` blocks replaced by what Slack stores for them. */
  storedMessage(channel: string, ts: string): EmulatedMessage | undefined {
    const found = this.findMessage(channel, ts);
    return found && this.asStored(found);
  }

  // ── streams and agent sessions (agent-surface.ts) ────────────────────────

  /** A streamed message: state, each call's chunks, the text, the task cards and the plan. */
  streamOf(channel: string, ts: string): StreamView | undefined {
    return this.agent.streamOf(channel, ts);
  }

  streamsIn(channel: string): StreamView[] {
    return this.agent.streamsIn(channel);
  }

  /** The agent session of a thread: status, title, every status it was set to. */
  agentSession(channel: string, threadTs: string): AgentSessionView | undefined {
    return this.agent.sessions.get(channel, threadTs);
  }

  agentSessionsIn(channel: string): AgentSessionView[] {
    return this.agent.sessions.inChannel(channel);
  }

  setAgentRefusal(refusal: AgentRefusal | undefined): void {
    this.agent.refusal = refusal;
  }

  setAgentSessionStoppedSubscription(subscribed: boolean): void {
    this.agent.subscribesToAgentSessionStopped = subscribed;
  }

  /**
   * A person clicks the native Stop on a thread's agent session: refused (throws) unless the
   * session is `processing` and the app subscribes; stops the app's in-progress streams in the
   * thread and delivers `agent_session_stopped` like any event (signed HTTP or Socket Mode).
   */
  async clickStop(
    channel: string,
    threadTs: string,
    user: string,
  ): Promise<{ streamingMessageTs: string[] }> {
    return this.agent.clickStop(channel, threadTs, user);
  }

  // ── events to the app ────────────────────────────────────────────────────

  /** Wrap an event in an `event_callback` envelope and deliver it, signed. */
  async deliverEvent(event: Json, options: DeliveryOptions = {}): Promise<DeliveryResult> {
    const body: Json = {
      token: this.verificationToken,
      team_id: this.teamId,
      api_app_id: this.apiAppId,
      event,
      type: 'event_callback',
      event_id: options.eventId ?? `Ev${String(this.nextNumber()).padStart(9, '0')}`,
      event_time: Math.floor(this.clock() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: this.teamId,
          user_id: this.botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
    };
    return this.deliver({ kind: 'events_api', body, options });
  }

  /** Deliver an interactive payload (`block_actions`, `view_submission`, …), signed. */
  async deliverInteraction(payload: Json, options: DeliveryOptions = {}): Promise<DeliveryResult> {
    return this.deliver({ kind: 'interactive', payload, options });
  }

  /** A user mentions the bot: records the message, then sends `app_mention` and `message` like Slack. */
  async mention(input: {
    user: string;
    channel?: string;
    text: string;
    threadTs?: string;
    onlyAppMention?: boolean;
  }): Promise<UserMessageResult> {
    const mentionTag = `<@${this.botUserId}>`;
    const text = input.text.includes(mentionTag) ? input.text : `${mentionTag} ${input.text}`;
    const channel = input.channel ?? this.defaultChannel;
    const message = this.recordUserMessage({ ...input, channel, text });
    // "If your app is mentioned but not part of a conversation (and not invited to join), you
    // won't receive an event." (https://docs.slack.dev/reference/events/app_mention)
    if (!this.isBotMember(channel)) return { ts: message.ts, deliveries: [] };
    const messageEvent = this.messageEvent(channel, message, 'channel');
    const deliveries = [
      await this.deliverEvent({ ...messageEvent, type: 'app_mention', channel_type: undefined }),
    ];
    if (!input.onlyAppMention) deliveries.push(await this.deliverEvent(messageEvent));
    return { ts: message.ts, deliveries };
  }

  /**
   * Slack delivering the `app_mention` of message `ts` again, as it does when the app did not
   * ack it in time, with the retry headers (HTTP) or envelope fields (Socket Mode) it sets
   * (https://docs.slack.dev/apis/events-api/#retries).
   */
  redeliverMention(
    ts: string,
    retry: { retryNum: number; retryReason: string },
    channel = this.defaultChannel,
  ): Promise<DeliveryResult> {
    const message = this.findMessage(channel, ts);
    if (!message) throw new Error(`no message ${ts} in ${channel} to deliver again`);
    const event = this.messageEvent(channel, message, 'channel');
    return this.deliverEvent({ ...event, type: 'app_mention', channel_type: undefined }, retry);
  }

  /** A user posts in a channel or thread without mentioning the bot. */
  async postMessage(input: {
    user: string;
    channel?: string;
    text: string;
    threadTs?: string;
    subtype?: string;
    botId?: string;
  }): Promise<UserMessageResult> {
    const channel = input.channel ?? this.defaultChannel;
    const message = this.recordUserMessage({ ...input, channel });
    // message.channels / message.groups need channels:history / groups:history, which read only
    // channels "your Slack app has been added to" (https://docs.slack.dev/reference/scopes/channels.history).
    if (!this.isBotMember(channel)) return { ts: message.ts, deliveries: [] };
    const state = this.channels.get(channel);
    const channelType = state?.isIm ? 'im' : state?.isPrivate ? 'group' : 'channel';
    const deliveries = [await this.deliverEvent(this.messageEvent(channel, message, channelType))];
    return { ts: message.ts, deliveries };
  }

  /**
   * A user shares files (with optional text) in a channel or thread: a `message` event with
   * `subtype: 'file_share'` and the file objects (https://docs.slack.dev/reference/events/message/file_share),
   * and `app_mention` with the same files when the text mentions the bot.
   */
  async shareUserFiles(input: ShareFilesInput): Promise<UserMessageResult & { files: SlackFileObject[] }> {
    const channel = input.channel ?? this.defaultChannel;
    const files = input.files.map((file) => this.sharedFiles.add(file, input.user));
    const text = input.text ?? '';
    const message = this.recordUserMessage({ ...input, channel, text, subtype: 'file_share' });
    message.files = structuredClone(files);
    if (!this.isBotMember(channel)) return { ts: message.ts, deliveries: [], files };
    const state = this.channels.get(channel);
    const kind = state?.isIm ? 'im' : state?.isPrivate ? 'group' : 'channel';
    const event = { ...this.messageEvent(channel, message, kind), upload: false, display_as_bot: false };
    const deliveries: DeliveryResult[] = [];
    if (text.includes(`<@${this.botUserId}>`)) {
      const mention = { ...event, type: 'app_mention', subtype: undefined, channel_type: undefined };
      deliveries.push(await this.deliverEvent(mention));
    }
    deliveries.push(await this.deliverEvent(event));
    return { ts: message.ts, deliveries, files };
  }

  /** A user writes to the bot in its DM. */
  async directMessage(input: { user: string; text: string; threadTs?: string }): Promise<UserMessageResult> {
    const channel = this.directChannelId(input.user);
    const message = this.recordUserMessage({ ...input, channel });
    const deliveries = [await this.deliverEvent(this.messageEvent(channel, message, 'im'))];
    return { ts: message.ts, deliveries };
  }

  /** A user clicks a button on a stored message: a signed `block_actions` payload. */
  async clickButton(
    input: {
      user: string;
      channel: string;
      messageTs: string;
      actionId: string;
      value?: string;
      threadTs?: string;
    },
    options: DeliveryOptions = {},
  ): Promise<DeliveryResult & { triggerId: string; responseUrl: string }> {
    const message = this.findMessage(input.channel, input.messageTs);
    if (!message) throw new Error(`clickButton: no message ${input.messageTs} in ${input.channel}`);
    const button = findBlockElement(message.blocks ?? [], input.actionId);
    const threadTs = input.threadTs ?? message.thread_ts;
    const triggerId = this.issueTriggerId();
    const responseUrl = this.createResponseUrl({
      channel: input.channel,
      messageTs: message.ts,
      user: input.user,
      threadTs,
    });
    const payload: Json = {
      type: 'block_actions',
      user: this.userReference(input.user),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: input.channel,
        is_ephemeral: false,
        thread_ts: threadTs,
      },
      trigger_id: triggerId,
      team: { id: this.teamId, domain: 'emulated' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: input.channel, name: this.channels.get(input.channel)?.name ?? input.channel },
      message: this.asStored(message),
      state: { values: {} },
      response_url: responseUrl,
      actions: [
        {
          action_id: input.actionId,
          block_id: button.blockId,
          value: input.value ?? button.value,
          type: 'button',
          text: button.text,
          action_ts: this.nextTs(),
        },
      ],
    };
    const result = await this.deliverInteraction(payload, options);
    return { ...result, triggerId, responseUrl };
  }

  /** A user submits a modal: a signed `view_submission` payload. `view` is an opened view or its id. */
  async submitView(
    input: { user: string; view: string | Json; values: Record<string, Record<string, Json>> },
    options: DeliveryOptions = {},
  ): Promise<DeliveryResult> {
    const view = typeof input.view === 'string' ? this.views.get(input.view) : input.view;
    if (!view) throw new Error(`submitView: no opened view ${String(input.view)}`);
    const payload: Json = {
      type: 'view_submission',
      team: { id: this.teamId, domain: 'emulated' },
      user: this.userReference(input.user),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      trigger_id: this.issueTriggerId(),
      view: { ...view, state: { values: input.values } },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const result = await this.deliverInteraction(payload, options);
    if (result.status === 200 && !result.body.includes('"errors"') && typeof view.id === 'string') {
      this.views.delete(view.id);
    }
    return result;
  }

  private async deliver(delivery: Delivery): Promise<DeliveryResult> {
    if (this.transport) return this.transport.deliver(delivery);
    return this.deliverOverHttp(delivery);
  }

  private async deliverOverHttp(delivery: Delivery): Promise<DeliveryResult> {
    const url = this.eventsUrl;
    if (!url)
      throw new Error('SlackEmulator has no eventsUrl; pass one to the constructor or call setEventsUrl()');
    const { options } = delivery;
    const encoded =
      delivery.kind === 'events_api'
        ? { body: JSON.stringify(delivery.body), type: 'application/json' }
        : {
            body: `payload=${encodeURIComponent(JSON.stringify(delivery.payload))}`,
            type: 'application/x-www-form-urlencoded',
          };
    const body = options.rawBody ?? encoded.body;
    const headers: Record<string, string> = {
      'content-type': encoded.type,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...signSlackRequest({
        signingSecret: options.signingSecret ?? this.signingSecret,
        body,
        timestamp: options.timestamp,
      }),
    };
    if (options.retryNum !== undefined) {
      headers['X-Slack-Retry-Num'] = String(options.retryNum);
      headers['X-Slack-Retry-Reason'] = options.retryReason ?? 'http_timeout';
    }
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers, body });
    const text = await response.text();
    return { status: response.status, body: text, elapsedMs: performance.now() - started };
  }

  private recordUserMessage(input: {
    user: string;
    channel: string;
    text: string;
    threadTs?: string;
    subtype?: string;
    botId?: string;
  }): EmulatedMessage {
    const message: EmulatedMessage = {
      type: 'message',
      ts: this.nextTs(),
      text: input.text,
      user: input.user,
      team: this.teamId,
      ...(input.botId ? { bot_id: input.botId } : { client_msg_id: randomUUID() }),
      ...(input.subtype ? { subtype: input.subtype } : {}),
    };
    this.store(this.requireChannel(input.channel), message, input.threadTs);
    return message;
  }

  private messageEvent(
    channel: string,
    message: EmulatedMessage,
    channelType: 'channel' | 'group' | 'im',
  ): Json {
    const { reply_count, reply_users, latest_reply, reactions, ...fields } = message;
    return { ...structuredClone(fields), channel, event_ts: message.ts, channel_type: channelType };
  }

  private userReference(user: string): Json {
    const name = this.users.get(user)?.name ?? user;
    return { id: user, username: name, name, team_id: this.teamId };
  }

  private createResponseUrl(target: ResponseUrlTarget): string {
    const id = `${this.nextNumber()}-${randomBytes(6).toString('hex')}`;
    this.responseTargets.set(id, target);
    return `${this.baseUrl}/response/${id}`;
  }

  // ── HTTP routing ─────────────────────────────────────────────────────────

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request);
    if (path.startsWith('/api/')) return this.handleApiRequest(request, response, path.slice('/api/'.length));
    if (request.method === 'GET' && this.sharedFiles.serves(path))
      return this.sharedFiles.serve(request, response, path);
    if (request.method === 'POST' && path.startsWith('/upload/')) {
      return this.handleUpload(request, response, path.slice('/upload/'.length));
    }
    if (request.method === 'POST' && path.startsWith('/response/')) {
      return this.handleResponseUrl(request, response, path.slice('/response/'.length));
    }
    sendJson(response, 404, { ok: false, error: 'not_found' });
  }

  private async handleApiRequest(
    request: IncomingMessage,
    response: ServerResponse,
    method: string,
  ): Promise<void> {
    let args: Args;
    try {
      args = await readArgs(request);
    } catch (error) {
      if (error instanceof SlackApiError) return sendJson(response, 200, { ok: false, error: error.code });
      throw error;
    }
    const token = bearerToken(request.headers.authorization) ?? stringArg(args, 'token');
    delete args.token;
    this.calls.push({ method, args, at: this.clock() });
    const rateLimit = this.rateLimits.get(method);
    if (rateLimit && rateLimit.remaining > 0) {
      rateLimit.remaining -= 1;
      response.setHeader('Retry-After', String(rateLimit.retryAfterSeconds));
      return sendJson(response, 429, { ok: false, error: 'ratelimited' });
    }
    if (token === this.botToken) {
      // Slack sends the token's scopes with every Web API answer (@slack/web-api reads them into
      // response_metadata.scopes; https://docs.slack.dev/tools/node-slack-sdk/reference/web-api/interfaces/WebAPICallResult)
      // and the scope the method accepts (response_metadata.acceptedScopes).
      response.setHeader('x-oauth-scopes', this.grantedScopes.join(','));
      const accepted = this.neededScope(method, args);
      if (accepted) response.setHeader('x-accepted-oauth-scopes', accepted);
    }
    sendJson(response, 200, await this.answer(method, args, token));
  }

  private async answer(method: string, args: Args, token: string | undefined): Promise<Json> {
    const definition = this.methods.get(method);
    const refused = definition?.custom ? undefined : this.agent.refusalFor(method);
    // "unknown_method: This method is currently not available." (the methods' error tables)
    if (!definition || refused === 'unknown_method') return { ok: false, error: 'unknown_method' };
    const authError = this.checkToken(token, definition.token ?? this.botToken);
    if (authError) return { ok: false, error: authError };
    const needed = definition.token === undefined ? this.neededScope(method, args) : undefined;
    if (needed && !this.grantedScopes.includes(needed)) {
      // "missing_scope: The token used is not granted the specific scope permissions required to
      // complete this request", with the scope needed and those provided (comma-separated).
      return { ok: false, error: 'missing_scope', needed, provided: this.grantedScopes.join(',') };
    }
    if (refused) return { ok: false, error: refused };
    const injected = this.injectedErrors.get(method);
    if (injected && injected.remaining > 0) {
      injected.remaining -= 1;
      return { ok: false, error: injected.error };
    }
    try {
      return { ok: true, ...(await definition.handler(args, { token: token ?? '' })) };
    } catch (error) {
      if (error instanceof SlackApiError || error instanceof ApiRefusal)
        return { ok: false, error: error.code, ...error.extra };
      throw error;
    }
  }

  /** The bot scope a built-in method needs for these arguments (methods added by tests need none). */
  private neededScope(method: string, args: Args): string | undefined {
    if (this.methods.get(method)?.custom) return undefined;
    const rule = METHOD_SCOPES[method];
    if (typeof rule !== 'function') return rule;
    const id = stringArg(args, 'channel') ?? stringArg(args, 'channel_id');
    const channel = id ? this.channels.get(id) : undefined;
    return rule(channel ? kindOf(channel) : undefined);
  }

  private checkToken(token: string | undefined, expected: string): string | undefined {
    if (!token) return 'not_authed';
    if (token === expected) return undefined;
    const known = [this.botToken, ...[...this.methods.values()].map((definition) => definition.token)];
    return known.includes(token) ? 'not_allowed_token_type' : 'invalid_auth';
  }

  private async handleUpload(
    request: IncomingMessage,
    response: ServerResponse,
    fileId: string,
  ): Promise<void> {
    const file = this.files.get(fileId);
    if (!file) return sendText(response, 404, 'file not found');
    const raw = await readBody(request);
    const contentType = request.headers['content-type'] ?? '';
    file.content = contentType.startsWith('multipart/form-data')
      ? await firstFilePart(raw, contentType)
      : raw;
    sendText(response, 200, `OK - ${file.content.length}`);
  }

  private async handleResponseUrl(
    request: IncomingMessage,
    response: ServerResponse,
    id: string,
  ): Promise<void> {
    const target = this.responseTargets.get(id);
    if (!target) return sendJson(response, 404, { ok: false, error: 'expired_url' });
    const body = parseJsonObject((await readBody(request)).toString('utf8'));
    if (!body) return sendJson(response, 400, { ok: false, error: 'invalid_payload' });
    this.responseUrlPosts.push({ url: `${this.baseUrl}/response/${id}`, body });
    try {
      this.applyResponse(target, body);
    } catch (error) {
      if (error instanceof SlackApiError)
        return sendJson(response, 400, { ok: false, error: error.code, ...error.extra });
      throw error;
    }
    sendJson(response, 200, { ok: true });
  }

  private applyResponse(target: ResponseUrlTarget, body: Json): void {
    const message = this.findMessage(target.channel, target.messageTs);
    if (body.delete_original === true && message) {
      this.removeMessage(target.channel, message);
      return;
    }
    const blocks = body.blocks === undefined ? undefined : parseBlocks(body.blocks);
    const text = typeof body.text === 'string' ? body.text : '';
    if (body.replace_original === true && message) {
      Object.assign(message, { text, blocks, edited: { user: this.botUserId, ts: this.nextTs() } });
      this.emit({ type: 'message-updated', channel: target.channel, message: structuredClone(message) });
      return;
    }
    if (body.response_type === 'in_channel') {
      this.postBotMessage(target.channel, { text, blocks }, target.threadTs);
      return;
    }
    this.recordEphemeral({
      channel: target.channel,
      user: target.user,
      text,
      blocks,
      thread_ts: target.threadTs,
    });
  }

  // ── Web API methods ──────────────────────────────────────────────────────

  private registerBuiltInMethods(): void {
    const methods: Record<string, MethodHandler> = {
      'auth.test': () => this.authTest(),
      'chat.postMessage': (args) => this.chatPostMessage(args),
      'chat.update': (args) => this.chatUpdate(args),
      'chat.delete': (args) => this.chatDelete(args),
      'chat.postEphemeral': (args) => this.chatPostEphemeral(args),
      'chat.getPermalink': (args) => this.chatGetPermalink(args),
      'chat.startStream': (args) => this.agent.startStream(args),
      'chat.appendStream': (args) => this.agent.appendStream(args),
      'chat.stopStream': (args) => this.agent.stopStream(args),
      'agents.sessions.setStatus': (args) => this.agent.setStatus(args),
      'reactions.add': (args) => this.reactionsAdd(args),
      'reactions.remove': (args) => this.reactionsRemove(args),
      'conversations.replies': (args) => this.conversationsReplies(args),
      'conversations.history': (args) => this.conversationsHistory(args),
      'conversations.info': (args) => ({
        channel: this.channelInfo(this.requireChannelArg(args, 'channel')),
      }),
      'conversations.open': (args) => this.conversationsOpen(args),
      'conversations.join': (args) => this.conversationsJoin(args),
      'users.info': (args) => ({ user: this.userInfo(requiredString(args, 'user', 'user_not_found')) }),
      'files.getUploadURLExternal': (args) => this.filesGetUploadUrlExternal(args),
      'files.completeUploadExternal': (args) => this.filesCompleteUploadExternal(args),
      'files.info': (args) => this.sharedFiles.info(args) ?? fail('file_not_found'),
      'assistant.threads.setStatus': (args) => this.assistantThreadsSetStatus(args),
      'views.open': (args) => this.viewsOpen(args),
      'views.update': (args) => this.viewsUpdate(args),
    };
    for (const [method, handler] of Object.entries(methods)) this.methods.set(method, { handler });
  }

  private authTest(): Json {
    return {
      url: `${PERMALINK_BASE}/`,
      team: 'Emulated Team',
      user: this.users.get(this.botUserId)?.name ?? 'shipmate',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    };
  }

  private chatPostMessage(args: Args): Json {
    const channel = this.requirePostable(this.requireChannelArg(args, 'channel'));
    const content = readContent(args);
    const message = this.postBotMessage(channel.id, content, stringArg(args, 'thread_ts'), args.metadata);
    return { channel: channel.id, ts: message.ts, message: this.asStored(message) };
  }

  private chatUpdate(args: Args): Json {
    const channel = this.requireChannelArg(args, 'channel');
    const message = this.requireBotMessage(channel, args, 'ts', 'cant_update_message');
    const content = readContent(args);
    Object.assign(message, {
      text: content.text ?? content.markdownText ?? '',
      markdown_text: content.markdownText,
      blocks: content.blocks,
      edited: { user: this.botUserId, ts: this.nextTs() },
    });
    this.emit({ type: 'message-updated', channel: channel.id, message: structuredClone(message) });
    return { channel: channel.id, ts: message.ts, text: message.text, message: this.asStored(message) };
  }

  private chatDelete(args: Args): Json {
    const channel = this.requireChannelArg(args, 'channel');
    const message = this.requireBotMessage(channel, args, 'ts', 'cant_delete_message');
    this.removeMessage(channel.id, message);
    return { channel: channel.id, ts: message.ts };
  }

  private chatPostEphemeral(args: Args): Json {
    const channel = this.requirePostable(this.requireChannelArg(args, 'channel'));
    const user = requiredString(args, 'user', 'user_not_found');
    if (!this.users.has(user)) throw new SlackApiError('user_not_found');
    const content = readContent(args);
    const ephemeral = this.recordEphemeral({
      channel: channel.id,
      user,
      text: content.text ?? content.markdownText ?? '',
      blocks: content.blocks,
      thread_ts: stringArg(args, 'thread_ts'),
    });
    return { message_ts: ephemeral.message_ts };
  }

  private chatGetPermalink(args: Args): Json {
    const channel = this.requireChannelArg(args, 'channel');
    const message = this.findMessage(channel.id, requiredString(args, 'message_ts', 'message_not_found'));
    if (!message) throw new SlackApiError('message_not_found');
    const base = `${PERMALINK_BASE}/archives/${channel.id}/p${message.ts.replace('.', '')}`;
    const isReply = message.thread_ts !== undefined && message.thread_ts !== message.ts;
    const permalink = isReply ? `${base}?thread_ts=${message.thread_ts}&cid=${channel.id}` : base;
    return { channel: channel.id, permalink };
  }

  private reactionsAdd(args: Args): Json {
    const { channel, message, name } = this.requireReactionTarget(args);
    const reactions = message.reactions ?? [];
    const existing = reactions.find((reaction) => reaction.name === name);
    if (existing?.users.includes(this.botUserId)) throw new SlackApiError('already_reacted');
    if (existing) {
      existing.users.push(this.botUserId);
      existing.count += 1;
    } else {
      reactions.push({ name, users: [this.botUserId], count: 1 });
    }
    message.reactions = reactions;
    this.emit({ type: 'reaction-changed', channel, ts: message.ts, reactions: structuredClone(reactions) });
    return {};
  }

  private reactionsRemove(args: Args): Json {
    const { channel, message, name } = this.requireReactionTarget(args);
    const reactions = message.reactions ?? [];
    const existing = reactions.find((reaction) => reaction.name === name);
    if (!existing?.users.includes(this.botUserId)) throw new SlackApiError('no_reaction');
    existing.users = existing.users.filter((user) => user !== this.botUserId);
    existing.count -= 1;
    message.reactions = reactions.filter((reaction) => reaction.count > 0);
    if (message.reactions.length === 0) delete message.reactions;
    this.emit({
      type: 'reaction-changed',
      channel,
      ts: message.ts,
      reactions: structuredClone(message.reactions ?? []),
    });
    return {};
  }

  private conversationsReplies(args: Args): Json {
    const channel = this.requireReadable(this.requireChannelArg(args, 'channel'));
    const anchor = this.findMessage(channel.id, requiredString(args, 'ts', 'thread_not_found'));
    if (!anchor) throw new SlackApiError('thread_not_found');
    const rootTs = anchor.thread_ts ?? anchor.ts;
    // oldest/latest/inclusive bound the replies (https://docs.slack.dev/reference/methods/conversations.replies);
    // the parent message still comes first, as Slack returns it.
    const inclusive = args.inclusive === true || args.inclusive === 'true' || args.inclusive === '1';
    const oldest = Number(stringArg(args, 'oldest') ?? '0');
    const latest = Number(stringArg(args, 'latest') ?? 'Infinity');
    const inRange = (ts: number) => (inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest);
    const thread = channel.messages.filter(
      (message) => message.ts === rootTs || (message.thread_ts === rootTs && inRange(Number(message.ts))),
    );
    return paginate(
      thread.map((message) => this.asStored(message)),
      args,
      1000,
      'messages',
    );
  }

  private conversationsHistory(args: Args): Json {
    const channel = this.requireReadable(this.requireChannelArg(args, 'channel'));
    const inclusive = args.inclusive === true || args.inclusive === 'true' || args.inclusive === '1';
    const oldest = Number(stringArg(args, 'oldest') ?? '0');
    const latest = Number(stringArg(args, 'latest') ?? 'Infinity');
    const inRange = (ts: number) => (inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest);
    const topLevel = channel.messages
      .filter((message) => message.thread_ts === undefined || message.thread_ts === message.ts)
      .filter((message) => inRange(Number(message.ts)))
      .reverse()
      .map((message) => this.asStored(message));
    return paginate(topLevel, args, 100, 'messages');
  }

  private conversationsOpen(args: Args): Json {
    const users = requiredString(args, 'users', 'users_list_not_supplied').split(',');
    if (users.length !== 1) throw new SlackApiError('not_implemented');
    const user = users[0]!.trim();
    if (!this.users.has(user)) throw new SlackApiError('user_not_found');
    return { channel: { id: this.directChannelId(user) } };
  }

  /**
   * https://docs.slack.dev/reference/methods/conversations.join: "joins a user to an existing
   * conversation"; answers the conversation, warning `already_in_channel` when the caller is in it,
   * and `method_not_supported_for_channel_type` for a kind it cannot join (a bot is invited to
   * private channels and DMs). A private channel the bot is not in stays invisible (channel_not_found).
   */
  private conversationsJoin(args: Args): Json {
    const channel = this.requireChannelArg(args, 'channel');
    if (channel.isIm || channel.isPrivate) throw new SlackApiError('method_not_supported_for_channel_type');
    const channelInfo = { ...this.channelInfo(channel), is_member: true };
    if (channel.botIsMember) {
      return {
        channel: channelInfo,
        warning: 'already_in_channel',
        response_metadata: { warnings: ['already_in_channel'] },
      };
    }
    channel.botIsMember = true;
    // Slack records the join in the channel: a `channel_join` message (https://docs.slack.dev/reference/events/message/channel_join).
    const joined: EmulatedMessage = {
      type: 'message',
      subtype: 'channel_join',
      ts: this.nextTs(),
      user: this.botUserId,
      text: `<@${this.botUserId}> has joined the channel`,
      team: this.teamId,
    };
    this.store(channel, joined);
    return { channel: channelInfo };
  }

  private filesGetUploadUrlExternal(args: Args): Json {
    const name = requiredString(args, 'filename', 'invalid_arguments');
    const length = Number(requiredString(args, 'length', 'invalid_arguments'));
    if (!Number.isInteger(length) || length < 0) throw new SlackApiError('invalid_arguments');
    const id = `F${String(this.nextNumber()).padStart(9, '0')}`;
    this.files.set(id, { id, name, title: name, length, shared: false });
    return { upload_url: `${this.baseUrl}/upload/${id}`, file_id: id };
  }

  private filesCompleteUploadExternal(args: Args): Json {
    const requested = args.files;
    if (!Array.isArray(requested) || requested.length === 0) throw new SlackApiError('invalid_arguments');
    const files = requested.map((entry: unknown) => {
      const id = isRecord(entry) && typeof entry.id === 'string' ? entry.id : '';
      const file = this.files.get(id);
      // A file whose bytes never arrived is unknown to Slack as well.
      if (!file?.content) throw new SlackApiError('file_not_found');
      if (isRecord(entry) && typeof entry.title === 'string') file.title = entry.title;
      return file;
    });
    const channelId = stringArg(args, 'channel_id') ?? stringArg(args, 'channels');
    if (channelId)
      this.shareFiles(this.requirePostable(this.requireChannel(channelId, true)).id, files, args);
    return { files: files.map((file) => this.fileInfo(file)) };
  }

  private assistantThreadsSetStatus(args: Args): Json {
    const channel = this.requireChannelArg(args, 'channel_id');
    const threadTs = requiredString(args, 'thread_ts', 'invalid_arguments');
    const status = stringArg(args, 'status') ?? '';
    const key = `${channel.id}:${threadTs}`;
    if (status) this.statuses.set(key, status);
    else this.statuses.delete(key);
    this.emit({ type: 'status-set', channel: channel.id, threadTs, status });
    return {};
  }

  private viewsOpen(args: Args): Json {
    const triggerId = requiredString(args, 'trigger_id', 'invalid_trigger_id');
    const trigger = this.triggers.get(triggerId);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    // https://docs.slack.dev/reference/methods/views.open errors: exchanged_trigger_id "The
    // trigger_id was already exchanged in a previous call", expired_trigger_id "The trigger_id is expired".
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id');
    if (this.clock() - trigger.issuedAt > this.triggerLifetimeMs)
      throw new SlackApiError('expired_trigger_id');
    const input = args.view;
    if (!isRecord(input) || typeof input.type !== 'string') throw new SlackApiError('invalid_arguments');
    checkView(input);
    trigger.used = true;
    const id = `V${String(this.nextNumber()).padStart(9, '0')}`;
    const view: Json = {
      id,
      team_id: this.teamId,
      private_metadata: '',
      callback_id: '',
      state: { values: {} },
      hash: randomBytes(8).toString('hex'),
      clear_on_close: false,
      notify_on_close: false,
      ...input,
      blocks: structuredClone(input.blocks ?? []),
      root_view_id: id,
      app_id: this.apiAppId,
      bot_id: this.botId,
    };
    this.views.set(id, view);
    this.emit({ type: 'view-opened', view: structuredClone(view) });
    return { view: structuredClone(view) };
  }

  private viewsUpdate(args: Args): Json {
    const id = requiredString(args, 'view_id', 'not_found');
    const existing = this.views.get(id);
    if (!existing) throw new SlackApiError('not_found');
    const input = args.view;
    if (!isRecord(input)) throw new SlackApiError('invalid_arguments');
    // "hash … to protect against possible race conditions": a stale hash answers hash_conflict
    // (https://docs.slack.dev/reference/methods/views.update).
    const hash = stringArg(args, 'hash');
    if (hash !== undefined && hash !== existing.hash) throw new SlackApiError('hash_conflict');
    checkView({ ...input, type: input.type ?? existing.type });
    const view = {
      ...existing,
      ...input,
      blocks: structuredClone(input.blocks ?? []),
      hash: randomBytes(8).toString('hex'),
    };
    this.views.set(id, view);
    return { view: structuredClone(view) };
  }

  // ── state helpers ────────────────────────────────────────────────────────

  private createAgentSurface(options: SlackEmulatorOptions): AgentSurface {
    const asMessage = (message: SurfaceMessage) => message as EmulatedMessage;
    return new AgentSurface(
      {
        botId: this.botId,
        now: () => this.clock(),
        nextTs: () => this.nextTs(),
        scopes: () => this.grantedScopes,
        channel: (args, key) => this.requireChannelArg(args, key),
        requirePostable: (channel) => this.requirePostable(channel as ChannelState),
        userExists: (id) => this.users.has(id),
        findMessage: (channel, ts) => this.findMessage(channel, ts),
        postBotMessage: (channel, threadTs) => this.postBotMessage(channel, { text: '' }, threadTs),
        parseBlocks: (value) => parseBlocks(value),
        storedMessage: (message) => this.asStored(asMessage(message)),
        messageChanged: (channel, message) =>
          this.emit({ type: 'message-updated', channel, message: structuredClone(asMessage(message)) }),
        emit: (change) => this.emit(change),
        deliverEvent: (event) => this.deliverEvent(event),
      },
      {
        refusal: options.agentRefusal,
        subscribesToAgentSessionStopped: options.subscribesToAgentSessionStopped,
      },
    );
  }

  private postBotMessage(
    channel: string,
    content: MessageContent,
    threadTs?: string,
    metadata?: unknown,
  ): EmulatedMessage {
    const message: EmulatedMessage = {
      type: 'message',
      ts: this.nextTs(),
      text: content.text ?? content.markdownText ?? '',
      user: this.botUserId,
      bot_id: this.botId,
      app_id: this.apiAppId,
      team: this.teamId,
      ...(content.markdownText !== undefined ? { markdown_text: content.markdownText } : {}),
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    };
    this.store(this.requireChannel(channel), message, threadTs);
    return message;
  }

  /** Append to the channel, attaching to a thread (a reply's ts means its thread) like Slack. */
  private store(channel: ChannelState, message: EmulatedMessage, threadTs?: string): void {
    if (threadTs) {
      const parent = this.findMessage(channel.id, threadTs);
      const rootTs = parent?.thread_ts ?? threadTs;
      const root = parent?.thread_ts ? this.findMessage(channel.id, rootTs) : parent;
      message.thread_ts = rootTs;
      if (root) {
        if (root.user) message.parent_user_id = root.user;
        root.thread_ts = root.ts;
        root.reply_count = (root.reply_count ?? 0) + 1;
        root.reply_users = [...new Set([...(root.reply_users ?? []), message.user ?? message.bot_id ?? ''])];
        root.latest_reply = message.ts;
      }
    }
    channel.messages.push(message);
    this.emit({ type: 'message-posted', channel: channel.id, message: structuredClone(message) });
  }

  private removeMessage(channel: string, message: EmulatedMessage): void {
    const state = this.requireChannel(channel);
    state.messages = state.messages.filter((candidate) => candidate !== message);
    if (message.thread_ts && message.thread_ts !== message.ts) {
      const root = this.findMessage(channel, message.thread_ts);
      if (root?.reply_count) root.reply_count -= 1;
    }
    this.emit({ type: 'message-deleted', channel, ts: message.ts });
  }

  private shareFiles(channel: string, files: StoredFile[], args: Args): void {
    const initialComment = stringArg(args, 'initial_comment');
    const message = this.postBotMessage(
      channel,
      {
        text: initialComment ?? '',
        blocks: args.blocks === undefined ? undefined : parseBlocks(args.blocks),
      },
      stringArg(args, 'thread_ts'),
    );
    message.files = files.map((file) => ({ id: file.id, name: file.name, title: file.title }));
    for (const file of files) {
      file.shared = true;
      this.emit({ type: 'file-shared', channel, ts: message.ts, fileId: file.id });
    }
  }

  private recordEphemeral(input: Omit<EphemeralMessage, 'message_ts'>): EphemeralMessage {
    const ephemeral: EphemeralMessage = { ...input, message_ts: this.nextTs() };
    this.ephemerals.push(ephemeral);
    this.emit({ type: 'ephemeral-posted', message: structuredClone(ephemeral) });
    return ephemeral;
  }

  private fileInfo(file: StoredFile): Json {
    return {
      id: file.id,
      name: file.name,
      title: file.title,
      size: file.content?.length ?? file.length,
      mimetype: 'application/octet-stream',
      url_private: `${this.baseUrl}/files/${file.id}/${encodeURIComponent(file.name)}`,
      permalink: `${PERMALINK_BASE}/files/${this.botUserId}/${file.id}/${encodeURIComponent(file.name)}`,
    };
  }

  private channelInfo(channel: ChannelState): Json {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: !channel.isIm && !channel.isPrivate,
      is_group: channel.isPrivate,
      is_im: channel.isIm,
      is_private: channel.isPrivate,
      is_member: channel.botIsMember,
      is_archived: false,
      ...(channel.user ? { user: channel.user } : {}),
    };
  }

  private userInfo(id: string): Json {
    const user = this.users.get(id);
    if (!user) throw new SlackApiError('user_not_found');
    return {
      id: user.id,
      team_id: this.teamId,
      name: user.name,
      real_name: user.realName,
      is_bot: user.isBot ?? false,
      deleted: false,
      profile: { display_name: user.name, real_name: user.realName },
    };
  }

  private requireChannel(id: string, forApi = false): ChannelState {
    const channel = this.channels.get(id);
    if (channel) return channel;
    if (forApi) throw new SlackApiError('channel_not_found');
    throw new Error(`SlackEmulator: unknown channel ${id}; add it with the channels option or addChannel()`);
  }

  private requireChannelArg(args: Args, key: string): ChannelState {
    const channel = this.requireChannel(requiredString(args, key, 'channel_not_found'), true);
    // A bot sees a private channel only once it is invited: to its token the channel does not exist.
    if (channel.isPrivate && !channel.botIsMember) throw new SlackApiError('channel_not_found');
    return channel;
  }

  /**
   * Posting needs membership: chat.postMessage answers `not_in_channel` ("Cannot post user
   * messages to a channel they are not in", https://docs.slack.dev/reference/methods/chat.postMessage)
   * unless the token has chat:write.public ("Send messages to channels your Slack app isn't a
   * member of", https://docs.slack.dev/reference/scopes/chat:write.public).
   */
  private requirePostable(channel: ChannelState): ChannelState {
    if (!channel.botIsMember && !this.grantedScopes.includes('chat:write.public'))
      throw new SlackApiError('not_in_channel');
    return channel;
  }

  /** channels:history reads "public channels that your Slack app has been added to" (https://docs.slack.dev/reference/scopes/channels.history). */
  private requireReadable(channel: ChannelState): ChannelState {
    if (!channel.botIsMember) throw new SlackApiError('not_in_channel');
    return channel;
  }

  /** The message as the Web API returns it, its markdown translated once and kept (same block_ids on every read). */
  private asStored(message: EmulatedMessage): EmulatedMessage {
    const copy = structuredClone(message);
    const streamed = this.agent.storedBlocks(message);
    if (streamed) {
      // A streamed message is stored as its text, task cards, plan and blocks (streams.ts).
      copy.blocks = streamed;
      return copy;
    }
    const source = message.blocks ?? message.markdown_text;
    if (source === undefined) return copy;
    let stored = this.storedBlocks.get(message);
    if (!stored || stored.source !== source) {
      const blocks = message.blocks
        ? translateMarkdownBlocks(message.blocks)
        : translateMarkdown(message.markdown_text ?? '');
      stored = { source, blocks };
      this.storedBlocks.set(message, stored);
    }
    copy.blocks = structuredClone(stored.blocks);
    return copy;
  }

  private requireBotMessage(
    channel: ChannelState,
    args: Args,
    key: string,
    notOwnError: string,
  ): EmulatedMessage {
    const message = this.findMessage(channel.id, requiredString(args, key, 'message_not_found'));
    if (!message) throw new SlackApiError('message_not_found');
    if (message.bot_id !== this.botId) throw new SlackApiError(notOwnError);
    return message;
  }

  private requireReactionTarget(args: Args): { channel: string; message: EmulatedMessage; name: string } {
    const channel = this.requireChannelArg(args, 'channel');
    const message = this.findMessage(channel.id, requiredString(args, 'timestamp', 'message_not_found'));
    if (!message) throw new SlackApiError('message_not_found');
    const name = requiredString(args, 'name', 'invalid_name').replace(/^:|:$/g, '');
    return { channel: channel.id, message, name };
  }

  private findMessage(channel: string, ts: string): EmulatedMessage | undefined {
    return this.channels.get(channel)?.messages.find((message) => message.ts === ts);
  }

  private emit(change: EmulatorChange): void {
    this.emitter.emit('change', change);
  }

  /** Unique, increasing `ts` strings from the clock, like Slack's `1700000000.000100`. */
  private nextTs(): string {
    const micros = Math.max(Math.floor(this.clock() * 1000), this.lastTsMicros + 100);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  private nextNumber(): number {
    this.counter += 1;
    return this.counter;
  }
}

// ── module helpers ─────────────────────────────────────────────────────────

interface MessageContent {
  text?: string;
  markdownText?: string;
  blocks?: Block[];
}

/** text, markdown_text and blocks with Slack's rules on which may be combined and how long. */
function readContent(args: Args): MessageContent {
  const text = stringArg(args, 'text') || undefined;
  const markdownText = stringArg(args, 'markdown_text') || undefined;
  const blocks = args.blocks === undefined || args.blocks === '' ? undefined : parseBlocks(args.blocks);
  const hasBlocks = blocks !== undefined && blocks.length > 0;
  if (markdownText !== undefined && (text !== undefined || hasBlocks))
    throw new SlackApiError('markdown_text_conflict');
  if (text === undefined && markdownText === undefined && !hasBlocks) throw new SlackApiError('no_text');
  if ((markdownText?.length ?? 0) > MARKDOWN_LIMIT || (text?.length ?? 0) > TEXT_LIMIT) {
    throw new SlackApiError('msg_too_long');
  }
  return { text, markdownText, blocks };
}

/** A message's blocks, refused with Slack's error and messages past a Block Kit limit (block-kit-limits.ts). */
function parseBlocks(value: unknown): Block[] {
  const blocks = typeof value === 'string' ? parseJson(value) : value;
  if (!Array.isArray(blocks)) throw new SlackApiError('invalid_blocks');
  const problem = checkMessageBlocks(blocks);
  if (problem) {
    throw new SlackApiError(
      problem.error,
      problem.messages.length > 0 ? { response_metadata: { messages: problem.messages } } : {},
    );
  }
  return structuredClone(blocks) as Block[];
}

/** A modal for views.open / views.update, refused with `invalid_arguments` and Slack's messages. */
function checkView(view: Json): void {
  const problem = checkModalView(view);
  if (problem) throw new SlackApiError(problem.error, { response_metadata: { messages: problem.messages } });
}

function kindOf(channel: ChannelState): ChannelKind {
  return channel.isIm ? 'im' : channel.isPrivate ? 'private' : 'public';
}

function findBlockElement(
  blocks: Block[],
  actionId: string,
): { blockId: string; value?: string; text?: unknown } {
  for (const block of blocks) {
    const elements = Array.isArray(block.elements)
      ? block.elements
      : isRecord(block.accessory)
        ? [block.accessory]
        : [];
    for (const element of elements) {
      if (isRecord(element) && element.action_id === actionId) {
        const blockId = typeof block.block_id === 'string' ? block.block_id : 'emulated-block';
        return {
          blockId,
          value: typeof element.value === 'string' ? element.value : undefined,
          text: element.text,
        };
      }
    }
  }
  return { blockId: 'emulated-block' };
}

function paginate(items: EmulatedMessage[], args: Args, defaultLimit: number, key: string): Json {
  const limit = Math.max(1, Number(stringArg(args, 'limit') ?? defaultLimit) || defaultLimit);
  const offset = decodeCursor(stringArg(args, 'cursor'));
  const page = items.slice(offset, offset + limit);
  const hasMore = offset + limit < items.length;
  return {
    [key]: structuredClone(page),
    has_more: hasMore,
    response_metadata: {
      next_cursor: hasMore ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '',
    },
  };
}

function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!match) throw new SlackApiError('invalid_cursor');
  return Number(match[1]);
}

async function readArgs(request: IncomingMessage): Promise<Args> {
  const args: Args = Object.fromEntries(new URL(request.url ?? '/', 'http://127.0.0.1').searchParams);
  const raw = await readBody(request);
  const contentType = request.headers['content-type'] ?? '';
  const type = contentType.split(';')[0]?.trim().toLowerCase();
  if (raw.length > 0 && type === 'application/json') {
    const body = parseJsonObject(raw.toString('utf8'));
    if (!body) throw new SlackApiError('invalid_json');
    Object.assign(args, body);
  } else if (raw.length > 0 && type === 'multipart/form-data') {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    for (const [key, value] of form.entries()) {
      args[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer());
    }
  } else if (raw.length > 0) {
    Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
  }
  for (const key of JSON_FIELDS) {
    const value = args[key];
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) args[key] = parseJson(value) ?? value;
  }
  return args;
}

async function firstFilePart(raw: Buffer, contentType: string): Promise<Buffer> {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  for (const [, value] of form.entries()) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  }
  return Buffer.alloc(0);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: the caller treats undefined as "malformed" and answers with Slack's error code.
    return undefined;
  }
}

function parseJsonObject(text: string): Json | undefined {
  const value = parseJson(text);
  return isRecord(value) ? value : undefined;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArg(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function fail(code: string): never {
  throw new SlackApiError(code);
}

function requiredString(args: Args, key: string, error: string): string {
  const value = stringArg(args, key);
  if (!value) throw new SlackApiError(error);
  return value;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function pathOf(request: IncomingMessage): string {
  return new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(text);
}
