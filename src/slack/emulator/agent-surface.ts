import {
  AGENT_SESSION_STATUSES,
  type AgentRefusal,
  type AgentSessionStatus,
  AgentSessions,
  type AgentSessionView,
  refusalError,
  SESSION_TITLE_LIMIT,
} from './agent-sessions.js';
import type { TranslatedBlock } from './markdown-translation.js';
import {
  ApiRefusal,
  checkCallText,
  readStreamChunks,
  StreamRecord,
  type StreamView,
  type TaskDisplayMode,
} from './streams.js';

/**
 * The agent surface of the emulated Slack: the streaming methods, agents.sessions.setStatus,
 * the native Stop button and the `agent_session_stopped` event. The emulator hands it resolved
 * channels and messages through `AgentSurfaceHost`; errors are thrown as `ApiRefusal` and
 * answered `{ ok: false, error }` by the emulator.
 */

type Args = Record<string, unknown>;
type Json = Record<string, unknown>;

/** The fields of an emulated message this module reads and writes. */
export interface SurfaceMessage {
  ts: string;
  text: string;
  thread_ts?: string;
  bot_id?: string;
  markdown_text?: string;
  blocks?: Array<Json & { type: string }>;
  metadata?: unknown;
}

export interface SurfaceChannel {
  id: string;
  isIm: boolean;
  botIsMember: boolean;
}

export type AgentSurfaceChange =
  | { type: 'stream-updated'; channel: string; stream: StreamView }
  | { type: 'agent-session-changed'; channel: string; threadTs: string; session: AgentSessionView };

export interface AgentSurfaceHost {
  botId: string;
  now(): number;
  nextTs(): string;
  scopes(): readonly string[];
  /** The conversation a method names, refused like every other method (channel_not_found, …). */
  channel(args: Args, key: string): SurfaceChannel;
  /** Throws `not_in_channel` where chat.postMessage would. */
  requirePostable(channel: SurfaceChannel): void;
  userExists(id: string): boolean;
  findMessage(channel: string, ts: string): SurfaceMessage | undefined;
  postBotMessage(channel: string, threadTs: string): SurfaceMessage;
  /** chat.postMessage's blocks rules (≤50 blocks, Block Kit limits). */
  parseBlocks(value: unknown): Array<Json & { type: string }>;
  storedMessage(message: SurfaceMessage): unknown;
  messageChanged(channel: string, message: SurfaceMessage): void;
  emit(change: AgentSurfaceChange): void;
  deliverEvent(event: Json): Promise<unknown>;
}

export interface AgentSurfaceOptions {
  refusal?: AgentRefusal;
  /** Whether the app subscribes to `agent_session_stopped` (its manifest's bot_events); default true. */
  subscribesToAgentSessionStopped?: boolean;
}

export class AgentSurface {
  refusal: AgentRefusal | undefined;
  subscribesToAgentSessionStopped: boolean;
  readonly sessions = new AgentSessions();
  private readonly streams = new Map<string, StreamRecord>();
  private readonly byMessage = new WeakMap<SurfaceMessage, StreamRecord>();

  constructor(
    private readonly host: AgentSurfaceHost,
    options: AgentSurfaceOptions = {},
  ) {
    this.refusal = options.refusal;
    this.subscribesToAgentSessionStopped = options.subscribesToAgentSessionStopped ?? true;
  }

  refusalFor(method: string): string | undefined {
    return refusalError(this.refusal, method);
  }

  streamOf(channel: string, ts: string): StreamView | undefined {
    return this.streams.get(`${channel}:${ts}`)?.view();
  }

  streamsIn(channel: string): StreamView[] {
    return [...this.streams.values()].filter((stream) => stream.channel === channel).map((s) => s.view());
  }

  /** What conversations.replies returns for a streamed message's blocks; undefined for other messages. */
  storedBlocks(message: SurfaceMessage): TranslatedBlock[] | undefined {
    return this.byMessage.get(message)?.storedBlocks();
  }

