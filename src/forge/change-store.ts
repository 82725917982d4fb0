import { z } from 'zod';
import type { Database } from '../storage/database.js';

export type ChangeState = 'proposed' | 'opened' | 'pushed' | 'discarded';

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
  /** What the summary showed: this tree on top of that commit (absent for older records). */
  staged: { parent: string; tree: string } | undefined;
  createdAt: number;
  updatedAt: number;
}

const labelsSchema = z.array(z.string());

/** What a change request produced, so a button click (even after a restart) can act on it. */
export class ChangeStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  save(
    change: Omit<ChangeRecord, 'createdAt' | 'updatedAt' | 'state' | 'prNumber' | 'prUrl' | 'staged'> & {
      staged?: { parent: string; tree: string };
    },
  ): void {
    const now = this.clock();
    this.db
      .prepare(
        `INSERT INTO changes (job_id, channel, thread_ts, user_id, repo, branch, base_commit, title, summary, labels, state,
           staged_parent, staged_tree, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET title = excluded.title, summary = excluded.summary, labels = excluded.labels,
           staged_parent = excluded.staged_parent, staged_tree = excluded.staged_tree, updated_at = excluded.updated_at`,
      )
      .run(
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
        now,
        now,
      );
  }

  get(jobId: string): ChangeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM changes WHERE job_id = ?').get(jobId) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** The pull request already opened from this thread, if any: follow-ups update it. */
  openedInThread(channel: string, threadTs: string): ChangeRecord | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM changes WHERE channel = ? AND thread_ts = ? AND pr_number IS NOT NULL
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get(channel, threadTs) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  markOpened(
    jobId: string,
    prNumber: number | undefined,
    prUrl: string | undefined,
    state: ChangeState,
  ): void {
    this.db
      .prepare('UPDATE changes SET state = ?, pr_number = ?, pr_url = ?, updated_at = ? WHERE job_id = ?')
      .run(state, prNumber ?? null, prUrl ?? null, this.clock(), jobId);
  }

  markDiscarded(jobId: string): void {
    this.db
      .prepare(`UPDATE changes SET state = 'discarded', updated_at = ? WHERE job_id = ?`)
      .run(this.clock(), jobId);
  }

  /** Pull requests opened in a period, for digests. */
  openedBetween(from: number, to: number, channel?: string): ChangeRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM changes WHERE pr_number IS NOT NULL AND updated_at >= ? AND updated_at < ?
           AND (? IS NULL OR channel = ?) ORDER BY updated_at`,
      )
      .all(from, to, channel ?? null, channel ?? null) as Row[];
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
    staged:
      row.staged_parent && row.staged_tree ? { parent: row.staged_parent, tree: row.staged_tree } : undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
