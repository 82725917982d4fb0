import type { CommandWord } from '../jobs/job-kinds.js';

/**
 * Command words that shipmate handles without the model. Anything else is a request
 * for the agent. Matching is on the whole message after the mention is removed. The shape
 * (`CommandWord`) is stored with command jobs, so its schema lives in src/jobs/job-kinds.ts.
 */
export type { CommandWord } from '../jobs/job-kinds.js';

export function parseCommandWord(text: string): CommandWord | undefined {
  const words = text.trim().replace(/\s+/g, ' ');
  const lower = words.toLowerCase();
  if (/^(quiet|be quiet|stop following|mute)$/.test(lower)) return { name: 'quiet' };
  if (/^(unquiet|unmute|follow|resume)$/.test(lower)) return { name: 'unquiet' };
  if (/^(help|\?)$/.test(lower)) return { name: 'help' };
  if (/^(cancel|stop)$/.test(lower)) return { name: 'cancel' };
  if (/^permissions$/.test(lower)) return { name: 'permissions' };
  let match = /^scripts(?: (.*))?$/i.exec(words);
  if (match) return { name: 'scripts', query: match[1]?.trim() ?? '' };
  match = /^script ([\w.-]+)$/i.exec(words);
  if (match?.[1]) return { name: 'script', script: match[1].toLowerCase() };
  // `run <name>` only with nothing or key=value pairs after it: "run the tests and …" is a request.
  match = /^run ([a-z0-9][\w.-]*)((?:\s+[a-z_][\w-]*=(?:'[^']*'|"[^"]*"|\S*))*)\s*$/i.exec(text.trim());
  if (match?.[1]) return { name: 'run', script: match[1].toLowerCase(), args: match[2]?.trim() ?? '' };
  match = /^delete script ([\w.-]+)$/i.exec(words);
  if (match?.[1]) return { name: 'delete-script', script: match[1].toLowerCase() };
  match = /^propose script ([\w.-]+)$/i.exec(words);
  if (match?.[1]) return { name: 'propose-script', script: match[1].toLowerCase() };
  match = /^budget(?: ([\d_,]+)(?: tokens)?)?$/i.exec(words);
  if (match) return { name: 'budget', tokens: match[1] ? Number(match[1].replace(/[_,]/g, '')) : undefined };
  match = /^digest(?: (.*))?$/i.exec(words);
  if (match) return { name: 'digest', args: match[1]?.trim() ?? '' };
  return undefined;
}

export const helpText = `Here is what I can do:
- **Ask about the code**: \`@shipmate why does checkout double-charge shipping?\`
- **Ask for a small change**: \`@shipmate fix the typo on the pricing page and open a PR\`
- **Team scripts**: \`scripts\`, \`scripts <words>\`, \`script <name>\`, \`run <name> key=value\`, \`delete script <name>\`, \`propose script <name>\`
- **Digests**: \`digest daily 09:00 Europe/Berlin\`, \`digest weekly mon 09:00\`, \`digest off\`, \`digest\`, \`digest now\`
- **In a thread**: I follow replies without a new mention; \`quiet\` stops that, \`resume\` starts it again, \`cancel\` stops what I am doing.
- \`permissions\` lists what each repository is allowed beyond the defaults; \`budget\` shows this channel's daily model budget and \`budget 2000000\` raises it (writers).`;
