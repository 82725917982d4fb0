import type { JobQueue } from '../jobs/job-queue.js';
import type { Notifier } from '../jobs/ports.js';
import type { WorkerPool } from '../jobs/worker-pool.js';
import type { Logger } from '../log.js';
import type { IncomingAction } from './types.js';

/** A button implementation from another room (PRs, scripts, permissions). It authorizes on click. */
export type ActionRoute = (action: IncomingAction) => Promise<void>;

export interface ActionHandlerDeps {
  queue: JobQueue;
  pool: WorkerPool;
  notifier: Notifier;
  log: Logger;
  routes?: Record<string, ActionRoute>;
}

/** Button clicks. The ack goes out first; everything here runs after it. */
export function createActionHandler(deps: ActionHandlerDeps): (action: IncomingAction) => void {
  return (action) => {
    setImmediate(() => {
      dispatch(deps, action).catch((error: unknown) =>
        deps.log.error({ err: error, actionId: action.actionId, channel: action.channel }, 'action-failed'),
      );
    });
  };
}

async function dispatch(deps: ActionHandlerDeps, action: IncomingAction): Promise<void> {
  const thread = { channel: action.channel, threadTs: action.threadTs ?? action.messageTs };
  if (action.actionId === 'job_cancel') {
    const sentence = deps.pool.cancel(action.value);
    deps.log.info({ jobId: action.value, user: action.user }, 'job-cancel-clicked');
    if (sentence !== 'Cancelled.' && sentence !== 'Stopping…') {
      await deps.notifier.reply(thread, { markdown: sentence });
    }
    return;
  }
  if (action.actionId === 'job_retry') {
    const original = deps.queue.get(action.value);
    if (!original) {
      await deps.notifier.reply(thread, {
        markdown: 'I could not find that request any more; mention me again.',
      });
      return;
    }
    const job = deps.queue.enqueue({
      kind: original.kind,
      channel: original.channel,
      threadTs: original.threadTs,
      messageTs: original.messageTs,
      userId: action.user,
      payload: original.payload,
    });
    deps.log.info({ jobId: job.id, retryOf: original.id }, 'job-retried');
    deps.pool.submit(job);
    return;
  }
  const route = deps.routes?.[action.actionId];
  if (!route) {
    deps.log.warn({ actionId: action.actionId }, 'action-unknown');
    return;
  }
  await route(action);
}
