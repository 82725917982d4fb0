import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { ThreadHistory, ThreadMessage } from '../jobs/ports.js';
import type { Logger } from '../log.js';
import { fromSlackText } from './mention-syntax.js';

const replySchema = z.object({
  ts: z.string(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  username: z.string().optional(),
  text: z.string().default(''),
  subtype: z.string().optional(),
  blocks: z.array(z.object({ type: z.string(), text: z.unknown().optional() }).passthrough()).optional(),
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

  async fetch(channel: string, threadTs: string): Promise<ThreadMessage[]> {
    const messages: ThreadMessage[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.conversations.replies({ channel, ts: threadTs, limit: 100, cursor });
      for (const raw of page.messages ?? []) {
        const parsed = replySchema.safeParse(raw);
        if (parsed.success) messages.push(await this.toMessage(parsed.data));
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
      const markdown = (raw.blocks ?? [])
        .filter((block) => block.type === 'markdown' && typeof block.text === 'string')
        .map((block) => fromSlackText(block.text as string, { userId: self, as: '@shipmate' }))
        .join('\n');
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
    return {
      ts: raw.ts,
      userId: raw.user,
      name: await this.displayName(raw.user),
      kind: 'person',
      text: raw.text,
    };
  }
}
