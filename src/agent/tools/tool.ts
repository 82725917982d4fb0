import { z } from 'zod';
import type { ToolContext } from '../ports.js';

/** One tool: a zod schema (its descriptions are prompt text), a progress line, and run. */
export interface AgentTool<Schema extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: Schema;
  /** The status line shown while it runs ("Running `npm test`…"). */
  progress(input: z.infer<Schema>): string;
  /** The result as text the model can act on; failures are text too, never thrown at the loop. */
  run(input: z.infer<Schema>, context: ToolContext): Promise<string>;
}

export function defineTool<Schema extends z.ZodType>(tool: AgentTool<Schema>): AgentTool<Schema> {
  return tool;
}

/** The Chat Completions `tools` entry for a tool. */
export function toOpenAiTool(tool: AgentTool): {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
} {
  const parameters = z.toJSONSchema(tool.schema, { target: 'draft-7' }) as Record<string, unknown>;
  delete parameters.$schema;
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters } };
}

export function shorten(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
