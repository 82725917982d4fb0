import { type Config, isWriter } from '../config.js';
import { type ActionRoute, type IncomingAction, routeTable } from '../jobs/actions.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { mention } from '../jobs/mentions.js';
import type { Notifier } from '../jobs/ports.js';
import type { ThreadStore } from '../jobs/thread-store.js';
import type { WorkerPool } from '../jobs/worker-pool.js';
import type { Logger } from '../log.js';
import { refuseReason } from '../workspace/network-address.js';
import type { GrantStore } from './grant-store.js';
import { permissionActions } from './network-access.js';

type Answer = 'once' | 'always' | 'deny';

/** Allow once / Always for this repo / Deny on a network question. Writers only, checked on click. */
export function createPermissionActions(deps: {
  config: Readonly<Config>;
  queue: JobQueue;
  pool: WorkerPool;
  threads: ThreadStore;
  grants: GrantStore;
  notifier: Notifier;
  log: Logger;
  /** Why a host may never be granted (a clause starting "it …"); checked again on every click. */
  refuse?: (domain: string) => Promise<string | undefined>;
}): Record<'perm_once' | 'perm_always' | 'perm_deny', ActionRoute> {
  const refuse = deps.refuse ?? ((domain: string) => refuseReason(domain));
  // Clicks on one question take turns in this process: reading the job and requeueing it are
  // several awaits apart, and a second click must see the first one's answer.
  const turns = new Map<string, Promise<void>>();
  const answer =
    (kind: Answer) =>
    ({ jobId, domain }: { jobId: string; domain: string }, action: IncomingAction) =>
      inTurn(turns, jobId, async () => {
        const clicked = await deps.queue.get(jobId, 'agent');
        if (!clicked) return;
        const thread = { channel: clicked.channel, threadTs: clicked.threadTs };
        if (!isWriter(deps.config, action.user)) {
          await deps.notifier.reply(thread, {
            markdown: 'Only people listed in `access.writers` can change what the sandbox may reach.',
          });
          return;
        }
        // The question was checked when the model asked, but a stored or forged button value
        // (or a name whose DNS changed since) must not turn one click into a grant.
        const refused = kind === 'deny' ? undefined : await refuse(domain);
        // Read the job again after the lookup: another click may have answered meanwhile.
        const job = await deps.queue.get(clicked.id, 'agent');
        if (job?.status !== 'waiting') {
          await deps.notifier.reply(thread, { markdown: 'That question was already answered.' });
          return;
        }
        const { payload } = job;
        if (refused) {
          await deps.queue.updatePayload(job, { ...payload, denied: [...(payload.denied ?? []), domain] });
          deps.log.warn({ jobId: job.id, domain, answer: kind, by: action.user }, 'network-access-refused');
          await deps.queue.requeue(job.id, { refundAttempt: true });
          deps.pool.kick();
          await deps.notifier.reply(thread, {
            markdown: `I can't allow \`${domain}\`: ${refused} Continuing without it.`,
          });
          return;
        }
        if (kind === 'once')
          await deps.queue.updatePayload(job, { ...payload, grants: [...(payload.grants ?? []), domain] });
        if (kind === 'deny')
          await deps.queue.updatePayload(job, { ...payload, denied: [...(payload.denied ?? []), domain] });
        const repo = (await deps.threads.get(job.channel, job.threadTs))?.repo;
        if (kind === 'always' && repo) await deps.grants.grant(repo, domain, action.user);
        deps.log.info({ jobId: job.id, domain, answer: kind, by: action.user }, 'network-access-answered');
        await deps.queue.requeue(job.id, { refundAttempt: true });
        deps.pool.kick();
        const said = {
          once: `${mention(action.user)} allowed \`${domain}\` for this request. Continuing.`,
          always: `${mention(action.user)} allowed \`${domain}\` for *${repo ?? 'this repository'}* from now on. Continuing.`,
          deny: `${mention(action.user)} denied access to \`${domain}\`. Continuing without it.`,
        }[kind];
        await deps.notifier.reply(thread, { markdown: said });
      });
  return routeTable(
    permissionActions.once.route(answer('once')),
    permissionActions.always.route(answer('always')),
    permissionActions.deny.route(answer('deny')),
  );
}

/** Runs `work` after the earlier work under the same key has settled. */
function inTurn(turns: Map<string, Promise<void>>, key: string, work: () => Promise<void>): Promise<void> {
  // An earlier click's failure went to its own caller; this click runs regardless.
  const run = (turns.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
  turns.set(key, run);
  const forget = () => {
    if (turns.get(key) === run) turns.delete(key);
  };
  run.then(forget, forget);
  return run;
}
