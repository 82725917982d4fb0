/**
 * Text someone else chose (a file name, a forge's or a git remote's words) shown in the thread
 * as one inline code span: no link, emphasis or mention renders in it. Control characters and
 * line breaks become spaces, backticks quotes, and `](` is broken for clients that render
 * Markdown inside code anyway. Empty text gives ''.
 */
export function inertCode(text: string, max = 80): string {
  const line = text
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\u00ad]|[\u{e0000}-\u{e007f}]/gu, '')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .replaceAll('`', "'")
    .replaceAll('](', '] (')
    .trim();
  if (!line) return '';
  return `\`${line.length > max ? `${line.slice(0, max - 1)}…` : line}\``;
}
