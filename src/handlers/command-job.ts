import type { JobContext, JobHandler, JobOutcome } from '../jobs/ports.js';
import type { CommandWord } from './command-words.js';

/** One command word's implementation, from the room that owns it (scripts, digests, permissions). */
export type CommandRoute<Name extends CommandWord['name'] = CommandWord['name']> = (
  command: Extract<CommandWord, { name: Name }>,
  context: JobContext,
) => Promise<JobOutcome>;

export type CommandRoutes = { [Name in CommandWord['name']]?: CommandRoute<Name> };

/** The job behind command words: no model, straight to the owning room. */
export function createCommandJob(routes: CommandRoutes): JobHandler {
  return async (context) => {
    const command = context.job.payload.command as CommandWord | undefined;
    if (!command)
      return { reply: { markdown: 'I could not read that command; say `help` for what I can do.' } };
    const route = routes[command.name] as CommandRoute | undefined;
    if (!route) return { reply: { markdown: `\`${command.name}\` is not available in this installation.` } };
    return route(command, context);
  };
}
