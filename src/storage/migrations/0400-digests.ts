/**
 * Digest schedules (one per channel) and the record of every digest run. A run row is
 * unique per (channel, trigger, slot), so two processes can never post the same slot.
 */
export const sql = `
CREATE TABLE digest_schedules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  quiet_digest TEXT NOT NULL DEFAULT 'line' CHECK (quiet_digest IN ('line','skip')),
  source TEXT NOT NULL CHECK (source IN ('command','config')),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','paused','off')),
  next_run_at INTEGER NOT NULL,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  claimed_by TEXT,
  set_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX digest_schedules_due ON digest_schedules (status, next_run_at);

CREATE TABLE digest_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule_id INTEGER,
  channel TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('scheduled','manual')),
  slot INTEGER NOT NULL,
  period_from INTEGER NOT NULL,
  period_to INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running','posted','skipped','failed')),
  message_ts TEXT,
  error TEXT,
  claimed_by TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  UNIQUE (channel, trigger, slot)
);
CREATE INDEX digest_runs_channel ON digest_runs (channel, started_at);
`;
