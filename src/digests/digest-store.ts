import type { Database } from '../storage/database.js';

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

export interface NewDigestRun {
  scheduleId: number | undefined;
  channel: string;
  trigger: DigestTrigger;
  slot: number;
  periodFrom: number;
  periodTo: number;
  claimedBy: string;
}

/**
 * Digest schedules and runs. Every claim is a compare-and-set in one statement, so
 * processes sharing the file agree on who posts which slot.
 */
export class DigestStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  get(channel: string): DigestScheduleRecord | undefined {
    const row = this.db.prepare('SELECT * FROM digest_schedules WHERE channel = ?').get(channel);
    return row ? toSchedule(row as ScheduleRow) : undefined;
  }

  all(): DigestScheduleRecord[] {
    return (this.db.prepare('SELECT * FROM digest_schedules ORDER BY id').all() as ScheduleRow[]).map(
      toSchedule,
    );
  }

  /** A schedule set with the `digest` command: replaces whatever the channel had. */
  setFromCommand(channel: string, fields: DigestScheduleFields, setBy: string): DigestScheduleRecord {
    const now = this.clock();
    this.db
      .prepare(
        `INSERT INTO digest_schedules (channel, spec, cron, timezone, quiet_digest, source, status, next_run_at,
           consecutive_failures, last_error, claimed_by, set_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'command', 'active', ?, 0, NULL, NULL, ?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET spec = excluded.spec, cron = excluded.cron,
           timezone = excluded.timezone, quiet_digest = excluded.quiet_digest, source = 'command',
           status = 'active', next_run_at = excluded.next_run_at, consecutive_failures = 0, last_error = NULL,
           claimed_by = NULL, set_by = excluded.set_by, updated_at = excluded.updated_at`,
      )
      .run(
        channel,
        fields.spec,
        fields.cron,
        fields.timezone,
        fields.quietDigest,
        fields.nextRunAt,
        setBy,
        now,
        now,
      );
    return this.get(channel)!;
  }

  /**
   * A schedule from the config file. Never touches a channel whose schedule was set (or
   * turned off) with the command; keeps next_run_at when the config did not change.
   */
  seedFromConfig(channel: string, fields: DigestScheduleFields): 'added' | 'updated' | 'kept' {
    const now = this.clock();
    const existing = this.get(channel);
    if (existing?.source === 'command') return 'kept';
    if (
      existing &&
      existing.cron === fields.cron &&
      existing.timezone === fields.timezone &&
      existing.quietDigest === fields.quietDigest
    )
      return 'kept';
    this.db
      .prepare(
        `INSERT INTO digest_schedules (channel, spec, cron, timezone, quiet_digest, source, status, next_run_at,
           created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'config', 'active', ?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET spec = excluded.spec, cron = excluded.cron,
           timezone = excluded.timezone, quiet_digest = excluded.quiet_digest, status = 'active',
           next_run_at = excluded.next_run_at, consecutive_failures = 0, last_error = NULL,
           updated_at = excluded.updated_at
         WHERE digest_schedules.source = 'config'`,
      )
      .run(
        channel,
        fields.spec,
        fields.cron,
        fields.timezone,
        fields.quietDigest,
        fields.nextRunAt,
        now,
        now,
      );
    return existing ? 'updated' : 'added';
  }

  /** Config-file schedules whose channel is no longer in the file. */
  removeConfigSchedulesExcept(channels: string[]): number {
    const rows = this.all().filter((row) => row.source === 'config' && !channels.includes(row.channel));
    const remove = this.db.prepare('DELETE FROM digest_schedules WHERE id = ?');
    for (const row of rows) remove.run(row.id);
    return rows.length;
  }

  /** `digest off`: kept as a row (source command) so a config entry does not bring it back. */
  turnOff(channel: string, setBy: string): boolean {
    const result = this.db
      .prepare(
        `UPDATE digest_schedules SET status = 'off', source = 'command', set_by = ?, claimed_by = NULL,
           updated_at = ? WHERE channel = ? AND status != 'off'`,
      )
      .run(setBy, this.clock(), channel);
    return result.changes > 0;
  }

  resume(channel: string, nextRunAt: number, setBy: string): boolean {
    const result = this.db
      .prepare(
        `UPDATE digest_schedules SET status = 'active', next_run_at = ?, consecutive_failures = 0,
           last_error = NULL, claimed_by = NULL, set_by = ?, updated_at = ? WHERE channel = ? AND status != 'active'`,
      )
      .run(nextRunAt, setBy, this.clock(), channel);
    return result.changes > 0;
  }

  /** Active schedules whose next run is at or before `now`. */
  due(now: number): DigestScheduleRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM digest_schedules WHERE status = 'active' AND next_run_at <= ? ORDER BY next_run_at`,
      )
      .all(now) as ScheduleRow[];
    return rows.map(toSchedule);
  }

  /** Compare-and-set: moves next_run_at on only if nobody else did first. True when this caller won. */
  claim(id: number, expectedNextRunAt: number, nextRunAt: number, owner: string): boolean {
    const result = this.db
      .prepare(
        `UPDATE digest_schedules SET next_run_at = ?, claimed_by = ?, updated_at = ?
         WHERE id = ? AND next_run_at = ? AND status = 'active'`,
      )
      .run(nextRunAt, owner, this.clock(), id, expectedNextRunAt);
    return result.changes === 1;
  }

  /** After a failed run: one more failure in a row, and when to try again. Returns the new count. */
  recordFailure(id: number, error: string, retryAt: number, owner: string): number {
    this.db
      .prepare(
        `UPDATE digest_schedules SET consecutive_failures = consecutive_failures + 1, last_error = ?,
           next_run_at = MIN(next_run_at, ?), updated_at = ? WHERE id = ? AND claimed_by = ?`,
      )
      .run(error, retryAt, this.clock(), id, owner);
    const row = this.db
      .prepare('SELECT consecutive_failures AS n FROM digest_schedules WHERE id = ?')
      .get(id) as { n: number } | undefined;
    return row?.n ?? 0;
  }

  recordSuccess(id: number): void {
    this.db
      .prepare(
        'UPDATE digest_schedules SET consecutive_failures = 0, last_error = NULL, updated_at = ? WHERE id = ?',
      )
      .run(this.clock(), id);
  }

  pause(id: number): void {
    this.db
      .prepare(
        `UPDATE digest_schedules SET status = 'paused', updated_at = ? WHERE id = ? AND status = 'active'`,
      )
      .run(this.clock(), id);
  }

  /** Inserts a run for a slot; undefined when that slot was already taken (by any process). */
  startRun(run: NewDigestRun): DigestRunRecord | undefined {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO digest_runs (schedule_id, channel, trigger, slot, period_from, period_to, status,
           claimed_by, started_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(
        run.scheduleId ?? null,
        run.channel,
        run.trigger,
        run.slot,
        run.periodFrom,
        run.periodTo,
        run.claimedBy,
        this.clock(),
      );
    if (result.changes === 0) return undefined;
    return this.run(Number(result.lastInsertRowid));
  }

  finishRun(
    id: number,
    status: Exclude<DigestRunStatus, 'running'>,
    details: { messageTs?: string; error?: string } = {},
  ): void {
    this.db
      .prepare('UPDATE digest_runs SET status = ?, message_ts = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(status, details.messageTs ?? null, details.error ?? null, this.clock(), id);
  }

  run(id: number): DigestRunRecord | undefined {
    const row = this.db.prepare('SELECT * FROM digest_runs WHERE id = ?').get(id);
    return row ? toRun(row as RunRow) : undefined;
  }

  /** Newest first. */
  recentRuns(channel: string, limit: number): DigestRunRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM digest_runs WHERE channel = ? ORDER BY started_at DESC, id DESC LIMIT ?')
      .all(channel, limit) as RunRow[];
    return rows.map(toRun);
  }

  /** Where the last digest that covered its period (posted, or skipped as quiet) ended. */
  coveredUntil(channel: string): number | undefined {
    const row = this.db
      .prepare(
        `SELECT MAX(period_to) AS until FROM digest_runs WHERE channel = ? AND status IN ('posted', 'skipped')`,
      )
      .get(channel) as { until: number | null };
    return row.until ?? undefined;
  }

  /** The start of the earliest run's period (any status): where a channel's digests began. */
  firstPeriodFrom(channel: string): number | undefined {
    const row = this.db
      .prepare('SELECT MIN(period_from) AS since FROM digest_runs WHERE channel = ?')
      .get(channel) as { since: number | null };
    return row.since ?? undefined;
  }

  /** Runs left 'running' by a process that stopped mid-way; they count as failed. */
  failAbandonedRuns(startedBefore: number): number {
    const result = this.db
      .prepare(
        `UPDATE digest_runs SET status = 'failed', error = 'shipmate stopped while posting it', finished_at = ?
         WHERE status = 'running' AND started_at < ?`,
      )
      .run(this.clock(), startedBefore);
    return result.changes;
  }
}

interface ScheduleRow {
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

interface RunRow {
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

function toSchedule(row: ScheduleRow): DigestScheduleRecord {
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

function toRun(row: RunRow): DigestRunRecord {
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
