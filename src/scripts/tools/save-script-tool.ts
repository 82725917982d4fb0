import { z } from 'zod';
import { defineTool } from '../../jobs/tools.js';
import type { ScriptLibrary } from '../script-library.js';
import { forbiddenSaveMessage } from '../script-library.js';
import { usageLine } from '../script-rules.js';
import { allRepos, interpreters } from '../script-store.js';

const schema = z.object({
  name: z
    .string()
    .describe(
      'Short lowercase slug people will type to run it, e.g. "weekly-signups" (letters, digits, dashes).',
    ),
  description: z.string().describe('One line saying what the script does and what it prints.'),
  interpreter: z.enum(interpreters).describe('How the body runs: sh, bash, node or python3.'),
  body: z
    .string()
    .describe(
      'The script source. It runs from the repository root. Read parameters from environment variables: PARAM_<NAME> (also plain <NAME>), e.g. "$PARAM_DIR" in bash, process.env.PARAM_DIR in node, os.environ["PARAM_DIR"] in python.',
    ),
  parameters: z
    .array(
      z.object({
        name: z.string().describe('Lowercase parameter name, e.g. "dir"; passed as PARAM_DIR.'),
        description: z.string().describe('What the value means, shown in the usage line.'),
        default: z.string().optional().describe('Value used when it is not given; omit to make it required.'),
      }),
    )
    .default([])
    .describe('Named parameters people pass as key=value when they run it.'),
  scope: z
    .enum(['repo', 'all'])
    .default('repo')
    .describe('"repo" (default): only for this repository; "all": for every repository.'),
  update: z
    .boolean()
    .default(false)
    .describe(
      'Replace an existing script of the same name. Only set it after the user confirmed replacing it.',
    ),
});

export interface SaveScriptScope {
  userId: string;
  repo: string;
  permalink(): Promise<string | undefined>;
}

/** save_script: keeps a useful script in the team library, for this repository or for all. */
export function createSaveScriptTool(library: ScriptLibrary, scope: SaveScriptScope) {
  return defineTool({
    name: 'save_script',
    description:
      'Save a script to the team library so anyone can run it later by name (`run <name> key=value`) without the model. Use it when the user asks to save a script, or after writing one they will want again. Check search_scripts first so you do not duplicate one.',
    schema,
    progress: ({ name }) => `Saving team script \`${name}\`…`,
    async run(input) {
      const result = await library.save(
        {
          name: input.name,
          scope: input.scope === 'all' ? allRepos : scope.repo,
          description: input.description,
          interpreter: input.interpreter,
          body: input.body,
          parameters: input.parameters,
        },
        { userId: scope.userId, permalink: await scope.permalink(), update: input.update },
      );
      switch (result.kind) {
        case 'forbidden':
          return `Not saved. ${forbiddenSaveMessage}`;
        case 'invalid':
          return `Not saved: ${result.problems.join(' ')}`;
        case 'exists':
          return `Not saved: a team script named "${result.existing.name}" already exists (${result.existing.description}; version ${result.existing.version}). Ask the user whether to replace it; only if they agree, call save_script again with update: true. Otherwise pick another name.`;
        case 'saved': {
          const verb =
            result.change === 'added'
              ? 'Saved'
              : `Updated (now version ${result.script.version}; the old one is kept)`;
          return `${verb} team script "${result.script.name}". Tell the user they can run it with:\n${usageLine(result.script.name, result.script.parameters)}`;
        }
      }
    },
  });
}