  /**
   * https://docs.slack.dev/reference/methods/chat.startStream: `channel` and `thread_ts`
   * ("Streamed messages should always be replies to a user request"); `recipient_user_id` and
   * `recipient_team_id` "Required when streaming to channels" (missing_recipient_user_id,
   * missing_recipient_team_id); `task_display_mode` timeline (default) or plan.
   */
  startStream(args: Args): Json {
    const channel = this.host.channel(args, 'channel');
    this.host.requirePostable(channel);
    const threadTs = stringArg(args, 'thread_ts');
    if (!threadTs) throw new ApiRefusal('invalid_arguments');
    const recipient = this.recipient(args, channel);
    const mode = stringArg(args, 'task_display_mode') ?? 'timeline';
    if (mode !== 'timeline' && mode !== 'plan') throw new ApiRefusal('invalid_arguments');
    const chunks = readStreamChunks(args);
    checkCallText(chunks);
    const message = this.host.postBotMessage(channel.id, threadTs);
    const rootTs = message.thread_ts ?? threadTs;
    const record = new StreamRecord(channel.id, message.ts, rootTs, mode as TaskDisplayMode, recipient);
    this.streams.set(`${channel.id}:${message.ts}`, record);
    this.byMessage.set(message, record);
    record.apply('chat.startStream', args, chunks, this.host.now());
    this.sync(record, message);
    return { channel: channel.id, ts: message.ts };
  }

  /** https://docs.slack.dev/reference/methods/chat.appendStream: "Either markdown_text or chunks is required". */
  appendStream(args: Args): Json {
    const { record, message } = this.requireStreaming(args);
    const chunks = readStreamChunks(args);
    if (chunks.length === 0) throw new ApiRefusal('no_text');
    checkCallText(chunks);
    record.apply('chat.appendStream', args, chunks, this.host.now());
    this.sync(record, message);
    return { channel: record.channel, ts: message.ts };
  }

  /**
   * https://docs.slack.dev/reference/methods/chat.stopStream: optional `markdown_text` / `chunks`,
   * `blocks` "rendered at the bottom of the finalized message", `metadata`, and `session_status`
   * ("The session status to set after stopping the stream. Default: active").
   */
  stopStream(args: Args): Json {
    const { record, message } = this.requireStreaming(args);
    const chunks = readStreamChunks(args);
    checkCallText(chunks);
    const blocks = args.blocks === undefined || args.blocks === '' ? [] : this.host.parseBlocks(args.blocks);
    const sessionStatus = stringArg(args, 'session_status');
    if (sessionStatus !== undefined && !isSessionStatus(sessionStatus))
      throw new ApiRefusal('invalid_arguments');
    record.apply('chat.stopStream', args, chunks, this.host.now());
    record.finish('app', blocks);
    if (blocks.length > 0) message.blocks = structuredClone(blocks);
    if (args.metadata !== undefined) message.metadata = args.metadata;
    this.sync(record, message);
    if (this.sessions.get(record.channel, record.threadTs)) {
      this.changeSession({
        channel: record.channel,
        threadTs: record.threadTs,
        status: (sessionStatus ?? 'active') as AgentSessionStatus,
        by: 'chat.stopStream',
      });
    }
    return { channel: record.channel, ts: message.ts, message: this.host.storedMessage(message) };
  }

  /**
   * https://docs.slack.dev/reference/methods/agents.sessions.setStatus: `status` one of active,
   * processing, suspended, closed (invalid_status); `thread_ts` "Required for thread-based sessions
   * in regular channels and DMs" (thread_ts_required); the caller must be in the channel
   * (not_authorized); `title` max 200 and, like `initiator_user_id` (user_not_found), "Only used
   * when creating a new session". Answers `{ status, agent_status, title }`; while the app is not
   * subscribed to agent_session_stopped it also warns `missing_agent_session_stopped_event_subscription`
   * (https://docs.slack.dev/reference/events/agent_session_stopped).
   */
  setStatus(args: Args): Json {
    const status = stringArg(args, 'status');
    if (!status || !isSessionStatus(status)) throw new ApiRefusal('invalid_status');
    const channel = this.host.channel(args, 'channel_id');
    if (!channel.botIsMember) throw new ApiRefusal('not_authorized');
    const threadTs = stringArg(args, 'thread_ts');
    if (!threadTs) throw new ApiRefusal('thread_ts_required');
    this.requireAgentApp();
    const title = stringArg(args, 'title');
    if (title !== undefined && title.length > SESSION_TITLE_LIMIT) throw new ApiRefusal('invalid_arguments');
    const initiator = stringArg(args, 'initiator_user_id');
    if (initiator !== undefined && !this.host.userExists(initiator)) throw new ApiRefusal('user_not_found');
    const session = this.changeSession({
      channel: channel.id,
      threadTs,
      status,
      title,
      initiatorUserId: initiator,
      by: 'agents.sessions.setStatus',
    });
    const answer: Json = { status: session.status, agent_status: session.status, title: session.title ?? '' };
    if (this.subscribesToAgentSessionStopped) return answer;
    const warning = 'missing_agent_session_stopped_event_subscription';
    return { ...answer, warning, response_metadata: { warnings: [warning] } };
  }

