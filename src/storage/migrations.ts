import { sql as core } from './migrations/0001-core.js';
import { sql as usage } from './migrations/0100-usage.js';
import { sql as changes } from './migrations/0200-pull-requests.js';
import { sql as scripts } from './migrations/0300-scripts.js';
import { sql as digests } from './migrations/0400-digests.js';
import { sql as grants } from './migrations/0500-network-grants.js';
import { sql as stagedChanges } from './migrations/0600-staged-changes.js';
import { sql as sessions } from './migrations/0700-sessions.js';

export interface Migration {
  id: string;
  sql: string;
}

/**
 * Ordered list of schema changes. Each table group owns one file under migrations/;
 * add a new file (never edit an applied one) and list it here.
 */
export const migrations: Migration[] = [
  { id: '0001-core', sql: core },
  { id: '0100-usage', sql: usage },
  { id: '0200-pull-requests', sql: changes },
  { id: '0300-scripts', sql: scripts },
  { id: '0400-digests', sql: digests },
  { id: '0500-network-grants', sql: grants },
  { id: '0600-staged-changes', sql: stagedChanges },
  { id: '0700-sessions', sql: sessions },
];
