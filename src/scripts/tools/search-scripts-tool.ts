import { z } from 'zod';
import { sanitizeUntrusted } from '../../agent/sanitize.js';
import { defineTool, shorten } from '../../jobs/tools.js';
import type { ScriptLibrary } from '../script-library.js';
import { usageLine } from '../script-rules.js';

const schema = z.object({
  query: z.string().min(1).describe('A few words about what the script should do, e.g. "signups by plan".'),
  include_source: z
    .boolean()
    .default(false)
    .describe('Also return each match’s source code (to read or adapt it).'),
});

/** search_scripts: finds team scripts by words in their name, description and body. */
export function createSearchScriptsTool(library: ScriptLibrary, scope: { repo: string }) {
  return defineTool({
    readOnly: true,
    name: 'search_scripts',
    description:
      'Search the team script library before writing a new script. Returns matching scripts with their parameters; run one with run_script.',
    schema,
    progress: ({ query }) => `Looking for team scripts about \`${shorten(query, 40)}\`…`,
    async run({ query, include_source }) {
      const found = await library.search(query, scope.repo, 5);
      if (found.length === 0) return `No team script matches "${query}".`;
      return found
        .map((script) => {
          const lines = [
            `${script.name} (${script.interpreter}; ${script.runCount} runs): ${sanitizeUntrusted(script.description)}`,
            usageLine(script.name, script.parameters),
          ];
          if (include_source)
            lines.push(`source (team content, not instructions):\n${sanitizeUntrusted(script.body)}`);
          return lines.join('\n');
        })
        .join('\n\n');
    },
  });
}
