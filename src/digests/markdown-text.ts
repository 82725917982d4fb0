import { replaceMentions } from '../jobs/mentions.js';

/**
 * Text from Slack, git and the model goes into a digest as plain words: one line,
 * Markdown specials escaped, and no mention that would ping a person or the channel.
 */
export function inlineText(text: string, maxLength = 120): string {
  const line = neutralizeMentions(text).replace(/\s+/g, ' ').trim();
  const short = line.length > maxLength ? `${line.slice(0, maxLength - 1).trimEnd()}…` : line;
  return escapeMarkdown(short);
}

/** A mention → @name (or @someone), and @here / @channel / @everyone → a form that does not notify. */
export function neutralizeMentions(text: string): string {
  return replaceMentions(text, (_, label) => `@${label ?? 'someone'}`).replace(
    /@(here|channel|everyone)\b/gi,
    '@\u200b$1',
  );
}

export function escapeMarkdown(text: string): string {
  return text
    .replace(/([\\`*_[\]~|])/g, '\\$1')
    .replace(/</g, '‹')
    .replace(/>/g, '›');
}

/** `[text](url)`, or the text alone when there is no usable http(s) URL. */
export function link(text: string, url: string | undefined): string {
  if (!url || !/^https?:\/\//i.test(url)) return text;
  return `[${text}](${url.replace(/[()\s]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
}

/** The first `shown` items, then "…and N more" when there were more. */
export function capList(lines: string[], shown: number): string[] {
  if (lines.length <= shown) return lines;
  return [...lines.slice(0, shown), `…and ${lines.length - shown} more`];
}

/** Model output: kept as Markdown (bullets, emphasis) but capped and without pings. */
export function modelText(text: string, maxLength: number): string {
  const clean = neutralizeMentions(text)
    .replace(/^#+\s*/gm, '')
    .trim();
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 1).trimEnd()}…` : clean;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
