import {
  type ActionRoute,
  type IncomingAction,
  type IncomingViewSubmission,
  routeTable,
  type ViewRoute,
} from '../jobs/actions.js';
import { copyOf, unreadableJobMessage } from '../jobs/job-kinds.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Notifier } from '../jobs/ports.js';
import { cancelJobAction, describeCancel, retryJobAction, type WorkerPool } from '../jobs/worker-pool.js';
import type { Logger } from '../log.js';

/** A button implementation from another room (PRs, scripts, permissions), built with `defineAction(…).route`. */
export type { ActionRoute, ViewRoute } from '../jobs/actions.js';

export interface ActionHandlerDeps {
  queue: JobQueue;
  pool: WorkerPool;
  notifier: Notifier;
  log: Logger;
  routes?: Record<string, ActionRoute>;
}

/** Button clicks. The ack goes out first; everything here runs after it. */
export function createActionHandler(deps: ActionHandlerDeps): (action: IncomingAction) => void {
  const own = jobRoutes(deps);
  for (const id of Object.keys(deps.routes ?? {})) {
    if (Object.hasOwn(own, id)) throw new Error(`the button ${id} is routed twice`);
  }
  const routes: Record<string, ActionRoute> = { ...own, ...deps.routes };
  return (action) => {
    setImmediate(() => {
      dispatch(deps, routes, action).catch((error: unknown) =>
        deps.log.error({ err: error, actionId: action.actionId, channel: action.channel }, 'action-failed'),
      );
    });
  };
}

async function dispatch(
  deps: ActionHandlerDeps,
  routes: Record<string, ActionRoute>,
  action: IncomingAction,
): Promise<void> {
  const route = Object.hasOwn(routes, action.actionId) ? routes[action.actionId] : undefined;
  if (!route) {
    deps.log.warn({ actionId: action.actionId }, 'action-unknown');
    return;
  }
  const refused = await route(action);
  if (refused) {
    deps.log.warn({ actionId: action.actionId, user: action.user }, 'action-value-refused');
    await deps.notifier.reply(threadOf(action), { markdown: refused.refusal });
  }
}

/** Cancel and Retry, drawn by the worker pool. */
function jobRoutes(deps: ActionHandlerDeps) {
  return routeTable(
    cancelJobAction.route(async (jobId, click) => {
      const outcome = await deps.pool.cancel(jobId);
      deps.log.info({ jobId, user: click.user, outcome }, 'job-cancel-clicked');
      // The status message already says "Cancelled." or "Stopping…"; only the other outcomes get a reply.
      if (outcome === 'already-finished' || outcome === 'not-found') {
        await deps.notifier.reply(threadOf(click), { markdown: describeCancel(outcome) });
      }
    }),
    retryJobAction.route(async (jobId, click) => {
      const original = await deps.queue.get(jobId);
      if (!original) {
        await deps.notifier.reply(threadOf(click), {
          markdown: 'I could not find that request any more; mention me again.',
        });
        return;
      }
      if (original.kind === 'unreadable') {
        await deps.notifier.reply(threadOf(click), { markdown: unreadableJobMessage });
        return;
      }
      const job = await deps.queue.enqueue(copyOf(original, { userId: click.user }));
      deps.log.info({ jobId: job.id, retryOf: original.id }, 'job-retried');
      deps.pool.submit(job);
    }),
  );
}

/**
 * Modal submissions, by callback id. A form carries no thread of its own, so metadata that
 * cannot be read is only logged.
 */
export function createViewHandler(deps: {
  routes: Record<string, ViewRoute>;
  log: Logger;
}): (submission: IncomingViewSubmission) => void {
  return (submission) => {
    const route = Object.hasOwn(deps.routes, submission.callbackId)
      ? deps.routes[submission.callbackId]
      : undefined;
    if (!route) {
      deps.log.warn({ callbackId: submission.callbackId }, 'view-unknown');
      return;
    }
    setImmediate(() => {
      route(submission)
        .then((refused) => {
          if (refused) deps.log.warn({ callbackId: submission.callbackId }, 'view-metadata-refused');
        })
        .catch((error: unknown) => deps.log.error({ err: error }, 'view-submission-failed'));
    });
  };
}

function threadOf(action: IncomingAction) {
  return { channel: action.channel, threadTs: action.threadTs ?? action.messageTs };
}
