/**
 * The two search statements, one per backend (ScriptStore picks one by dialect). Each takes
 * the query text, then the repository when `scoped`, then the limit. Best matches first: a hit
 * in the name counts most, then the description, then the body; equal ranks go by name.
 */

/** SQLite: FTS5 with bm25 weights 10/5/1 for name/description/body. */
export function ftsSearch(columns: string, scoped: boolean): string {
  return `SELECT ${columns} FROM scripts_fts JOIN scripts s ON s.id = scripts_fts.rowid
    WHERE scripts_fts MATCH ? ${scoped ? `AND s.scope IN (?, '*')` : ''}
    ORDER BY bm25(scripts_fts, 10.0, 5.0, 1.0), s.name, s.scope, s.id LIMIT ?`;
}

/** PostgreSQL: ts_rank's weights are {D, C, B, A}: body 0.1, description 0.5, name 1 (bm25's 1/5/10). */
export function postgresSearch(columns: string, scoped: boolean): string {
  return `SELECT ${columns} FROM scripts s
    CROSS JOIN LATERAL (SELECT ${postgresDocument} AS document) d
    CROSS JOIN to_tsquery('simple', ?) q
    WHERE d.document @@ q ${scoped ? `AND s.scope IN (?, '*')` : ''}
    ORDER BY ts_rank('{0, 0.1, 0.5, 1}', d.document, q) DESC, s.name, s.scope, s.id LIMIT ?`;
}

/**
 * Characters FTS5's unicode61 tokenizer treats as separators but PostgreSQL's parser would
 * keep: ASCII punctuation and symbols (so `package.json`, `src/app.ts` and `$PARAM_DIR` are
 * words, not one `file` or `host` token) and, because a server in the C locale counts every
 * non-ASCII character as a letter, the common Unicode punctuation, symbol and emoji blocks
 * (“quotes”, dashes, arrows, currency, CJK and fullwidth punctuation). An approximation of
 * Unicode's P, S and Z categories, which PostgreSQL regexes cannot name.
 */
const separators = String.raw`[[:punct:]\u0080-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7\u2000-\u206f\u20a0-\u20cf\u2190-\u23ff\u2500-\u2bff\u2e00-\u2e7f\u3000-\u3004\u3008-\u3020\u3030\ufe10-\ufe1f\ufe30-\ufe6f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+`;
const words = (column: string) =>
  `to_tsvector('simple', regexp_replace(s.${column}, '${separators}', ' ', 'g'))`;

/**
 * The PostgreSQL document searched: the weighting of 0300's `search` column (name A,
 * description B, body C, 'simple' configuration) over text split the way FTS5 splits it, so
 * the same words find the same scripts on both backends. 0300's column is built from the raw
 * text, where the parser keeps `fixtures/signups.csv` as one lexeme; once that column is
 * generated from this expression, this becomes `s.search` and the GIN index serves it.
 */
const postgresDocument = `setweight(${words('name')}, 'A') || setweight(${words('description')}, 'B') || setweight(${words('body')}, 'C')`;
