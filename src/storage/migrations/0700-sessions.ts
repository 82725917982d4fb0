/**
 * The conversation the model has had in each thread, so a follow-up continues it instead of
 * rebuilding it from Slack (where tool results are not, and long answers come back cut).
 * `transcript` is JSON: Chat Completions messages without the system prompt. The columns
 * `turn_start`, `previous_last_ts` and `last_job_id` let a retried job redo its own turn
 * from where that turn began, so a retry never sees its first attempt twice.
 */
export const sql = `
CREATE TABLE sessions (
  channel TEXT NOT NULL,
  thread_ts TEXT NOT NULL,
  transcript TEXT NOT NULL,
  turn_start INTEGER NOT NULL,
  last_ts TEXT NOT NULL,
  previous_last_ts TEXT,
  last_job_id TEXT NOT NULL,
  turns INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, thread_ts)
);
`;
