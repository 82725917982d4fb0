/** What the digests room stores: schedules and runs, as records and as the drivers return their rows. */
export type DigestSource = 'command' | 'config';
export type DigestStatus = 'active' | 'paused' | 'off';
export type QuietDigest = 'line' | 'skip';
export type DigestTrigger = 'scheduled' | 'manual';
export type DigestRunStatus = 'running' | 'posted' | 'skipped' | 'failed';

/** The schedule a channel has; what it means lives in src/digests/. */
export interface DigestScheduleFields {
  /** The words it was set with ("daily 09:00"), shown back to people. */
  spec: string;
  cron: string;
  timezone: string;
  quietDigest: QuietDigest;
  nextRunAt: number;
}

export interface DigestScheduleRecord extends DigestScheduleFields {
  id: number;
  channel: string;
  source: DigestSource;
  status: DigestStatus;
  consecutiveFailures: number;
  lastError: string | undefined;
  claimedBy: string | undefined;
  setBy: string | undefined;
  createdAt: number;
  updatedAt: number;
}

export interface DigestRunRecord {
  id: number;
  scheduleId: number | undefined;
  channel: string;
  trigger: DigestTrigger;
  slot: number;
  periodFrom: number;
  periodTo: number;
  status: DigestRunStatus;
  messageTs: string | undefined;
  error: string | undefined;
  claimedBy: string;
  startedAt: number;
  finishedAt: number | undefined;
}

export interface ScheduleRow {
  id: number;
  channel: string;
  spec: string;
  cron: string;
  timezone: string;
  quiet_digest: QuietDigest;
  source: DigestSource;
  status: DigestStatus;
  next_run_at: number;
  consecutive_failures: number;
  last_error: string | null;
  claimed_by: string | null;
  set_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface RunRow {
  id: number;
  schedule_id: number | null;
  channel: string;
  trigger: DigestTrigger;
  slot: number;
  period_from: number;
  period_to: number;
  status: DigestRunStatus;
  message_ts: string | null;
  error: string | null;
  claimed_by: string;
  started_at: number;
  finished_at: number | null;
}

export function toSchedule(row: ScheduleRow): DigestScheduleRecord {
  return {
    id: row.id,
    channel: row.channel,
    spec: row.spec,
    cron: row.cron,
    timezone: row.timezone,
    quietDigest: row.quiet_digest,
    source: row.source,
    status: row.status,
    nextRunAt: row.next_run_at,
    consecutiveFailures: row.consecutive_failures,
    lastError: row.last_error ?? undefined,
    claimedBy: row.claimed_by ?? undefined,
    setBy: row.set_by ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toRun(row: RunRow): DigestRunRecord {
  return {
    id: row.id,
    scheduleId: row.schedule_id ?? undefined,
    channel: row.channel,
    trigger: row.trigger,
    slot: row.slot,
    periodFrom: row.period_from,
    periodTo: row.period_to,
    status: row.status,
    messageTs: row.message_ts ?? undefined,
    error: row.error ?? undefined,
    claimedBy: row.claimed_by,
    startedAt: row.started_at,
    finishedAt: row.finished_at ?? undefined,
  };
}
