import type { WebClient } from '@slack/web-api';
import { withoutMarkers } from '../jobs/mentions.js';
import type { Notifier, Reply, ReplyAction, StatusView, ThreadRef } from '../jobs/ports.js';
import type { Logger } from '../log.js';
import type { Scrubber } from '../scrub-secrets.js';
import { toSlackText } from './mention-syntax.js';
import { renderReply, renderStatus } from './message-format.js';
import { OutputQueue } from './output-queue.js';
import type { SlackEdge } from './slack-app.js';

/** Link previews are an exfiltration path: every post turns them off. */
const noUnfurl = { unfurl_links: false, unfurl_media: false } as const;

/** Notifier over the Slack Web API. Every text passes the secret scrubber on its way out. */
export class SlackNotifier implements Notifier {
  constructor(
    private readonly client: WebClient,
    private readonly updates: OutputQueue,
    private readonly scrub: Scrubber,
    private readonly log: Logger,
  ) {}

  async acknowledge(channel: string, messageTs: string): Promise<void> {
    try {
      await this.client.reactions.add({ channel, timestamp: messageTs, name: 'eyes' });
    } catch (error) {
      // already_reacted is expected when Slack redelivers; anything else is only cosmetic.
      if (slackErrorCode(error) !== 'already_reacted')
        this.log.warn({ err: error, channel }, 'reaction-failed');
    }
  }

  async postStatus(thread: ThreadRef, view: StatusView): Promise<string | undefined> {
    if (thread.channel.startsWith('D')) void this.setThinking(thread);
    const result = await this.client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.threadTs,
      ...renderStatus(this.cleanView(view)),
      ...noUnfurl,
    });
    return result.ts;
  }

  updateStatus(thread: ThreadRef, statusTs: string, view: StatusView): Promise<void> {
    return this.updates.update(thread.channel, statusTs, { ...renderStatus(this.cleanView(view)) });
  }

  async reply(thread: ThreadRef, reply: Reply): Promise<string | undefined> {
    const rendered = renderReply(this.cleanReply(reply));
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

export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** The notifier for an edge: status edits go through one rate-limited, coalescing queue. */
export function createSlackNotifier(edge: SlackEdge, scrub: Scrubber, log: Logger): SlackNotifier {
  const updates = new OutputQueue({
    send: async (channel, ts, payload) => {
      await edge.client.chat.update({ channel, ts, ...payload } as Parameters<
        typeof edge.client.chat.update
      >[0]);
    },
    log,
  });
  edge.watchRateLimits(updates);
  return new SlackNotifier(edge.client, updates, scrub, log);
}
