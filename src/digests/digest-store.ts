import type { Database } from '../storage/database.js';
import {
  type DigestRunRecord,
  type DigestRunStatus,
  type DigestScheduleFields,
  type DigestScheduleRecord,
  type DigestTrigger,
  type RunRow,
  type ScheduleRow,
  toRun,
  toSchedule,
} from './digest-records.js';

export type {
  DigestRunRecord,
  DigestRunStatus,
  DigestScheduleFields,
  DigestScheduleRecord,
  DigestSource,
  DigestStatus,
  DigestTrigger,
  QuietDigest,
} from './digest-records.js';

export interface NewDigestRun {
  scheduleId: number | undefined;
  channel: string;
  trigger: DigestTrigger;
  slot: number;
  periodFrom: number;
  periodTo: number;
  claimedBy: string;
}

/** A scheduled run to claim: the slot the schedule is due at, and where the schedule goes next. */
export interface ScheduledClaim {
  scheduleId: number;
  channel: string;
  /** The schedule's next_run_at as the caller read it: the slot being claimed. */
  slot: number;
  /** Where next_run_at moves once the slot is claimed. */
  nextRunAt: number;
  periodFrom: number;
  periodTo: number;
  claimedBy: string;
}

/** A run left 'running' past its lease, now failed; `retried` when its schedule was set to try again. */
export interface AbandonedRun {
  runId: number;
  channel: string;
  retried: boolean;
}

const abandonedError = 'shipmate stopped while posting it';

/**
 * Digest schedules and runs, shared by every process on the database. The run row, unique per
 * (channel, trigger, slot), is the claim on a slot; moving the schedule on is a compare-and-set
 * on next_run_at. Each step is one statement, not a transaction held across awaits: nobody
 * waits on another process's transaction, and a process that stops between two steps leaves
 * nothing the next process cannot finish.
 */
