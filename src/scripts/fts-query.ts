/** Words too common to tell scripts apart when the agent's whole request is the query. */
const stopwords = new Set(
  'a an and are as at be by can could do does for from how i in is it me my of on or please show tell that the this to us we what when where which who why with you your script scripts run'.split(
    ' ',
  ),
);

/**
 * Turns words a person typed into a safe FTS5 query: each word becomes a quoted string
 * (inner quotes doubled) with a prefix star, so no FTS syntax (NEAR, column filters, `*`,
 * parentheses, AND/OR/NOT) in user text is ever interpreted. Returns undefined when no word is left.
 */
export function toFtsQuery(
  text: string,
  mode: 'all' | 'any',
  options: { dropStopwords?: boolean } = {},
): string | undefined {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])
    .filter((word) => !(options.dropStopwords && (stopwords.has(word) || word.length < 3)))
    .slice(0, 24);
  const unique = [...new Set(words)];
  if (unique.length === 0) return undefined;
  return unique.map((word) => `"${word.replaceAll('"', '""')}"*`).join(mode === 'all' ? ' AND ' : ' OR ');
}
