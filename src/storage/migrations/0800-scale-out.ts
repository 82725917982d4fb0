/**
 * What several processes on one database need (#14):
 * - a hard guarantee of one running (or waiting) job per thread, whatever process claims it;
 * - the processes alive now, so a claim can prefer the one that holds a thread's worktree;
 * - the durable state of each thread's workspace (branch, base commit, head, the commits shipmate
 *   made as a bundle, the uncommitted change as a patch, the process holding the worktree), so
 *   any process can rebuild the worktree and continue;
 * - the patch of a staged change, so Open PR works on a process that never saw the checkout;
 * - the Slack output budget, shared because Slack's rate limits are per app and workspace.
 */
const shared = `
CREATE UNIQUE INDEX jobs_one_active_per_thread ON jobs (channel, thread_ts) WHERE status IN ('running', 'waiting');

CREATE TABLE processes (
  id TEXT PRIMARY KEY,
  capacity INTEGER NOT NULL,
  running INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
);

CREATE TABLE thread_workspaces (
  repo TEXT NOT NULL,
  thread_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  base_commit TEXT NOT NULL,
  head TEXT NOT NULL,
  commits TEXT,
  patch TEXT NOT NULL DEFAULT '',
  holder TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, thread_key)
);
CREATE INDEX thread_workspaces_key ON thread_workspaces (thread_key);

ALTER TABLE changes ADD COLUMN staged_patch TEXT;

CREATE TABLE rate_budgets (
  key TEXT PRIMARY KEY,
  tokens REAL NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

/** PostgreSQL hands out job order from a sequence: MAX(seq)+1 is not safe across processes. */
const sequence = `
CREATE SEQUENCE jobs_seq;
SELECT setval('jobs_seq', COALESCE((SELECT MAX(seq) FROM jobs), 0) + 1, false);
ALTER TABLE jobs ALTER COLUMN seq SET DEFAULT nextval('jobs_seq');
`;

import { forPostgres } from '../migration-dialect.js';

export const sql = shared;
export const postgres = forPostgres(shared) + sequence;