export class DigestStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(channel: string): Promise<DigestScheduleRecord | undefined> {
    const row = await this.db.get<ScheduleRow>('SELECT * FROM digest_schedules WHERE channel = ?', channel);
    return row ? toSchedule(row) : undefined;
  }

  async all(): Promise<DigestScheduleRecord[]> {
    return (await this.db.all<ScheduleRow>('SELECT * FROM digest_schedules ORDER BY id')).map(toSchedule);
  }

  /** A schedule set with the `digest` command: replaces whatever the channel had. */
  async setFromCommand(
    channel: string,
    fields: DigestScheduleFields,
    setBy: string,
  ): Promise<DigestScheduleRecord> {
    const now = this.clock();
    const row = await this.db.get<ScheduleRow>(
      `INSERT INTO digest_schedules (channel, spec, cron, timezone, quiet_digest, source, status, next_run_at,
         consecutive_failures, last_error, claimed_by, set_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'command', 'active', ?, 0, NULL, NULL, ?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET spec = excluded.spec, cron = excluded.cron,
         timezone = excluded.timezone, quiet_digest = excluded.quiet_digest, source = 'command',
         status = 'active', next_run_at = excluded.next_run_at, consecutive_failures = 0, last_error = NULL,
         claimed_by = NULL, set_by = excluded.set_by, updated_at = excluded.updated_at
       RETURNING *`,
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
    return toSchedule(row!);
  }

  /**
   * A schedule from the config file. Never touches a channel whose schedule was set (or
   * turned off) with the command; keeps next_run_at when the config did not change, also
   * when several processes start at once and seed the same entry.
   */
  async seedFromConfig(channel: string, fields: DigestScheduleFields): Promise<'added' | 'updated' | 'kept'> {
    const now = this.clock();
    const existing = await this.get(channel);
    if (existing?.source === 'command') return 'kept';
    if (existing && sameTiming(existing, fields)) return 'kept';
    const result = await this.db.run(
      `INSERT INTO digest_schedules (channel, spec, cron, timezone, quiet_digest, source, status, next_run_at,
         created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'config', 'active', ?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET spec = excluded.spec, cron = excluded.cron,
         timezone = excluded.timezone, quiet_digest = excluded.quiet_digest, status = 'active',
         next_run_at = excluded.next_run_at, consecutive_failures = 0, last_error = NULL,
         updated_at = excluded.updated_at
       WHERE digest_schedules.source = 'config' AND (digest_schedules.cron != excluded.cron
         OR digest_schedules.timezone != excluded.timezone OR digest_schedules.quiet_digest != excluded.quiet_digest)`,
      channel,
      fields.spec,
      fields.cron,
      fields.timezone,
      fields.quietDigest,
      fields.nextRunAt,
      now,
      now,
    );
    if (result.changes === 0) return 'kept';
    return existing ? 'updated' : 'added';
  }

  /** Config-file schedules whose channel is no longer in the file. */
  async removeConfigSchedulesExcept(channels: string[]): Promise<number> {
    const rows = (await this.all()).filter(
      (row) => row.source === 'config' && !channels.includes(row.channel),
    );
    let removed = 0;
    for (const row of rows) {
      // A schedule set with the command since it was read stays.
      const result = await this.db.run(
        "DELETE FROM digest_schedules WHERE id = ? AND source = 'config'",
        row.id,
      );
      removed += result.changes;
    }
    return removed;
  }

  /** `digest off`: kept as a row (source command) so a config entry does not bring it back. */
  async turnOff(channel: string, setBy: string): Promise<boolean> {
    const result = await this.db.run(
      `UPDATE digest_schedules SET status = 'off', source = 'command', set_by = ?, claimed_by = NULL,
         updated_at = ? WHERE channel = ? AND status != 'off'`,
      setBy,
      this.clock(),
      channel,
    );
    return result.changes > 0;
  }

  async resume(channel: string, nextRunAt: number, setBy: string): Promise<boolean> {
    const result = await this.db.run(
      `UPDATE digest_schedules SET status = 'active', next_run_at = ?, consecutive_failures = 0,
         last_error = NULL, claimed_by = NULL, set_by = ?, updated_at = ? WHERE channel = ? AND status != 'active'`,
      nextRunAt,
      setBy,
      this.clock(),
      channel,
    );
    return result.changes > 0;
  }

  /** Active schedules whose next run is at or before `now`. */
  async due(now: number): Promise<DigestScheduleRecord[]> {
    const rows = await this.db.all<ScheduleRow>(
      `SELECT * FROM digest_schedules WHERE status = 'active' AND next_run_at <= ? ORDER BY next_run_at, id`,
      now,
    );
    return rows.map(toSchedule);
  }

  /**
   * Claims a due slot: inserts its run row, but only while the schedule is still active and
   * due at that slot (a schedule changed or turned off meanwhile posts nothing). The unique
   * (channel, trigger, slot) lets exactly one process have the row; the schedule then moves
   * on, whoever won. Undefined when another process (or an earlier tick) has the slot.
   */
  async claimScheduled(claim: ScheduledClaim): Promise<DigestRunRecord | undefined> {
    const row = await this.db.get<RunRow>(
      `INSERT INTO digest_runs (schedule_id, channel, trigger, slot, period_from, period_to, status,
         claimed_by, started_at)
       SELECT id, channel, 'scheduled', next_run_at, CAST(? AS BIGINT), CAST(? AS BIGINT), 'running',
         CAST(? AS TEXT), CAST(? AS BIGINT)
       FROM digest_schedules WHERE id = ? AND channel = ? AND next_run_at = ? AND status = 'active'
       ON CONFLICT (channel, trigger, slot) DO NOTHING
       RETURNING *`,
      claim.periodFrom,
      claim.periodTo,
      claim.claimedBy,
      this.clock(),
      claim.scheduleId,
      claim.channel,
      claim.slot,
    );
    // Also when the row was there already: its claimer may have stopped before this step, and
    // a schedule left at a slot that has a run would be due, and refused, forever.
    await this.moveOn(claim);
    return row ? toRun(row) : undefined;
  }

  /** After a failed run: one more failure in a row, and when to try again. Returns the new count. */
  async recordFailure(id: number, error: string, retryAt: number, owner: string): Promise<number> {
    await this.db.run(
      `UPDATE digest_schedules SET consecutive_failures = consecutive_failures + 1, last_error = ?,
         next_run_at = CASE WHEN next_run_at < ? THEN next_run_at ELSE ? END, updated_at = ?
       WHERE id = ? AND claimed_by = ?`,
      error,
      retryAt,
      retryAt,
      this.clock(),
      id,
      owner,
    );
    const row = await this.db.get<{ n: number }>(
      'SELECT consecutive_failures AS n FROM digest_schedules WHERE id = ?',
      id,
    );
    return row?.n ?? 0;
  }

  async recordSuccess(id: number): Promise<void> {
    await this.db.run(
      'UPDATE digest_schedules SET consecutive_failures = 0, last_error = NULL, updated_at = ? WHERE id = ?',
      this.clock(),
      id,
    );
  }

  async pause(id: number): Promise<void> {
    await this.db.run(
      `UPDATE digest_schedules SET status = 'paused', updated_at = ? WHERE id = ? AND status = 'active'`,
      this.clock(),
      id,
    );
  }

  /** Inserts a run for a slot (`digest now`); undefined when that slot was already taken (by any process). */
  async startRun(run: NewDigestRun): Promise<DigestRunRecord | undefined> {
    const row = await this.db.get<RunRow>(
      `INSERT INTO digest_runs (schedule_id, channel, trigger, slot, period_from, period_to, status,
         claimed_by, started_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)
       ON CONFLICT (channel, trigger, slot) DO NOTHING
       RETURNING *`,
      run.scheduleId ?? null,
      run.channel,
      run.trigger,
      run.slot,
      run.periodFrom,
      run.periodTo,
      run.claimedBy,
      this.clock(),
    );
    return row ? toRun(row) : undefined;
  }

  async finishRun(
    id: number,
    status: Exclude<DigestRunStatus, 'running'>,
    details: { messageTs?: string; error?: string } = {},
  ): Promise<void> {
    await this.db.run(
      'UPDATE digest_runs SET status = ?, message_ts = ?, error = ?, finished_at = ? WHERE id = ?',
      status,
      details.messageTs ?? null,
      details.error ?? null,
      this.clock(),
      id,
    );
  }

  async run(id: number): Promise<DigestRunRecord | undefined> {
    const row = await this.db.get<RunRow>('SELECT * FROM digest_runs WHERE id = ?', id);
    return row ? toRun(row) : undefined;
  }

  /** Newest first. */
  async recentRuns(channel: string, limit: number): Promise<DigestRunRecord[]> {
    const rows = await this.db.all<RunRow>(
      'SELECT * FROM digest_runs WHERE channel = ? ORDER BY started_at DESC, id DESC LIMIT ?',
      channel,
      limit,
    );
    return rows.map(toRun);
  }

  /** Where the last digest that covered its period (posted, or skipped as quiet) ended. */
  async coveredUntil(channel: string): Promise<number | undefined> {
    const row = await this.db.get<{ until: number | null }>(
      `SELECT MAX(period_to) AS until FROM digest_runs WHERE channel = ? AND status IN ('posted', 'skipped')`,
      channel,
    );
    return row?.until ?? undefined;
  }

  /** The start of the earliest run's period (any status): where a channel's digests began. */
  async firstPeriodFrom(channel: string): Promise<number | undefined> {
    const row = await this.db.get<{ since: number | null }>(
      'SELECT MIN(period_from) AS since FROM digest_runs WHERE channel = ?',
      channel,
    );
    return row?.since ?? undefined;
  }

  /**
   * Runs left 'running' since before `startedBefore` belong to a process that stopped mid-way:
   * they count as failed, and a scheduled one's schedule is due again at once (unless a later
   * scheduled run already started), so the digest it owed is posted by whichever process
   * ticks next. Each run is taken over by one process only: the UPDATE re-checks 'running'.
   */
  async failAbandonedRuns(startedBefore: number): Promise<AbandonedRun[]> {
    const now = this.clock();
    const failed = await this.db.all<RunRow>(
      `UPDATE digest_runs SET status = 'failed', error = ?, finished_at = ?
       WHERE status = 'running' AND started_at < ?
       RETURNING *`,
      abandonedError,
      now,
      startedBefore,
    );
    const abandoned: AbandonedRun[] = [];
    for (const run of failed.sort((a, b) => a.id - b.id)) {
      const retried =
        run.trigger === 'scheduled' && run.schedule_id !== null && (await this.retrySoon(run, now));
      abandoned.push({ runId: run.id, channel: run.channel, retried });
    }
    return abandoned;
  }

  /** Moves a schedule from a claimed slot to the next one; a no-op once anyone has. */
  private async moveOn(claim: ScheduledClaim): Promise<void> {
    await this.db.run(
      `UPDATE digest_schedules SET next_run_at = ?, updated_at = ?,
         claimed_by = (SELECT claimed_by FROM digest_runs WHERE channel = ? AND trigger = 'scheduled' AND slot = ?)
       WHERE id = ? AND next_run_at = ? AND status = 'active'`,
      claim.nextRunAt,
      this.clock(),
      claim.channel,
      claim.slot,
      claim.scheduleId,
      claim.slot,
    );
  }

  private async retrySoon(run: RunRow, now: number): Promise<boolean> {
    const result = await this.db.run(
      `UPDATE digest_schedules SET next_run_at = CASE WHEN next_run_at < ? THEN next_run_at ELSE ? END,
         consecutive_failures = consecutive_failures + 1, last_error = ?, updated_at = ?
       WHERE id = ? AND status = 'active' AND NOT EXISTS (
         SELECT 1 FROM digest_runs newer WHERE newer.channel = ? AND newer.trigger = 'scheduled' AND newer.slot > ?)`,
      now,
      now,
      abandonedError,
      now,
      run.schedule_id,
      run.channel,
      run.slot,
    );
    return result.changes > 0;
  }
}

function sameTiming(existing: DigestScheduleRecord, fields: DigestScheduleFields): boolean {
  return (
    existing.cron === fields.cron &&
    existing.timezone === fields.timezone &&
    existing.quietDigest === fields.quietDigest
  );
}
