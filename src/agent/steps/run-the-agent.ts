import type { Config } from '../../config.js';
import type { JobOf } from '../../jobs/job-kinds.js';
import type { ThreadMessage } from '../../jobs/ports.js';
import type { AgentTool, ToolContext } from '../../jobs/tools.js';
import type { Workspace } from '../../workspace/types.js';
import { buildContext } from '../build-context.js';
import type { ModelClient } from '../model-client.js';
import type { ResolvedRepo } from '../ports.js';
import { type AgentRun, runAgent } from '../run-agent.js';
import type { UsageStore } from '../usage-store.js';
import type { ResolvedRequest } from './resolve-request.js';

export interface RunInput {
  job: JobOf<'agent'>;
  request: ResolvedRequest;
  repo: ResolvedRepo;
  workspace: Workspace;
  thread: ThreadMessage[];
  askerName: string;
  tools: AgentTool[];
  /** Lines for the system prompt from this step's neighbours (plan rule, grants, team scripts). */
  extraRules: string[];
  toolContext: ToolContext;
}

export interface RunResult {
  run: AgentRun;
  cost: number | undefined;
  durationMs: number;
}

const planRule =
  'This change is too large to make in one go. Do NOT edit files now. Explore the code, then answer with a short numbered plan of small steps, each saying which files it touches and how to verify it. Nothing else.';

/** Step 3: the prompt, the model loop within the job's budgets, and the usage it cost. */
export async function runTheAgent(
  deps: {
    config: Readonly<Config>;
    model: ModelClient;
    usage: Pick<UsageStore, 'record'>;
    clock: () => number;
  },
  input: RunInput,
  started: number,
): Promise<RunResult> {
  const { job, request, repo } = input;
  const { system, messages } = await buildContext({
    repo,
    defaultBranch: repo.defaultBranch,
    workspace: input.workspace,
    // A plan is read-only work: the question wording ("do not change files") plus the plan rule.
    mode: request.planning ? 'question' : request.mode,
    askerName: input.askerName,
    request: request.request,
    thread: input.thread,
    requestTs: job.messageTs,
    instructions: [repo.instructions, deps.config.channels[job.channel]?.instructions].filter(
      (text): text is string => Boolean(text),
    ),
    extraRules: [...(request.planning ? [planRule] : []), ...input.extraRules],
  });
  const run = await runAgent({
    model: deps.model,
    system,
    messages,
    tools: input.tools,
    context: input.toolContext,
    budget: {
      maxSteps: deps.config.limits.maxSteps,
      wallTimeMs: deps.config.limits.wallTimeSeconds * 1000,
      maxTokens: deps.config.limits.jobTokens,
    },
    clock: deps.clock,
  });
  const durationMs = deps.clock() - started;
  const cost = estimateCost(deps.config, deps.model.model, run.usage);
  deps.usage.record({
    jobId: job.id,
    channel: job.channel,
    userId: job.userId,
    model: deps.model.model,
    ...run.usage,
    cost,
    steps: run.steps,
    durationMs,
  });
  return { run, cost, durationMs };
}

export function estimateCost(
  config: Pick<Config, 'model'>,
  model: string,
  usage: { promptTokens: number; completionTokens: number },
): number | undefined {
  const price = config.model.prices[model];
  if (!price) return undefined;
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1_000_000;
}
