import type { AgentTool, ToolScope, ToolSource } from '../../jobs/tools.js';
import { editFileTool } from '../tools/edit-file.js';
import { shellTool } from '../tools/shell.js';
import type { ResolvedRequest } from './resolve-request.js';

/**
 * Step 2: the tools this request gets. Everyone gets the shell (read-only in effect: a
 * question's edits are never committed); a change request that is not planning gets
 * edit_file; each room's tool source adds its own (team scripts, pull requests,
 * permissions) and sees the mode, so it can hold back what does not fit.
 */
export function assembleTools(
  request: Pick<ResolvedRequest, 'mode' | 'planning'>,
  scope: ToolScope & { jobId: string },
  sources: readonly ToolSource[],
): AgentTool[] {
  const mode = request.planning ? 'plan' : request.mode;
  const offered = sources.flatMap((source) => source.tools({ ...scope, mode }));
  const names = new Set<string>();
  const tools = [shellTool, ...(mode === 'change' ? [editFileTool] : []), ...offered];
  for (const tool of tools) {
    if (names.has(tool.name)) throw new Error(`two rooms offer a tool named ${tool.name}`);
    names.add(tool.name);
  }
  return tools;
}

/**
 * Step 2, context half: what each room wants the model to know before it starts, in the
 * rooms' order. A room may read its store to answer, so each answer may be a promise.
 */
export async function roomContext(
  sources: readonly ToolSource[],
  input: { repo: string; request: string },
): Promise<string[]> {
  const answers = await Promise.all(sources.map(async (source) => (await source.context?.(input)) ?? []));
  return answers.flat();
}
