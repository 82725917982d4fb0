/**
 * People named in text, without Slack's wire format: src/slack/ turns Slack's own mention
 * syntax into these markers when it reads a message, and back when it posts one. Nothing
 * else knows how Slack writes a mention; text from people or the model never carries a
 * marker of its own (src/slack/ removes stray ones in both directions).
 */
const open = '\u{E000}';
const close = '\u{E001}';
const marked = /\u{E000}([UW][A-Z0-9]{1,20})(?:\|([^\u{E000}\u{E001}]{0,80}))?\u{E001}/gu;
const stray = /[\u{E000}\u{E001}]/gu;

/** A person, named so that src/slack/ posts it as a real mention. */
export function mention(userId: string, label?: string): string {
  return `${open}${userId}${label ? `|${label.replace(stray, '')}` : ''}${close}`;
}

/** Each mention replaced by what `render` says (a name, '' to drop it); stray markers removed. */
export function replaceMentions(
  text: string,
  render: (userId: string, label: string | undefined) => string,
): string {
  return text
    .replace(marked, (_, userId: string, label: string | undefined) => render(userId, label))
    .replace(stray, '');
}

/** The text with no marker left in it, for text that must not be able to mention anyone. */
export function withoutMarkers(text: string): string {
  return text.replace(stray, '');
}
