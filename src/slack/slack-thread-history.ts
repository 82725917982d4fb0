import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { readMention, withoutMarkers } from '../jobs/mentions.js';
import type { ThreadHistory, ThreadMessage } from '../jobs/ports.js';
import type { Logger } from '../log.js';
import { fromSlackText } from './mention-syntax.js';
import { type BotMembership, ensureBotInChannel } from './slack-channel-membership.js';
import { threadFilesFrom } from './slack-files.js';

const replySchema = z.object({
  ts: z.string(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  username: z.string().optional(),
  text: z.string().default(''),
  subtype: z.string().optional(),
  blocks: z.array(z.object({ type: z.string() }).passthrough()).optional(),
  /** Files shared with the message (parsed in slack-files.ts). */
  files: z.array(z.unknown()).optional(),
});

const maxMessages = 200;

/** The thread so far through conversations.replies, with people's names (cached users.info). */
export class SlackThreadHistory implements ThreadHistory {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly client: WebClient,
    private readonly botUserId: () => string | undefined,
    private readonly log: Logger,
  ) {}

  async fetch(
    channel: string,
    threadTs: string,
    options: { after?: string | undefined } = {},
  ): Promise<ThreadMessage[]> {
    const messages: ThreadMessage[] = [];
    let cursor: string | undefined;
    const after = options.after;
    do {
      // `oldest` with inclusive=false: only what was posted since (the parent still comes first;
      // the agent's context keeps only what is after its session).
      // https://docs.slack.dev/reference/methods/conversations.replies
      const page = await this.client.conversations.replies({
        channel,
        ts: threadTs,
        limit: 100,
        cursor,
        ...(after ? { oldest: after, inclusive: false } : {}),
      });
      for (const raw of page.messages ?? []) {
        const parsed = replySchema.safeParse(raw);
        if (!parsed.success) continue;
        messages.push(await this.toMessage(parsed.data));
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && messages.length < maxMessages);
    return messages.slice(-maxMessages);
  }

  /** Top-level channel messages with from <= ts < to (ms), oldest first (conversations.history). */
  async messagesBetween(channel: string, from: number, to: number): Promise<ThreadMessage[]> {
    const messages: ThreadMessage[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.conversations.history({
        channel,
        oldest: (from / 1000).toFixed(6),
        latest: (to / 1000).toFixed(6),
        inclusive: true,
        limit: 200,
        cursor,
      });
      for (const raw of page.messages ?? []) {
        const parsed = replySchema.safeParse(raw);
        if (parsed.success && Number(parsed.data.ts) * 1000 < to)
          messages.push(await this.toMessage(parsed.data));
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && messages.length < 1_000);
    return messages.sort((a, b) => Number(a.ts) - Number(b.ts));
  }

  /** Reading a channel needs membership: joins a public channel, reports a private one (digests). */
  ensureMember(channel: string): Promise<BotMembership> {
    return ensureBotInChannel(this.client, channel);
  }

  async displayName(userId: string): Promise<string> {
    const cached = this.names.get(userId);
    if (cached) return cached;
    try {
      const result = await this.client.users.info({ user: userId });
      const profile = result.user?.profile;
      const name =
        profile?.display_name || profile?.real_name || result.user?.real_name || result.user?.name || userId;
      this.names.set(userId, name);
      return name;
    } catch (error) {
      this.log.warn({ err: error, userId }, 'users-info-failed');
      return userId;
    }
  }

  async permalink(channel: string, messageTs: string): Promise<string | undefined> {
    try {
      const result = await this.client.chat.getPermalink({ channel, message_ts: messageTs });
      return result.permalink;
    } catch (error) {
      this.log.warn({ err: error, channel }, 'permalink-failed');
      return undefined;
    }
  }

  private async toMessage(raw: z.infer<typeof replySchema>): Promise<ThreadMessage> {
    const self = this.botUserId();
    raw.text = fromSlackText(raw.text, { userId: self, as: '@shipmate' });
    if (raw.user && raw.user === self) {
      // Our answers travel in markdown blocks; `text` is only the short notification fallback.
      // Slack stores a markdown block translated into other block types, so read those too.
      const markdown = blocksAsText(raw.blocks ?? [], (text) =>
        fromSlackText(text, { userId: self, as: '@shipmate' }),
      );
      return { ts: raw.ts, userId: raw.user, name: 'shipmate', kind: 'shipmate', text: markdown || raw.text };
    }
    if (raw.bot_id || raw.subtype === 'bot_message' || !raw.user) {
      return {
        ts: raw.ts,
        userId: raw.user,
        name: raw.username ?? raw.bot_id ?? 'a bot',
        kind: 'bot',
        text: raw.text,
      };
    }
    // Only people's files: shipmate's own uploads (long answers, diffs) are not input.
    const files = threadFilesFrom(raw.files);
    return {
      ts: raw.ts,
      userId: raw.user,
      name: await this.displayName(raw.user),
      kind: 'person',
      text: raw.text,
      ...(files.length > 0 ? { files } : {}),
    };
  }
}

type Block = { type: string; [key: string]: unknown };

/**
 * A message's blocks as Markdown-ish text: `markdown` blocks as sent, and the block types
 * Slack stores them as (https://docs.slack.dev/reference/block-kit/blocks/markdown-block:
 * "the output … may be translated into other block types"): `rich_text` with its sections,
 * lists, quotes and preformatted code, `section` and `header` text, and `context` lines.
 */
export function blocksAsText(blocks: readonly Block[], read: (text: string) => string): string {
  const out: string[] = [];
  for (const block of blocks) {
    if (block.type === 'markdown' && typeof block.text === 'string') out.push(read(block.text));
    else if (block.type === 'rich_text' && Array.isArray(block.elements))
      out.push((block.elements as Block[]).map((element) => richElement(element)).join('\n'));
    else if ((block.type === 'section' || block.type === 'header') && isText(block.text))
      out.push(read(block.text.text));
    else if (block.type === 'context' && Array.isArray(block.elements))
      out.push(
        (block.elements as unknown[])
          .filter(isText)
          .map((element) => read(element.text))
          .join(' '),
      );
  }
  return out.filter(Boolean).join('\n');
}

function isText(value: unknown): value is { text: string } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string'
  );
}

