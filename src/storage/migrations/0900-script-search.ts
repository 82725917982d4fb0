/**
 * PostgreSQL only: 0300's `search` column was generated from the raw text, where the parser
 * keeps `fixtures/signups.csv` or `$PARAM_DIR` as one lexeme, so search could not use it and
 * built the document per row without its GIN index. The column is generated again from the
 * text split the way FTS5's unicode61 tokenizer splits it, so the same words find the same
 * scripts on both backends and the GIN index serves the search. SQLite keeps FTS5 as it is.
 *
 * The separators: ASCII punctuation and symbols, and, because a server in the C locale counts
 * every non-ASCII character as a letter, the common Unicode punctuation, symbol and emoji
 * blocks (“quotes”, dashes, arrows, currency, CJK and fullwidth punctuation): an approximation
 * of Unicode's P, S and Z categories, which PostgreSQL regexes cannot name. regexp_replace,
 * to_tsvector with an explicit configuration and setweight are immutable, as a generated
 * column requires (postgresql.org/docs/15/ddl-generated-columns.html).
 */
const separators = String.raw`[[:punct:]\u0080-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7\u2000-\u206f\u20a0-\u20cf\u2190-\u23ff\u2500-\u2bff\u2e00-\u2e7f\u3000-\u3004\u3008-\u3020\u3030\ufe10-\ufe1f\ufe30-\ufe6f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+`;
const words = (column: string) =>
  `to_tsvector('simple', regexp_replace(${column}, '${separators}', ' ', 'g'))`;

export const sql = '-- PostgreSQL only: FTS5 already splits words this way.\n';
export const postgres = `
DROP INDEX scripts_search;
ALTER TABLE scripts DROP COLUMN search;
ALTER TABLE scripts ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(${words('name')}, 'A') ||
  setweight(${words('description')}, 'B') ||
  setweight(${words('body')}, 'C')
) STORED;
CREATE INDEX scripts_search ON scripts USING GIN (search);
`;
