import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import {
  isJobKind,
  type JobColumns,
  type JobKind,
  type JobStatus,
  jobKinds,
  type StoredJob,
} from './job-kinds.js';

/** A jobs row as both backends return it (BIGINT columns come back as numbers). */
export interface JobRow {
  id: string;
  seq: number;
  kind: string;
  status: JobStatus;
  channel: string;
  thread_ts: string;
  message_ts: string;
  user_id: string;
  payload: string;
  attempts: number;
  max_attempts: number;
  status_ts: string | null;
  cancel_requested: number;
  wait_until: number | null;
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  reference_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** Time-ordered, unguessable ids ("j" + base36 time + random). */
export function newJobId(now: number): string {
  return `j${now.toString(36)}${randomBytes(5).toString('hex')}`;
}

export function toJob(row: JobRow): StoredJob {
  const columns: JobColumns = {
    id: row.id,
    seq: row.seq,
    status: row.status,
    channel: row.channel,
    threadTs: row.thread_ts,
    messageTs: row.message_ts,
    userId: row.user_id,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    statusTs: row.status_ts ?? undefined,
    cancelRequested: row.cancel_requested === 1,
    waitUntil: row.wait_until ?? undefined,
    errorCode: row.error_code ?? undefined,
    errorMessage: row.error_message ?? undefined,
    referenceId: row.reference_id ?? undefined,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
  };
  const unreadable = (problem: string): StoredJob => ({
    ...columns,
    kind: 'unreadable',
    storedKind: row.kind,
    problem,
  });
  if (!isJobKind(row.kind)) return unreadable(`unknown job kind "${row.kind}"`);
  const schemas = jobKinds[row.kind];
  const payload = parseColumn(schemas.payload, row.payload);
  if (!payload.ok) return unreadable(`payload: ${payload.problem}`);
  // Rows finished before results were typed stored {} for "no result".
  const result =
    row.result === null || row.result === '{}' ? undefined : parseColumn(schemas.result, row.result);
  if (result && !result.ok) return unreadable(`result: ${result.problem}`);
  // The kind and the schemas it was parsed with come from the same entry of jobKinds.
  return { ...columns, kind: row.kind, payload: payload.value, result: result?.value } as StoredJob;
}

/** JSON columns are written only by this module, but another version may have written them. */
function parseColumn(
  schema: z.ZodType,
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}` };
}

/** The JSON to store, after checking it against the kind's schema; a mismatch is a bug, so it throws. */
export function checked(kind: JobKind, column: 'payload' | 'result', value: unknown): string {
  const parsed = jobKinds[kind][column].safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `refusing to store a ${kind} ${column} that does not fit its schema: ${parsed.error.message}`,
    );
  }
  return JSON.stringify(parsed.data);
}
