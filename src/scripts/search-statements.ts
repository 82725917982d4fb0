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

/**
 * PostgreSQL: the `search` column (0900: name A, description B, body C, words split the way
 * FTS5 splits them) through its GIN index. ts_rank's weights are {D, C, B, A}: body 0.1,
 * description 0.5, name 1 (bm25's 1/5/10).
 */
export function postgresSearch(columns: string, scoped: boolean): string {
  return `SELECT ${columns} FROM scripts s
    CROSS JOIN to_tsquery('simple', ?) q
    WHERE s.search @@ q ${scoped ? `AND s.scope IN (?, '*')` : ''}
    ORDER BY ts_rank('{0, 0.1, 0.5, 1}', s.search, q) DESC, s.name, s.scope, s.id LIMIT ?`;
}
