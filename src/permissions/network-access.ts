import type { GrantedAccess, PermissionGate } from '../agent/ports.js';
import { defineAction, isRecordId } from '../jobs/actions.js';
import type { AgentPayload, JobOf } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/ports.js';
import type { GrantStore } from './grant-store.js';
import type { RefuseHost } from './request-network-access.js';

/** A host as the model may ask for it (request_network_access), optionally with :port. */
const hostPattern = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(:\d{1,5})?$/;

/** A network question's answer buttons. Value `jobId|domain`. */
const networkQuestion = {
  encode: ({ jobId, domain }: { jobId: string; domain: string }) => `${jobId}|${domain}`,
  decode: (raw: string) => {
    const [jobId = '', domain = '', ...rest] = raw.split('|');
    if (rest.length > 0 || !isRecordId(jobId) || !hostPattern.test(domain)) return undefined;
    return { jobId, domain };
  },
};
export const permissionActions = {
  once: defineAction({ id: 'perm_once', ...networkQuestion }),
  always: defineAction({ id: 'perm_always', ...networkQuestion }),
  deny: defineAction({ id: 'perm_deny', ...networkQuestion }),
} as const;

/** How long a network question waits for a writer before the job carries on without it. */
export const accessWaitMs = 30 * 60_000;

/**
 * Domains granted to this job (once, or always for the repo) and the questions already answered.
 * Grants are judged again at every use: a row stored before that check existed, or a name
 * whose DNS now points inside, never reaches a command.
 */
export async function networkAccess(
  payload: Pick<AgentPayload, 'grants' | 'denied' | 'asked'>,
  storedAlways: string[],
  refuse: RefuseHost,
) {
  const refused = await refusedOf([...(payload.grants ?? []), ...storedAlways], refuse);
  const usable = (domain: string) => !refused.includes(domain);
  const once = (payload.grants ?? []).filter(usable);
  const always = storedAlways.filter(usable);
  const denied = payload.denied ?? [];
  const asked = payload.asked ?? [];
  const unanswered = asked.filter(
    (domain) =>
      !once.includes(domain) && !denied.includes(domain) && !always.includes(domain) && usable(domain),
  );
  return {
    allowed: [...new Set([...once, ...always])],
    answered: [...once, ...denied, ...asked, ...always, ...refused],
    notes: [
      ...refused.map(
        (domain) =>
          `Network access to ${domain} is never allowed (it is the shipmate server itself, a private network or cloud metadata); do the task without it and do not ask again.`,
      ),
      ...denied.map(
        (domain) => `Network access to ${domain} was denied; do the task without it and do not ask again.`,
      ),
      ...unanswered.map(
        (domain) =>
          `Nobody allowed network access to ${domain} in time; do the task without it and do not ask again.`,
      ),
      ...[...once, ...always].map((domain) => `Commands may now reach ${domain}; retry what needed it.`),
    ],
  };
}

async function refusedOf(domains: string[], refuse: RefuseHost): Promise<string[]> {
  const unique = [...new Set(domains)];
  const verdicts = await Promise.all(unique.map(async (domain) => ((await refuse(domain)) ? domain : '')));
  return verdicts.filter(Boolean);
}

/** The agent's permission port for network access: grants in, a parked question out. */
export function createNetworkGate(deps: {
  grants: Pick<GrantStore, 'domainsFor'>;
  refuse: RefuseHost;
  clock?: () => number;
}): PermissionGate {
  const clock = deps.clock ?? Date.now;
  return {
    async prepare(job, repo): Promise<GrantedAccess> {
      const access = await networkAccess(job.payload, await deps.grants.domainsFor(repo), deps.refuse);
      return {
        extraDomains: access.allowed,
        notes: access.notes,
        answered: (question) => access.answered.includes(question.subject),
      };
    },
    park: (job, question, reply) => parkForAccess(job, question.subject, question.reason, reply, clock()),
  };
}

/** The job waits, without a worker slot, for a writer's answer in the thread. */
function parkForAccess(
  job: JobOf<'agent'>,
  domain: string,
  reason: string,
  reply: { markdown: string; context: string },
  now: number,
): JobOutcome<'agent'> {
  const value = { jobId: job.id, domain };
  return {
    reply: {
      markdown: `${reply.markdown}\n\n**I need network access to \`${domain}\`** to continue: ${reason}\nA writer can allow it once, always for this repository, or deny it. I will wait 30 minutes, then carry on without it.`,
      context: reply.context,
    },
    park: {
      until: now + accessWaitMs,
      statusText: `Waiting for a writer to allow network access to \`${domain}\`.`,
      actions: [
        permissionActions.once.button(value, 'Allow once', 'primary'),
        permissionActions.always.button(value, 'Always for this repo'),
        permissionActions.deny.button(value, 'Deny', 'danger'),
      ],
      payload: { ...job.payload, asked: [...(job.payload.asked ?? []), domain] },
    },
  };
}
