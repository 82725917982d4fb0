/** Words too common to tell scripts apart when the agent's whole request is the query. */
const stopwords = new Set(
  'a an and are as at be by can could do does for from how i in is it me my of on or please show tell that the this to us we what when where which who why with you your script scripts run'.split(
    ' ',
  ),
);

/**
 * What a person searched for, independent of the backend: lowercase words, each matched as a
 * prefix, all of them or any of them. The store renders it as FTS5 or tsquery text.
 */
export interface SearchQuery {
  readonly words: readonly string[];
  readonly mode: 'all' | 'any';
}

/**
 * Splits text into words the way FTS5's unicode61 tokenizer does (runs of letters, digits and
 * private-use characters; everything else separates), so `weekly-signups` is `weekly` and
 * `signups`, and `$PARAM_DIR` is `param` and `dir`. Undefined when no word is left.
 */
export function toSearchQuery(
  text: string,
  mode: 'all' | 'any',
  options: { dropStopwords?: boolean } = {},
): SearchQuery | undefined {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}\p{Co}]+/gu) ?? [])
    .filter((word) => !(options.dropStopwords && (stopwords.has(word) || word.length < 3)))
    .slice(0, 24);
  const unique = [...new Set(words)];
  return unique.length === 0 ? undefined : { words: unique, mode };
}

/**
 * FTS5 MATCH text: each word a quoted string (inner quotes doubled) with a prefix star, so no
 * FTS syntax (NEAR, column filters, `*`, parentheses, AND/OR/NOT) in user text is interpreted.
 */
export function toFtsQuery(query: SearchQuery): string {
  return query.words
    .map((word) => `"${word.replaceAll('"', '""')}"*`)
    .join(query.mode === 'all' ? ' AND ' : ' OR ');
}

/**
 * PostgreSQL `to_tsquery` text: each word a quoted lexeme with `:*` (prefix match, as FTS5's
 * star), joined by `&` or `|`. to_tsquery rather than plainto_/websearch_to_tsquery because
 * only to_tsquery does prefix matching; it is safe here because a word holds letters and digits
 * only (toSearchQuery), so no quote, operator or weight label from user text can reach it.
 */
export function toTsQuery(query: SearchQuery): string {
  return query.words
    .map((word) => `'${word.replace(/[^\p{L}\p{N}\p{Co}]/gu, '')}':*`)
    .join(query.mode === 'all' ? ' & ' : ' | ');
}
