import { z } from 'zod';
import { defineTool } from '../../jobs/tools.js';
import { describeRunForModel } from '../run-script.js';
import type { ScriptLibrary } from '../script-library.js';

const schema = z.object({
  name: z.string().min(1).describe('The team script’s name, as found with search_scripts.'),
  parameters: z
    .record(z.string(), z.string())
    .default({})
    .describe('Parameter values by name, e.g. {"dir": "src"}. Values are passed as plain strings.'),
});

/** run_script: runs a saved team script in this thread's checkout, in the sandbox. */
export function createRunScriptTool(library: ScriptLibrary, scope: { userId: string; repo: string }) {
  return defineTool({
    name: 'run_script',
    description:
      'Run a saved team script by name in the repository checkout (same sandbox and timeout as shell). Prefer it over rewriting a script that already exists.',
    schema,
    progress: ({ name }) => `Running team script \`${name}\`…`,
    async run({ name, parameters }, context) {
      const script = await library.find(name, scope.repo);
      if (!script) return `There is no team script named "${name}"; use search_scripts to find one.`;
      const lowered = Object.fromEntries(
        Object.entries(parameters).map(([key, value]) => [key.toLowerCase(), value]),
      );
      const outcome = await library.run(script, lowered, {
        workspace: context.workspace,
        userId: scope.userId,
        timeoutMs: context.commands.timeoutMs,
        signal: context.signal,
      });
      if (outcome.kind === 'usage') return `Not run. ${outcome.usage}`;
      return describeRunForModel(script.name, outcome.result, context.commands.timeoutMs);
    },
  });
}
