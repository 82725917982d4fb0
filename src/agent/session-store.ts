import type { Database } from '../storage/database.js';
import type { ChatMessage } from './model-client.js';

/** A thread's conversation with the model, as the next turn continues it. */
export interface Session {
  transcript: ChatMessage[];
  /** The newest Slack message (ts) the conversation already holds. */
  lastTs: string;
  turns: number;
}

interface Row {
  transcript: string;
  turn_start: number;
  last_ts: string;
  previous_last_ts: string | null;
  last_job_id: string;
  turns: number;
}

/**
 * Sessions per thread. Written once per finished turn, in one statement, so a cancelled or
 * crashed job leaves the previous turn's session as it was; a retried job (same id) starts
 * again from where its own first attempt began.
 */
export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The session as job `jobId` should continue it. */
  async forJob(channel: string, threadTs: string, jobId: string): Promise<Session | undefined> {
    const row = await this.db.get<Row>(
      'SELECT transcript, turn_start, last_ts, previous_last_ts, last_job_id, turns FROM sessions WHERE channel = ? AND thread_ts = ?',
      channel,
      threadTs,
    );
    if (!row) return undefined;
    const transcript = parseTranscript(row.transcript);
    if (!transcript) return undefined;
    if (row.last_job_id !== jobId) return { transcript, lastTs: row.last_ts, turns: row.turns };
    // This job already finished a turn once (then failed to post, or was retried): redo it.
    if (row.previous_last_ts === null) return undefined;
    return {
      transcript: transcript.slice(0, row.turn_start),
      lastTs: row.previous_last_ts,
      turns: row.turns - 1,
    };
  }

  async save(input: {
    channel: string;
    threadTs: string;
    jobId: string;
    transcript: ChatMessage[];
    turnStart: number;
    lastTs: string;
    previous: Session | undefined;
  }): Promise<void> {
    await this.db.run(
      `INSERT INTO sessions (channel, thread_ts, transcript, turn_start, last_ts, previous_last_ts, last_job_id, turns, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (channel, thread_ts) DO UPDATE SET transcript = excluded.transcript, turn_start = excluded.turn_start,
           last_ts = excluded.last_ts, previous_last_ts = excluded.previous_last_ts, last_job_id = excluded.last_job_id,
           turns = excluded.turns, updated_at = excluded.updated_at`,
      input.channel,
      input.threadTs,
      JSON.stringify(input.transcript),
      input.turnStart,
      input.lastTs,
      input.previous?.lastTs ?? null,
      input.jobId,
      (input.previous?.turns ?? 0) + 1,
      this.clock(),
    );
  }
}

function parseTranscript(text: string): ChatMessage[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as ChatMessage[]) : undefined;
  } catch {
    return undefined;
  }
}
