import type { WebClient } from '@slack/web-api';
import { withoutMarkers } from '../jobs/mentions.js';
import type {
  JobAudience,
  Notifier,
  Reply,
  ReplyAction,
  SessionStatus,
  StatusEnding,
  StatusView,
  ThreadRef,
} from '../jobs/ports.js';
import type { Logger } from '../log.js';
import { patternReach, type Scrubber, scrubReach } from '../scrub-secrets.js';
import { toSlackText } from './mention-syntax.js';
import { fileThreshold, renderReply, renderStatus, replyExtras } from './message-format.js';
import { OutputQueue, type RateBudget } from './output-queue.js';
import type { SlackEdge } from './slack-app.js';
import { LiveStream, type StreamChunk, streamedMessageLimit } from './slack-stream.js';
import type { WindowRules } from './stream-window.js';

/** Link previews are an exfiltration path: every post turns them off. */
const noUnfurl = { unfurl_links: false, unfurl_media: false } as const;

/**
 * Errors that say this workspace (or this token) has no streaming or agent sessions: an older
 * workspace (`unknown_method`), a scope the app was not given, an app not declared as an agent
 * (https://docs.slack.dev/ai/agent-sessions), a token type or plan without the feature.
 */
const unsupported = new Set([
  'unknown_method',
  'method_deprecated',
  'missing_scope',
  'not_allowed',
  'not_allowed_token_type',
  'feature_not_enabled',
  'feature_disabled',
  'team_access_not_granted',
  'access_denied',
  'app_not_agent',
  'not_an_agent',
]);
/** Errors that end one stream (the native Stop, or Slack closing it) without changing the mode. */
const streamGone = new Set([
  'message_not_in_streaming_state',
  'message_not_owned_by_app',
  'streaming_state_conflict',
  'message_not_found',
  'cant_update_message',
]);

export interface SlackNotifierOptions {
  /** What a streamed answer holds back behind its newest text (src/slack/stream-window.ts). */
  window: WindowRules;
  /** false: status message and final post only, never stream (a deployment's choice). */
  stream?: boolean;
  /** The status/stream output budget; shared through the database when several processes run. */
  budget?: RateBudget;
}

/** The window when no secret is configured (tests, the playground): patterns only. */
const withoutConfiguredSecrets: SlackNotifierOptions = {
  window: { holdBack: patternReach, needles: [], escapeReach: scrubReach() },
};