/** https://docs.slack.dev/reference/block-kit/blocks/rich-text-block */
function richElement(element: Block): string {
  const inline = (items: unknown): string =>
    (Array.isArray(items) ? (items as Block[]) : []).map(richInline).join('');
  switch (element.type) {
    case 'rich_text_section':
      return inline(element.elements);
    case 'rich_text_preformatted':
      return `\`\`\`\n${inline(element.elements)}\n\`\`\``;
    case 'rich_text_quote':
      return inline(element.elements)
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n');
    case 'rich_text_list': {
      const ordered = element.style === 'ordered';
      const indent = '  '.repeat(typeof element.indent === 'number' ? element.indent : 0);
      // "offset: Number to offset the first number in the list"
      // (https://docs.slack.dev/reference/block-kit/block-elements/rich-text-list-element).
      const offset = typeof element.offset === 'number' ? element.offset : 0;
      return (Array.isArray(element.elements) ? (element.elements as Block[]) : [])
        .map((item, index) => `${indent}${ordered ? `${offset + index + 1}.` : '-'} ${richElement(item)}`)
        .join('\n');
    }
    default:
      return '';
  }
}

function richInline(item: Block): string {
  const style = (item.style ?? {}) as { bold?: boolean; italic?: boolean; code?: boolean; strike?: boolean };
  const wrap = (text: string): string => {
    if (style.code) return `\`${text}\``;
    let styled = text;
    if (style.bold) styled = `**${styled}**`;
    if (style.italic) styled = `_${styled}_`;
    if (style.strike) styled = `~${styled}~`;
    return styled;
  };
  switch (item.type) {
    case 'text':
      return typeof item.text === 'string' ? wrap(withoutMarkers(item.text)) : '';
    case 'link':
      return typeof item.url === 'string'
        ? typeof item.text === 'string' && item.text !== item.url
          ? `${wrap(withoutMarkers(item.text))} (${item.url})`
          : item.url
        : '';
    case 'user':
      return typeof item.user_id === 'string' ? readMention(item.user_id) : '';
    case 'emoji':
      return typeof item.name === 'string' ? `:${item.name}:` : '';
    case 'channel':
      return typeof item.channel_id === 'string' ? `#${item.channel_id}` : '';
    case 'broadcast':
      return typeof item.range === 'string' ? `@${item.range}` : '';
    default:
      return '';
  }
}
