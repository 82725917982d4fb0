import { randomBytes } from 'node:crypto';

/**
 * People named in text, without Slack's wire format. Two kinds of marker, so that only
 * shipmate's own code can ping anyone:
 * - a mention *read* from Slack (`readMention`, made by src/slack/ when it takes a message)
 *   is shown back as a name and never pings;
 * - a mention *made* by code (`mention`) carries a random per-process key that the model,
 *   a repository or a person cannot know, and src/slack/ posts it as a real mention.
 * Any other marker character is removed on the way out.
 */
const key = randomBytes(8).toString('hex');
const readPattern = /\u{E000}([UW][A-Z0-9]{1,20})(?:\|([^\u{E000}-\u{E003}]{0,80}))?\u{E001}/gu;
const madePattern = /\u{E002}([0-9a-f]{16})([UW][A-Z0-9]{1,20})\u{E003}/gu;
const stray = /[\u{E000}-\u{E003}]/gu;

/** A person mentioned in a message someone wrote (src/slack/ only). */
export function readMention(userId: string, label?: string): string {
  return `\u{E000}${userId}${label ? `|${label.replace(stray, '')}` : ''}\u{E001}`;
}

/** A person shipmate names in its reply, posted as a real mention. */
export function mention(userId: string): string {
  // Anything but a Slack user id is named as text: a marker it would not match leaks the key.
  if (!/^[UW][A-Z0-9]{1,20}$/.test(userId)) return `@${userId.replace(stray, '')}`;
  return `\u{E002}${key}${userId}\u{E003}`;
}

/** Mentions people wrote, each as `render` says (a name, or '' to drop it); shipmate's own stay. */
export function replaceMentions(
  text: string,
  render: (userId: string, label: string | undefined) => string,
): string {
  return text.replace(readPattern, (_, userId: string, label: string | undefined) => render(userId, label));
}

/**
 * For src/slack/ on the way out: shipmate's own mentions through `post`, mentions people
 * wrote as names, any forged or stray marker removed. `plain` sees the whole text at once,
 * already free of every marker, with shipmate's own mentions held back as `\u{E002}<id>\u{E003}`
 * (which nobody else can produce: every other marker is gone by then). So what `plain`
 * escapes cannot be rebuilt by a marker removed later, nor split around a forged one.
 */
export function renderMentions(
  text: string,
  post: (userId: string) => string,
  plain: (text: string) => string = (piece) => piece,
): string {
  const named = replaceMentions(text, (_, label) => `@${label ?? 'someone'}`);
  let held = '';
  let from = 0;
  for (const match of named.matchAll(madePattern)) {
    held += withoutMarkers(named.slice(from, match.index));
    if (match[1] === key) held += `\u{E002}${match[2]}\u{E003}`;
    from = match.index + match[0].length;
  }
  held += withoutMarkers(named.slice(from));
  return plain(held).replace(/\u{E002}([UW][A-Z0-9]{1,20})\u{E003}/gu, (_, userId: string) => post(userId));
}

/** The text with no marker left in it, for text that must not be able to mention anyone. */
export function withoutMarkers(text: string): string {
  return text.replace(stray, '');
}
