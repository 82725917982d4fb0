/** Model usage per job, for the context line, budgets and digests. */
export const sql = `
CREATE TABLE usage (
  job_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  user_id TEXT NOT NULL,
  model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost REAL,
  steps INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX usage_channel_time ON usage (channel, created_at);

CREATE TABLE channel_budgets (
  channel TEXT PRIMARY KEY,
  daily_tokens INTEGER NOT NULL,
  set_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;
