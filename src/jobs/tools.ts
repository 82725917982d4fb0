import { z } from 'zod';
import type { RepoConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { RunOptions, Workspace } from '../workspace/types.js';
import type { StepHandle } from './ports.js';

/**
 * Tools and what they get. Rooms (agent, scripts, forge, permissions) offer tools; the agent
 * room runs them. Defined here, below every room, so a room that offers a tool never
 * imports the agent.
 */

/** A permission a tool asks a person for; the room that owns `permission` asks and resumes the job. */
export interface PermissionQuestion {
  permission: 'network';
  /** What is asked for (a host, with an optional :port). */
  subject: string;
  /** Why, in one sentence a non-engineer understands. */
  reason: string;
}

/** What a tool gets: never the database or the Slack client. */
export interface ToolContext {
  workspace: Workspace;
  jobId: string;
  userId: string;
  signal: AbortSignal;
  log: Logger;
  progress(text: string): void;
  /** A step of its own (a task card) for one tool call, ended by the caller. */
  step?(title: string): StepHandle;
  /** How this job's commands run: timeout, extra environment, hosts granted to this job. */
  commands: Required<Pick<RunOptions, 'timeoutMs'>> & Pick<RunOptions, 'env' | 'extraDomains'>;
  /** Asks a person for a permission; the job stops after this step and resumes with the answer. */
  ask(question: PermissionQuestion): void;
  /** Called when the sandbox blocked a command, so the answer can say what was needed. */
  reportBlocked(sentence: string): void;
}

/** The scope a room's tools are made for: one request in one thread. */
export interface ToolScope {
  userId: string;
  repo: string;
  channel: string;
  threadTs: string;
}

/** Extra tools and starting context from a room (team scripts, permissions, pull requests). */
export interface ToolSource {
  tools(scope: ToolScope & { mode: 'question' | 'change' | 'plan'; jobId: string }): AgentTool[];
  context?(input: { repo: string; request: string }): string[] | Promise<string[]>;
}

/** Hands out the thread's worktree. Implemented by src/workspace/. */
export interface WorkspaceProvider {
  /** `slug` names a new thread branch (shipmate/<slug>-<id>); an existing worktree keeps its branch. */
  acquire(repo: RepoConfig & { defaultBranch: string }, threadKey: string, slug?: string): Promise<Workspace>;
}

/** One tool: a zod schema (its descriptions are prompt text), a progress line, and run. */
export interface AgentTool<Schema extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: Schema;
  /**
   * Reads only (nothing in the checkout, the database or elsewhere changes), so several such
   * calls in one step may run at once.
   */
  readOnly?: boolean;
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

/**
 * One line of at most `max` characters for a status line or a task card. It ends at a word
 * boundary: a word cut in half could be part of a token the scrubber only knows whole, so a
 * word that does not fit is left out.
 */
export function shorten(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const cut = line.lastIndexOf(' ', max - 1);
  return `${cut > 0 ? line.slice(0, cut) : ''}…`;
}
