import { forPostgres } from './migration-dialect.js';
import { sql as core } from './migrations/0001-core.js';
import { sql as usage } from './migrations/0100-usage.js';
import { sql as changes } from './migrations/0200-pull-requests.js';
import { sql as scripts, postgres as scriptsPostgres } from './migrations/0300-scripts.js';
import { sql as digests } from './migrations/0400-digests.js';
import { sql as grants } from './migrations/0500-network-grants.js';
import { sql as stagedChanges } from './migrations/0600-staged-changes.js';
import { sql as sessions } from './migrations/0700-sessions.js';
import { sql as scaleOut, postgres as scaleOutPostgres } from './migrations/0800-scale-out.js';
import { sql as scriptSearch, postgres as scriptSearchPostgres } from './migrations/0900-script-search.js';
import type { Dialect } from './sql.js';

export interface Migration {
  id: string;
  /** Written once for both dialects where they agree (SQLite spelling; see `forPostgres`). */
  sql: string;
  /** Only where the dialects differ: the whole PostgreSQL text of this migration. */
  postgres?: string;
}

/**
 * Ordered list of schema changes. Each table group owns one file under migrations/;
 * add a new file (never edit an applied one) and list it here.
 */
export const migrations: Migration[] = [
  { id: '0001-core', sql: core },
  { id: '0100-usage', sql: usage },
  { id: '0200-pull-requests', sql: changes },
  { id: '0300-scripts', sql: scripts, postgres: scriptsPostgres },
  { id: '0400-digests', sql: digests },
  { id: '0500-network-grants', sql: grants },
  { id: '0600-staged-changes', sql: stagedChanges },
  { id: '0700-sessions', sql: sessions },
  { id: '0800-scale-out', sql: scaleOut, postgres: scaleOutPostgres },
  { id: '0900-script-search', sql: scriptSearch, postgres: scriptSearchPostgres },
];

/** The text to run for a dialect. SQLite runs what is written, byte for byte. */
export function migrationText(migration: Migration, dialect: Dialect): string {
  if (dialect === 'sqlite') return migration.sql;
  return migration.postgres ?? forPostgres(migration.sql);
}
