import { z } from 'zod';
import type { Database } from '../storage/database.js';

export type ChangeState = 'proposed' | 'opened' | 'pushed' | 'discarded';

/**
 * What a change summary showed: this tree on top of that commit, and (when saved) the same
 * change as a patch, so a process that never saw the checkout can rebuild it.
 */
export interface StagedRecord {
  parent: string;
  tree: string;
  patch?: string | undefined;
}

export interface ChangeRecord {
  jobId: string;
  channel: string;
  threadTs: string;
  userId: string;
  repo: string;
  branch: string;
  baseCommit: string;
  title: string;
  summary: string;
  labels: string[];
  state: ChangeState;
  prNumber: number | undefined;
  prUrl: string | undefined;
  /** Absent for older records, and for changes saved before anything was staged. */
  staged: StagedRecord | undefined;
  createdAt: number;
  updatedAt: number;
}

export type NewChange = Omit<
  ChangeRecord,
  'createdAt' | 'updatedAt' | 'state' | 'prNumber' | 'prUrl' | 'staged'
> & {
  staged?: StagedRecord | undefined;
};

const labelsSchema = z.array(z.string());

/** What a change request produced, so a button click (even after a restart) can act on it. */
export class ChangeStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records a proposed change; saving the same job again updates its text and staged fields. */
  async save(change: NewChange): Promise<void> {
    const now = this.clock();
    await this.db.run(
      `INSERT INTO changes (job_id, channel, thread_ts, user_id, repo, branch, base_commit, title, summary, labels, state,
         staged_parent, staged_tree, staged_patch, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET title = excluded.title, summary = excluded.summary, labels = excluded.labels,
         staged_parent = excluded.staged_parent, staged_tree = excluded.staged_tree,
         staged_patch = excluded.staged_patch, updated_at = excluded.updated_at`,
      change.jobId,
      change.channel,
      change.threadTs,
      change.userId,
      change.repo,
      change.branch,
      change.baseCommit,
      change.title,
      change.summary,
      JSON.stringify(change.labels),
      change.staged?.parent ?? null,
      change.staged?.tree ?? null,
      change.staged?.patch ?? null,
      now,
      now,
    );
  }

  /**
   * Replaces what a saved change has staged (its parent, tree and, optionally, patch), as when
   * the patch is computed after the summary was saved. False when no such change exists.
   */
  async stage(jobId: string, staged: StagedRecord): Promise<boolean> {
    const result = await this.db.run(
      'UPDATE changes SET staged_parent = ?, staged_tree = ?, staged_patch = ?, updated_at = ? WHERE job_id = ?',
      staged.parent,
      staged.tree,
      staged.patch ?? null,
      this.clock(),
      jobId,
    );
    return result.changes > 0;
  }

  async get(jobId: string): Promise<ChangeRecord | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM changes WHERE job_id = ?', jobId);
    return row ? toRecord(row) : undefined;
  }

  /** The pull request already opened from this thread, if any: follow-ups update it. */
  async openedInThread(channel: string, threadTs: string): Promise<ChangeRecord | undefined> {
    // job_id breaks a tie of two changes in one millisecond, the same way on both backends.
    const row = await this.db.get<Row>(
      `SELECT * FROM changes WHERE channel = ? AND thread_ts = ? AND pr_number IS NOT NULL
       ORDER BY created_at DESC, job_id DESC LIMIT 1`,
      channel,
      threadTs,
    );
    return row ? toRecord(row) : undefined;
  }

  async markOpened(
    jobId: string,
    prNumber: number | undefined,
    prUrl: string | undefined,
    state: ChangeState,
  ): Promise<void> {
    await this.db.run(
      'UPDATE changes SET state = ?, pr_number = ?, pr_url = ?, updated_at = ? WHERE job_id = ?',
      state,
      prNumber ?? null,
      prUrl ?? null,
      this.clock(),
      jobId,
    );
  }

  async markDiscarded(jobId: string): Promise<void> {
    await this.db.run(
      `UPDATE changes SET state = 'discarded', updated_at = ? WHERE job_id = ?`,
      this.clock(),
      jobId,
    );
  }

  /** Pull requests opened in a period, for digests, oldest first. */
  async openedBetween(from: number, to: number, channel?: string): Promise<ChangeRecord[]> {
    // Two statements, not `? IS NULL OR channel = ?`: PostgreSQL cannot type a bare NULL parameter.
    const period = 'pr_number IS NOT NULL AND updated_at >= ? AND updated_at < ?';
    const order = 'ORDER BY updated_at, job_id';
    const rows =
      channel === undefined
        ? await this.db.all<Row>(`SELECT * FROM changes WHERE ${period} ${order}`, from, to)
        : await this.db.all<Row>(
            `SELECT * FROM changes WHERE ${period} AND channel = ? ${order}`,
            from,
            to,
            channel,
          );
    return rows.map(toRecord);
  }
}

interface Row {
  job_id: string;
  channel: string;
  thread_ts: string;
  user_id: string;
  repo: string;
  branch: string;
  base_commit: string;
  title: string;
  summary: string;
  labels: string;
  state: ChangeState;
  pr_number: number | null;
  pr_url: string | null;
  staged_parent: string | null;
  staged_tree: string | null;
  staged_patch: string | null;
  created_at: number;
  updated_at: number;
}

function toRecord(row: Row): ChangeRecord {
  const labels = labelsSchema.safeParse(JSON.parse(row.labels));
  return {
    jobId: row.job_id,
    channel: row.channel,
    threadTs: row.thread_ts,
    userId: row.user_id,
    repo: row.repo,
    branch: row.branch,
    baseCommit: row.base_commit,
    title: row.title,
    summary: row.summary,
    labels: labels.success ? labels.data : [],
    state: row.state,
    prNumber: row.pr_number ?? undefined,
    prUrl: row.pr_url ?? undefined,
    staged: toStaged(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toStaged(row: Row): StagedRecord | undefined {
  if (!row.staged_parent || !row.staged_tree) return undefined;
  const staged: StagedRecord = { parent: row.staged_parent, tree: row.staged_tree };
  if (row.staged_patch !== null) staged.patch = row.staged_patch;
  return staged;
}