/** Notifier over the Slack Web API. Every text passes the secret scrubber on its way out. */
export class SlackNotifier implements Notifier {
  /** Streams and agent sessions: tried until Slack refuses them once, then off for this workspace. */
  private streaming: 'untried' | 'on' | 'off';
  private sessions: 'untried' | 'on' | 'off' = 'untried';
  private readonly streams = new Map<string, LiveStream>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly client: WebClient,
    private readonly updates: OutputQueue,
    private readonly scrub: Scrubber,
    private readonly log: Logger,
    private readonly options: SlackNotifierOptions = withoutConfiguredSecrets,
    private readonly teamId: () => string | undefined = () => undefined,
  ) {
    this.streaming = options.stream === false ? 'off' : 'untried';
  }

  async acknowledge(channel: string, messageTs: string): Promise<void> {
    try {
      await this.client.reactions.add({ channel, timestamp: messageTs, name: 'eyes' });
    } catch (error) {
      // already_reacted is expected when Slack redelivers; anything else is only cosmetic.
      if (slackErrorCode(error) !== 'already_reacted')
        this.log.warn({ err: error, channel }, 'reaction-failed');
    }
  }

  async postStatus(thread: ThreadRef, view: StatusView, audience?: JobAudience): Promise<string | undefined> {
    if (audience) void this.setSession(thread, 'processing', audience.title);
    if (thread.channel.startsWith('D') && this.sessions !== 'on') void this.setThinking(thread);
    if (audience && this.streaming !== 'off') {
      const ts = await this.startStream(thread, view, audience);
      if (ts) return ts;
    }
    const result = await this.client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.threadTs,
      ...renderStatus(this.cleanView(view)),
      ...noUnfurl,
    });
    return result.ts;
  }

  updateStatus(thread: ThreadRef, statusTs: string, view: StatusView): Promise<void> {
    const live = this.streams.get(streamKey(thread.channel, statusTs));
    if (live) {
      if (live.closing) return Promise.resolve();
      return this.updates.update(thread.channel, statusTs, { stream: view }, 'stream');
    }
    return this.updates.update(thread.channel, statusTs, { ...renderStatus(this.cleanView(view)) });
  }

  /** The OutputQueue's sender: a stream's changes as one chat.appendStream, or a chat.update. */
  async send(channel: string, ts: string, payload: Record<string, unknown>): Promise<void> {
    const live = this.streams.get(streamKey(channel, ts));
    if ('end' in payload) {
      await this.sendEnding(channel, ts, payload.end as QueuedEnding);
      return;
    }
    if (!('stream' in payload)) {
      await this.client.chat.update({ channel, ts, ...payload } as Parameters<
        typeof this.client.chat.update
      >[0]);
      return;
    }
    if (!live || live.ended) return;
    const chunks = live.chunksFor(payload.stream as StatusView);
    if (chunks.length === 0) return;
    try {
      await this.client.chat.appendStream({ channel, ts, chunks } as never);
    } catch (error) {
      this.streamFailed(live, channel, error);
    }
  }

  async endStatus(thread: ThreadRef, statusTs: string | undefined, ending: StatusEnding): Promise<boolean> {
    const live = statusTs ? this.streams.get(streamKey(thread.channel, statusTs)) : undefined;
    if (!statusTs || !live) {
      if (ending.reply) await this.reply(thread, ending.reply);
      // Not awaited: the status line is throttled per message and must not hold the worker slot.
      if (statusTs) void this.updateStatus(thread, statusTs, ending.view).catch(() => undefined);
      void this.setSession(thread, ending.session);
      return false;
    }
    live.closing = true;
    const done = new Promise<void>((resolve, reject) => {
      void this.updates.update(
        thread.channel,
        statusTs,
        { end: { thread, ending, resolve, reject } satisfies QueuedEnding },
        'stream',
      );
    });
    await done;
    return true;
  }

  async setSession(thread: ThreadRef, status: SessionStatus, title?: string): Promise<void> {
    if (this.sessions === 'off') return;
    try {
      const result = await this.client.agents.sessions.setStatus({
        channel_id: thread.channel,
        thread_ts: thread.threadTs,
        status,
        ...(title ? { title: this.cleanText(title).slice(0, 200) } : {}),
      });
      this.sessions = 'on';
      const warning = (result as { warning?: string }).warning;
      if (warning) this.warnOnce(`session-${warning}`, { warning }, 'agent-session-warning');
    } catch (error) {
      const code = slackErrorCode(error);
      if (code && unsupported.has(code)) {
        this.sessions = 'off';
        this.warnOnce(
          'sessions',
          { code },
          'agent-sessions-unavailable: no session status or native Stop in this workspace',
        );
        return;
      }
      this.log.debug({ err: error, channel: thread.channel }, 'agent-session-failed');
    }
  }

  /** chat.startStream with the first view; undefined when this workspace cannot stream. */
  private async startStream(
    thread: ThreadRef,
    view: StatusView,
    audience: JobAudience,
  ): Promise<string | undefined> {
    const live = new LiveStream((text) => this.cleanText(text), this.options.window);
    const chunks = live.chunksFor(view);
    const team = this.teamId();
    try {
      const result = await this.client.chat.startStream({
        channel: thread.channel,
        thread_ts: thread.threadTs,
        // Required outside direct messages (https://docs.slack.dev/reference/methods/chat.startStream).
        ...(thread.channel.startsWith('D') ? {} : { recipient_user_id: audience.userId }),
        ...(thread.channel.startsWith('D') || !team ? {} : { recipient_team_id: team }),
        task_display_mode: 'timeline',
        chunks,
        ...noUnfurl,
      } as never);
      this.streaming = 'on';
      const ts = (result as { ts?: string }).ts;
      if (ts) this.streams.set(streamKey(thread.channel, ts), live);
      return ts;
    } catch (error) {
      const code = slackErrorCode(error);
      if (code && unsupported.has(code)) {
        this.streaming = 'off';
        this.warnOnce(
          'streaming',
          { code },
          'streaming-unavailable: this workspace refused chat.startStream; using a status message and a final post',
        );
        return undefined;
      }
      // One thread or channel that cannot stream (channel_type_not_supported, …): this message only.
      this.log.info({ code, channel: thread.channel }, 'stream-not-started');
      return undefined;
    }
  }

  /** The stream's last tasks and text, then stopStream with the rest of the reply, usage and buttons. */
  private async sendEnding(channel: string, ts: string, queued: QueuedEnding): Promise<void> {
    const { thread, ending } = queued;
    const live = this.streams.get(streamKey(channel, ts));
    this.streams.delete(streamKey(channel, ts));
    try {
      /** Already cleaned: posted as it is, after the stream ends. */
      let separate: Reply | undefined = ending.reply ? this.cleanReply(ending.reply) : undefined;
      /** The reply's usage line and buttons, cleaned once, for whichever message carries them. */
      const cleanedExtras = ending.reply ? this.cleanReply({ ...ending.reply, markdown: '' }) : undefined;
      /** What follows the stream if Slack refuses to finish it with the rest of the answer. */
      let fallback = separate;
      const chunks: StreamChunk[] = live && !live.ended ? live.chunksFor(ending.view) : [];
      let blocks: unknown[] | undefined;
      // A job that waits for a person (a permission, a "go") keeps its line and its buttons
      // under the stream, where the status message had them.
      const waiting =
        ending.view.actions && ending.view.actions.length > 0
          ? renderStatus(this.cleanView(ending.view)).blocks
          : [];
      if (live && !live.ended && ending.reply?.streamed && cleanedExtras) {
        const rest = live.window.diverged ? undefined : live.window.rest(ending.reply.markdown);
        if (rest !== undefined) {
          const continued = { ...cleanedExtras, markdown: rest };
          fallback = rest.trim() ? continued : { ...continued, markdown: '_(end of the answer above)_' };
          // The whole message stays under Slack's 12,000 characters (msg_too_long).
          if (live.window.text.length + rest.length <= streamedMessageLimit) {
            if (rest.trim()) chunks.push({ type: 'markdown_text', text: rest });
            blocks = replyExtras(cleanedExtras);
            separate = undefined;
          } else if (live.window.text.length + rest.length > fileThreshold) {
            // Past what a thread should hold: the whole answer as a file, as a posted one would be.
            const whole = `${live.window.text}${rest}`;
            separate = {
              ...continued,
              markdown: `_The answer is longer than this message can hold (${whole.length.toLocaleString('en-US')} characters); the full answer is attached as \`answer.md\`._`,
              files: [{ filename: 'answer.md', title: 'Full answer', content: whole }],
            };
          } else {
            // Too long to finish in the stream: the rest follows in messages of its own.
            separate = continued;
          }
        }
      }
      let sessionSet = false;
      let waitingShown = waiting.length === 0;
      if (live && !live.ended) {
        live.ended = true;
        // stopStream also sets the thread's session (`session_status`, default active).
        const session = this.sessions === 'off' ? {} : { session_status: ending.session };
        const stop = (extra: Record<string, unknown>) =>
          this.client.chat.stopStream({ channel, ts, ...session, ...extra } as never).then(
            () => true,
            (error: unknown) => error,
          );
        const all = [...(blocks ?? []), ...waiting];
        let stopped = await stop({
          ...(chunks.length > 0 ? { chunks } : {}),
          ...(all.length > 0 ? { blocks: all } : {}),
        });
        if (stopped !== true && !streamGone.has(slackErrorCode(stopped) ?? '')) {
          // Refused with the rest in it: end the stream bare, and the rest follows as a message.
          this.log.warn({ err: stopped, channel }, 'stream-stop-refused');
          separate = fallback;
          stopped = await stop(waiting.length > 0 ? { blocks: waiting } : {});
        }
        if (stopped === true) {
          sessionSet = this.sessions !== 'off';
          waitingShown = true;
        } else {
          this.streamFailed(live, channel, stopped);
          separate ??= fallback;
        }
      }
      if (separate) await this.postCleaned(thread, separate);
      if (!waitingShown) {
        // The stream was gone (Stop, or Slack refused): the buttons still need a message.
        await this.client.chat.postMessage({
          channel,
          thread_ts: thread.threadTs,
          ...renderStatus(this.cleanView(ending.view)),
          ...noUnfurl,
        });
      }
      if (!sessionSet) void this.setSession(thread, ending.session);
      queued.resolve();
    } catch (error) {
      queued.reject(error);
    }
  }

  /** One warning per workspace and cause, however many jobs run into it. */
  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(fields, message);
  }

  private streamFailed(live: LiveStream, channel: string, error: unknown): void {
    const code = slackErrorCode(error);
    live.ended = true;
    if (code && streamGone.has(code)) {
      this.log.info({ code, channel }, 'stream-ended-by-slack');
      return;
    }
    this.log.warn({ err: error, channel }, 'stream-append-failed');
  }

  reply(thread: ThreadRef, reply: Reply): Promise<string | undefined> {
    return this.postCleaned(thread, this.cleanReply(reply));
  }

  /** A reply whose texts `cleanReply` already cleaned (cleaning twice would undo its mentions). */
  private async postCleaned(thread: ThreadRef, cleaned: Reply): Promise<string | undefined> {
    const rendered = renderReply(cleaned);
    let lastTs: string | undefined;
    for (const message of rendered.messages) {
      const result = await this.client.chat.postMessage({
        channel: thread.channel,
        thread_ts: thread.threadTs,
        ...message,
        ...noUnfurl,
      });
      lastTs = result.ts;
    }
    if (rendered.file) {
      await this.client.filesUploadV2({
        channel_id: thread.channel,
        thread_ts: thread.threadTs,
        filename: rendered.file.filename,
        title: this.cleanText(rendered.file.title),
        content: withoutMarkers(this.scrub(rendered.file.content)),
      });
    }
    return lastTs;
  }

  /** The "is thinking…" line in a direct message (assistant threads); cleared by Slack on the reply. */
  private async setThinking(thread: ThreadRef): Promise<void> {
    try {
      await this.client.assistant.threads.setStatus({
        channel_id: thread.channel,
        thread_ts: thread.threadTs,
        status: 'is thinking…',
      });
    } catch (error) {
      // Not an assistant thread (or an older workspace): the status message says the same.
      this.log.debug({ err: error, channel: thread.channel }, 'assistant-status-failed');
    }
  }

  /** A top-level channel message (digests): Markdown, never in a thread. */
  async postToChannel(channel: string, markdown: string): Promise<string | undefined> {
    const [message] = renderReply({ markdown: this.cleanText(markdown) }).messages;
    const result = await this.client.chat.postMessage({ channel, ...message!, ...noUnfurl });
    return result.ts;
  }

  /**
   * Every text of a reply scrubbed and with Slack syntax broken, once, before it is rendered:
   * the split at Slack's limits must see the text Slack will get (both can lengthen it), and a
   * second pass would turn shipmate's own mentions back into words.
   */
  private cleanReply(reply: Reply): Reply {
    return {
      ...reply,
      markdown: this.cleanText(reply.markdown),
      ...(reply.context ? { context: this.cleanText(reply.context) } : {}),
      ...(reply.actions ? { actions: reply.actions.map((action) => this.cleanAction(action)) } : {}),
    };
  }

  private cleanView(view: StatusView): StatusView {
    return {
      ...view,
      text: this.cleanText(view.text),
      ...(view.actions ? { actions: view.actions.map((action) => this.cleanAction(action)) } : {}),
    };
  }

  private cleanAction(action: ReplyAction): ReplyAction {
    return { ...action, label: this.cleanText(action.label), value: this.cleanText(action.value) };
  }

  /** One text as Slack may see it: secrets scrubbed, then mentions written as Slack does. */
  private cleanText(text: string): string {
    return toSlackText(this.scrub(text));
  }
}

interface QueuedEnding {
  thread: ThreadRef;
  ending: StatusEnding;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function streamKey(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}

export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** The notifier for an edge: status edits and stream appends go through one rate-limited queue. */
export function createSlackNotifier(
  edge: SlackEdge,
  scrub: Scrubber,
  log: Logger,
  options: SlackNotifierOptions = withoutConfiguredSecrets,
): SlackNotifier {
  let notifier: SlackNotifier | undefined;
  const updates = new OutputQueue({
    send: (channel, ts, payload) => (notifier as SlackNotifier).send(channel, ts, payload),
    log,
    ...(options.budget ? { budget: options.budget } : {}),
  });
  edge.watchRateLimits(updates);
  notifier = new SlackNotifier(edge.client, updates, scrub, log, options, () => edge.teamId());
  return notifier;
}
