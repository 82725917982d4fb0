import { readMention, renderMentions, withoutMarkers } from '../jobs/mentions.js';

/**
 * Slack's message syntax for people, groups and the channel, and how shipmate reads it:
 * https://docs.slack.dev/messaging/formatting-message-text#mentioning-users
 * `<@U123>` and `<@U123|name>` name a person; `<!here>`, `<!channel>`, `<!everyone>` and
 * `<!subteam^S123|name>` ping many; `<!date^…|fallback>` shows a date; `<url|label>` a link.
 */
const userMention = /<@([UW][A-Z0-9]+)(?:\|([^>\uE002\uE003]{0,200}))?>/g;

/**
 * A message's text as the rest of shipmate reads it: mentions of the bot dropped, other
 * mentions as markers (see src/jobs/mentions.ts), group and channel pings as plain words,
 * dates by their fallback and links as "label (url)".
 */
export function fromSlackText(text: string, bot?: { userId: string | undefined; as: string }): string {
  return withoutMarkers(text)
    .replace(userMention, (_, userId: string, label: string | undefined) =>
      bot?.userId && userId === bot.userId ? bot.as : readMention(userId, label || undefined),
    )
    .replace(
      /<!subteam\^[A-Z0-9]+(?:\|@?([^>]{1,200}))?>/g,
      (_, name: string | undefined) => `@${name ?? 'group'}`,
    )
    .replace(/<!(here|channel|everyone)(?:\|[^>]{0,200})?>/gi, '@$1')
    .replace(/<!date\^[^>|]{0,200}\|([^>]{0,1000})>/g, '$1')
    .replace(/<(https?:\/\/[^|>\s]{1,2000})\|([^>]{1,1000})>/g, '$2 ($1)')
    .replace(/<(https?:\/\/[^|>\s]{1,2000})>/g, '$1');
}

/** Whether Slack's text mentions this user. */
export function mentionsUser(text: string, userId: string): boolean {
  return text.includes(`<@${userId}>`) || text.includes(`<@${userId}|`);
}

/**
 * shipmate's text as Slack should show it. No code outside src/slack/ writes Slack's
 * syntax, so any found here came from the model, a repository or a person quoted back:
 * it is shown as words, never as a ping. Only shipmate's own `mention()` becomes a real one.
 *
 * The order is what makes this hold: shipmate's own mentions are held back first, every
 * other marker character is gone before any syntax is looked at (so none can split `<@`
 * from an id and rejoin it), the text is escaped as one piece, and the last pass breaks
 * whatever `<@`, `<!` or `<#` is left, however spelled or nested, before shipmate's own
 * mentions go back in.
 */
export function toSlackText(text: string): string {
  return renderMentions(text, (userId) => `<@${userId}>`, inertSyntax);
}

/** Slack's ping syntax as words: the readable forms by name, anything else broken apart. */
function inertSyntax(text: string): string {
  return text
    .replace(userMention, (_, _id: string, label: string | undefined) => `@${label || 'someone'}`)
    .replace(
      /<!subteam\^[A-Z0-9]+(?:\|@?([^>\uE002\uE003]{0,200}))?>/gi,
      (_, name: string | undefined) => `@\u200b${name || 'group'}`,
    )
    .replace(/<!(here|channel|everyone)(?:\|[^>\uE002\uE003]{0,200})?>/gi, '@\u200b$1')
    .replace(/<(?=\s*[@!#\uE002])/g, '<\u200b');
}

/**
 * What a person wrote, minus the bot's mention. Before the bot knows its own id (auth.test
 * not answered yet), a mention at the very start is taken to be the bot's.
 */
export function addressedText(text: string, botUserId: string | undefined): string {
  const self = botUserId ?? /^\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/.exec(text)?.[1];
  return fromSlackText(text, { userId: self, as: ' ' }).replace(/\s+/g, ' ').trim();
}
