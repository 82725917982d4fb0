import { AppError, type ErrorCode, errorTraits, newReferenceId } from '../errors.js';
import { defineAction, recordIdCodec } from './actions.js';
import type { CancelOutcome } from './job-queue.js';
import type { Reply, ReplyAction } from './ports.js';

/** On every status message; the value is the job id. Routed in src/handlers/action-handler.ts. */
export const cancelJobAction = defineAction({ id: 'job_cancel', ...recordIdCodec });
/** Under a failure; the value is the failed job's id. */
export const retryJobAction = defineAction({ id: 'job_retry', ...recordIdCodec });

export const cancelButton = (jobId: string): ReplyAction => cancelJobAction.button(jobId, 'Cancel', 'danger');
export const retryButton = (jobId: string): ReplyAction => retryJobAction.button(jobId, 'Retry');

/** The one sentence for each way a cancel can end, for the thread. */
export function describeCancel(outcome: CancelOutcome): string {
  switch (outcome) {
    case 'cancelled':
      return 'Cancelled.';
    case 'cancel-requested':
      return 'Stopping…';
    case 'already-finished':
      return 'That job already finished.';
    case 'not-found':
      return 'I could not find that job.';
  }
}

export interface Failure {
  code: ErrorCode;
  referenceId: string;
  /** For the operator's log line. */
  message: string;
  level: 'info' | 'warn' | 'error';
  /** For the thread: a plain sentence, what to do next, the reference; Retry where a later try may work. */
  reply: Reply;
}

/** What the thread, the store and the log get for a failed run: the code decides. */
export function describeFailure(error: unknown, jobId: string): Failure {
  const referenceId = newReferenceId();
  const code: ErrorCode = error instanceof AppError ? error.code : 'internal-error';
  const traits = errorTraits(code);
  const userMessage =
    error instanceof AppError && error.userMessage
      ? error.userMessage
      : 'Something went wrong on my side while working on this.';
  // The asker's to fix is routine (info), a service being down is a warning, anything else is
  // shipmate's own failure (error). Only a retryable code gets Retry.
  const level = traits.userFixable ? 'info' : traits.retryable ? 'warn' : 'error';
  const next = traits.retryable
    ? 'To try again, press **Retry** or mention me with the request.'
    : traits.userFixable
      ? 'Retrying the same request would fail the same way; change what the message above says, then mention me again.'
      : 'Retrying will not help until a maintainer fixes this; they can find it in the log by the reference.';
  const reply: Reply = {
    markdown: `${userMessage}\n\n${next} Reference: \`${referenceId}\``,
    ...(traits.retryable ? { actions: [retryButton(jobId)] } : {}),
  };
  return { code, referenceId, level, reply, message: String((error as Error)?.message ?? error) };
}
