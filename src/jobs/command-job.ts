import type { CommandWord } from './job-kinds.js';
import type { JobContext, JobHandler, JobOutcome } from './ports.js';

/** One command word's implementation, from the room that owns it (scripts, digests, permissions). */
export type CommandRoute<Name extends CommandWord['name'] = CommandWord['name']> = (
  command: Extract<CommandWord, { name: Name }>,
  context: JobContext<'command'>,
) => Promise<CommandOutcome>;

export type CommandOutcome = JobOutcome<'command'>;

export type CommandRoutes = { [Name in CommandWord['name']]?: CommandRoute<Name> };

/** The job behind command words: no model, straight to the owning room. */
export function createCommandJob(routes: CommandRoutes): JobHandler<'command'> {
  return async (context) => {
    const { command } = context.job.payload;
    const route = routes[command.name] as CommandRoute | undefined;
    if (!route) return { reply: { markdown: `\`${command.name}\` is not available in this installation.` } };
    return route(command, context);
  };
}
