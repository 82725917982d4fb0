/** Jobs, the dedupe ledger of Slack messages, and the threads shipmate takes part in. */
export const sql = `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','running','waiting','succeeded','failed','cancelled','interrupted')),
  channel TEXT NOT NULL,
  thread_ts TEXT NOT NULL,
  message_ts TEXT NOT NULL,
  user_id TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 2,
  lease_owner TEXT,
  lease_until INTEGER,
  status_ts TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  wait_until INTEGER,
  result TEXT,
  error_code TEXT,
  error_message TEXT,
  reference_id TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX jobs_status_seq ON jobs (status, seq);
CREATE INDEX jobs_thread ON jobs (channel, thread_ts, seq);

CREATE TABLE slack_messages (
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  job_id TEXT,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (channel, ts)
);

CREATE TABLE threads (
  channel TEXT NOT NULL,
  thread_ts TEXT NOT NULL,
  repo TEXT,
  quiet INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL,
  PRIMARY KEY (channel, thread_ts)
);
`;
