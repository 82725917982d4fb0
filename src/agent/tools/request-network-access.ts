import { z } from 'zod';
import { defineTool } from './tool.js';

const schema = z.object({
  domain: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'a host name or address, optionally with :port')
    .describe('The host the command needs, e.g. "registry.npmjs.org" (optionally with ":443").'),
  reason: z
    .string()
    .min(3)
    .max(300)
    .describe('Why the request needs it, in one sentence a non-engineer understands.'),
});

/**
 * When the sandbox blocked a network request the task really needs, the model asks here.
 * shipmate then asks a writer in the thread (Allow once / Always for this repo / Deny) and
 * runs the request again with the answer; the model never widens the sandbox itself.
 */
export function createRequestNetworkAccessTool(ask: (domain: string, reason: string) => void) {
  return defineTool({
    name: 'request_network_access',
    description:
      'Ask a person in the thread to allow network access to one host, after the sandbox blocked a command that the task really needs. Then stop using tools and say briefly what you were doing; the request is run again once someone answers.',
    schema,
    progress: ({ domain }) => `Asking for access to \`${domain}\`…`,
    async run({ domain, reason }) {
      ask(domain.toLowerCase(), reason);
      return `Asked in the thread for access to ${domain}. Stop now: answer in one or two sentences with what you found so far and what you will do once access is allowed.`;
    },
  });
}
