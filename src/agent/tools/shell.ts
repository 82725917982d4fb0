import { z } from 'zod';
import { describeError } from '../../errors.js';
import { defineTool, shorten } from '../../jobs/tools.js';

const schema = z.object({
  command: z
    .string()
    .min(1)
    .describe(
      'A bash command run in the repository root inside a sandbox (no network, writes only inside the repository). ripgrep (rg), git, sed, awk and the usual tools are available.',
    ),
});

export const shellTool = defineTool({
  name: 'shell',
  description:
    'Run a shell command in the checked-out repository. Use it to search (rg -n), read files (sed -n 1,120p file), list files, inspect git history and run tests.',
  schema,
  progress: ({ command }) => progressLine(command),
  async run({ command }, context) {
    try {
      const result = await context.workspace.run(command, {
        ...context.commands,
        signal: context.signal,
      });
      const parts = [`exit code: ${result.exitCode ?? `killed (${result.signal ?? 'signal'})`}`];
      if (result.timedOut)
        parts.push(
          `the command timed out after ${Math.round(context.commands.timeoutMs / 1000)} s and was killed`,
        );
      if (result.limitNote) parts.push(result.limitNote);
      if (result.sandboxViolation) {
        parts.push(`blocked by the sandbox: ${result.sandboxViolation}`);
        context.reportBlocked(result.sandboxViolation);
      }
      if (result.stdout) parts.push(`stdout:\n${result.stdout}`);
      if (result.stderr) parts.push(`stderr:\n${result.stderr}`);
      if (!result.stdout && !result.stderr) parts.push('(no output)');
      return parts.join('\n');
    } catch (error) {
      return `the command could not be run: ${describeError(error)}`;
    }
  },
});

function progressLine(command: string): string {
  const search = /^\s*(?:rg|grep|git grep)\b.*?(?:"([^"]+)"|'([^']+)'|\s([\w.$-]{3,}))/.exec(command);
  const term = search?.[1] ?? search?.[2] ?? search?.[3];
  if (term && !term.startsWith('-')) return `Searching for \`${shorten(term, 40)}\`…`;
  return `Running \`${shorten(command)}\`…`;
}
