/**
 * Text from Slack threads and repository files is data for the model. Characters a person
 * cannot see (bidi controls, zero-width characters, Unicode tag characters) and HTML
 * comments are where hidden instructions live, so they are removed before the model reads it.
 */
const invisible =
  /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u206A-\u206F\uFEFF\u00AD\u180E]|[\u{E0000}-\u{E007F}]/gu;
const htmlComment = /<!--[\s\S]*?(?:-->|$)/g;

export function sanitizeUntrusted(text: string): string {
  return text.replace(htmlComment, '').replace(invisible, '');
}
