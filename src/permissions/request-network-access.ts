import { z } from 'zod';
import { defineTool } from '../jobs/tools.js';
import { refuseReason } from '../workspace/network-address.js';

const schema = z.object({
  domain: z
    .string()
    // IPv6 only in [brackets], as in a URL, so the port stays unambiguous.
    .regex(
      /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
      'a host name or address, optionally with :port (IPv6 in [brackets])',
    )
    .describe('The host the command needs, e.g. "registry.npmjs.org" (optionally with ":443").'),
  reason: z
    .string()
    .min(3)
    .max(300)
    .describe('Why the request needs it, in one sentence a non-engineer understands.'),
});

/** Why a host may never be granted (a clause starting "it …"), or undefined. */
export type RefuseHost = (domain: string) => Promise<string | undefined>;

/**
 * When the sandbox blocked a network request the task really needs, the model asks here.
 * shipmate then asks a writer in the thread (Allow once / Always for this repo / Deny) and
 * runs the request again with the answer; the model never widens the sandbox itself.
 * Hosts that would open the server's own services or its cloud credentials are refused
 * here, before anyone is asked: one tired click must not be enough to open them.
 */
export function createRequestNetworkAccessTool(refuse: RefuseHost = (domain) => refuseReason(domain)) {
  return defineTool({
    name: 'request_network_access',
    description:
      'Ask a person in the thread to allow network access to one public host, after the sandbox blocked a command that the task really needs. Then stop using tools and say briefly what you were doing; the request is run again once someone answers. The shipmate server itself, private networks and cloud metadata are never allowed.',
    schema,
    progress: ({ domain }) => `Asking for access to \`${domain}\`…`,
    async run({ domain, reason }, context) {
      const why = await refuse(domain);
      if (why) {
        return `I can't ask for access to ${domain}: ${why} Do the task without it, and tell the person in one sentence why that host is out of reach.`;
      }
      context.ask({ permission: 'network', subject: domain.toLowerCase(), reason });
      return `Asked in the thread for access to ${domain}. Stop now: answer in one or two sentences with what you found so far and what you will do once access is allowed.`;
    },
  });
}
