import { z } from 'zod';
import { describeError } from '../../errors.js';
import { defineTool } from '../../jobs/tools.js';

const schema = z.object({
  path: z
    .string()
    .min(1)
    .describe('Path of the file, relative to the repository root (no "..", no absolute paths).'),
  old_text: z
    .string()
    .optional()
    .describe('Exact text to replace; must occur exactly once in the file. Leave out to create a new file.'),
  new_text: z.string().describe('The replacement text, or the whole content of a new file.'),
});

export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Change a file in the repository: replace one exact, unique piece of text, or create a new file when old_text is left out. Read the file first.',
  schema,
  progress: ({ path }) => `Editing \`${path}\`…`,
  async run({ path, old_text, new_text }, context) {
    try {
      if (old_text === undefined) {
        let exists = true;
        try {
          await context.workspace.readFile(path);
        } catch {
          exists = false; // reading failed: the file does not exist yet, which is what create wants
        }
        if (exists) return `${path} already exists; pass old_text to change part of it.`;
        await context.workspace.writeFile(path, new_text);
        return `created ${path} (${new_text.split('\n').length} lines)`;
      }
      const current = await context.workspace.readFile(path);
      const count = current.split(old_text).length - 1;
      if (count === 0)
        return `old_text was not found in ${path}; read the file again and copy the text exactly.`;
      if (count > 1)
        return `old_text occurs ${count} times in ${path}; include more surrounding lines so it is unique.`;
      await context.workspace.writeFile(
        path,
        current.replace(old_text, () => new_text),
      );
      return `edited ${path}`;
    } catch (error) {
      return `could not edit ${path}: ${describeError(error)}`;
    }
  },
});
