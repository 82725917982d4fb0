/** Changes shipmate proposed in a thread, and the pull request each became. */
export const sql = `
CREATE TABLE changes (
  job_id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  thread_ts TEXT NOT NULL,
  user_id TEXT NOT NULL,
  repo TEXT NOT NULL,
  branch TEXT NOT NULL,
  base_commit TEXT NOT NULL,
  title TEXT NOT NULL,
  summary TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '[]',
  state TEXT NOT NULL CHECK (state IN ('proposed', 'opened', 'pushed', 'discarded')),
  pr_number INTEGER,
  pr_url TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX changes_thread ON changes (channel, thread_ts, created_at);
CREATE INDEX changes_time ON changes (updated_at);
`;