  /**
   * A person clicks the native Stop: "shown while an agent session is in the processing status";
   * unsubscribed apps get "a non-interactive loading indicator instead". Slack stops the app's
   * in-progress streams in the thread and sends `agent_session_stopped` with their timestamps
   * ("an empty array when no stream was active"); "The session status does not update
   * automatically when the user clicks stop" (https://docs.slack.dev/reference/events/agent_session_stopped).
   */
  async clickStop(
    channel: string,
    threadTs: string,
    user: string,
  ): Promise<{ streamingMessageTs: string[] }> {
    const session = this.sessions.get(channel, threadTs);
    if (!session) throw new Error(`clickStop: no agent session in ${channel} thread ${threadTs}`);
    if (session.status !== 'processing')
      throw new Error(
        `clickStop: Slack shows Stop only while the session is processing; it is ${session.status}`,
      );
    if (!this.subscribesToAgentSessionStopped)
      throw new Error(
        'clickStop: the app is not subscribed to agent_session_stopped; Slack shows no Stop button',
      );
    const stopped = [...this.streams.values()].filter(
      (stream) =>
        stream.channel === channel && stream.threadTs === threadTs && stream.state === 'in_progress',
    );
    for (const stream of stopped) {
      stream.finish('user');
      const message = this.host.findMessage(channel, stream.ts);
      if (message) this.sync(stream, message);
    }
    const streamingMessageTs = stopped.map((stream) => stream.ts);
    await this.host.deliverEvent({
      type: 'agent_session_stopped',
      channel,
      thread_ts: threadTs,
      user,
      streaming_message_ts: streamingMessageTs,
      event_ts: this.host.nextTs(),
    });
    return { streamingMessageTs };
  }

  private changeSession(input: {
    channel: string;
    threadTs: string;
    status: AgentSessionStatus;
    title?: string;
    initiatorUserId?: string;
    by: AgentSessionView['changes'][number]['by'];
  }): AgentSessionView {
    const session = this.sessions.set({ ...input, at: this.host.now() });
    this.host.emit({
      type: 'agent-session-changed',
      channel: input.channel,
      threadTs: input.threadTs,
      session,
    });
    return session;
  }

  /**
   * "Only apps declared as agents in the app settings can create sessions. Declaring an app as an
   * agent adds the assistant:write scope to it" (https://docs.slack.dev/ai/agent-sessions). Slack's
   * answer to an undeclared app is undocumented; this answers missing_scope for assistant:write.
   */
  private requireAgentApp(): void {
    const scopes = this.host.scopes();
    if (!scopes.includes('assistant:write'))
      throw new ApiRefusal('missing_scope', { needed: 'assistant:write', provided: scopes.join(',') });
  }

  private recipient(args: Args, channel: SurfaceChannel): { userId: string; teamId: string } | undefined {
    const userId = stringArg(args, 'recipient_user_id');
    const teamId = stringArg(args, 'recipient_team_id');
    if (channel.isIm && (!userId || !teamId)) return undefined;
    if (!userId) throw new ApiRefusal('missing_recipient_user_id');
    if (!teamId) throw new ApiRefusal('missing_recipient_team_id');
    if (!this.host.userExists(userId)) throw new ApiRefusal('user_not_found');
    return { userId, teamId };
  }

  /**
   * appendStream / stopStream errors: message_not_found, message_not_owned_by_app,
   * message_not_in_streaming_state ("The message is not in the streaming state") — also after the
   * stream was stopped, by the app or by a person's Stop.
   */
  private requireStreaming(args: Args): { record: StreamRecord; message: SurfaceMessage } {
    const channel = this.host.channel(args, 'channel');
    const ts = stringArg(args, 'ts');
    const message = ts ? this.host.findMessage(channel.id, ts) : undefined;
    if (!message) throw new ApiRefusal('message_not_found');
    if (message.bot_id !== this.host.botId) throw new ApiRefusal('message_not_owned_by_app');
    const record = this.byMessage.get(message);
    if (record?.state !== 'in_progress') throw new ApiRefusal('message_not_in_streaming_state');
    return { record, message };
  }

  /** The message's `text` / `markdown_text` follow the stream (chat.stopStream's answer: "text": the streamed content). */
  private sync(record: StreamRecord, message: SurfaceMessage): void {
    message.text = record.text;
    if (record.text) message.markdown_text = record.text;
    this.host.messageChanged(record.channel, message);
    this.host.emit({ type: 'stream-updated', channel: record.channel, stream: record.view() });
  }
}

function isSessionStatus(value: string): value is AgentSessionStatus {
  return (AGENT_SESSION_STATUSES as readonly string[]).includes(value);
}

function stringArg(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
