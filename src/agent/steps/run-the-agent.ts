import type { Config } from '../../config.js';
import type { JobOf } from '../../jobs/job-kinds.js';
import type { ThreadMessage } from '../../jobs/ports.js';
import type { AgentTool, ToolContext } from '../../jobs/tools.js';
import type { Workspace } from '../../workspace/types.js';
import { type Attachments, withoutImages } from '../attachments.js';
import { buildContext } from '../build-context.js';
import type { ModelClient } from '../model-client.js';
import type { RequestMaterial, ResolvedRepo } from '../ports.js';
import { type AgentRun, runAgent } from '../run-agent.js';
import type { Session, SessionStore } from '../session-store.js';
import type { UsageStore } from '../usage-store.js';
import type { ResolvedRequest } from './resolve-request.js';

export interface RunInput {
  job: JobOf<'agent'>;
  request: ResolvedRequest;
  repo: ResolvedRepo;
  workspace: Workspace;
  thread: ThreadMessage[];
  /** The thread's session as this job continues it (read once, with the thread). */
  session: Session | undefined;
  askerName: string;
  tools: AgentTool[];
  /** Lines for the system prompt from this step's neighbours (plan rule, grants, team scripts). */
  extraRules: string[];
  toolContext: ToolContext;
  /** Untrusted material from other rooms (a PR's review comments), shown like the thread. */
  material?: RequestMaterial[];
  /** The answer's text as it streams in (see runAgent's `onText`). */
  onText?: (delta: string, step: number) => void;
  /** Files shared in the thread, saved in the sandbox (attachments.ts). */
  attachments?: Attachments;
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
    sessions: Pick<SessionStore, 'save'>;
    clock: () => number;
  },
  input: RunInput,
  started: number,
): Promise<RunResult> {
  const { job, request, repo } = input;
  const { session } = input;
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
    since: session?.lastTs,
    instructions: [repo.instructions, deps.config.channels[job.channel]?.instructions].filter(
      (text): text is string => Boolean(text),
    ),
    extraRules: [...(request.planning ? [planRule] : []), ...input.extraRules],
    material: input.material ?? [],
    ...(input.attachments ? { attachments: input.attachments } : {}),
  });
  const run = await runAgent({
    model: deps.model,
    system,
    history: session?.transcript ?? [],
    messages,
    tools: input.tools,
    saveOutput: (text) => saveOutput(input.workspace, job.id, text),
    ...(input.onText ? { onText: input.onText } : {}),
    context: input.toolContext,
    budget: {
      maxSteps: deps.config.limits.maxSteps,
      wallTimeMs: deps.config.limits.wallTimeSeconds * 1000,
      maxTokens: deps.config.limits.jobTokens,
    },
    clock: deps.clock,
  });
  await deps.sessions.save({
    channel: job.channel,
    threadTs: job.threadTs,
    jobId: job.id,
    // Sessions are JSON text: no image bytes in them, a note that they were shown instead.
    transcript: withoutImages(run.transcript),
    turnStart: run.turnStart,
    lastTs: newest(job.messageTs, session?.lastTs),
    previous: session,
  });
  const durationMs = deps.clock() - started;
  const cost = estimateCost(deps.config, deps.model.model, run.usage);
  await deps.usage.record({
    jobId: job.id,
    channel: job.channel,
    userId: job.userId,
    model: deps.model.model,
    promptTokens: run.usage.promptTokens,
    completionTokens: run.usage.completionTokens,
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

let saved = 0;

/**
 * A tool result too large for the transcript, written by the sandbox itself into the
 * checkout's own git dir (never part of a change, readable by later commands): the host
 * writes nothing where the sandbox could have planted a link.
 */
async function saveOutput(workspace: Workspace, jobId: string, text: string): Promise<string | undefined> {
  saved += 1;
  const name = `output-${jobId.slice(0, 8).replace(/[^\w-]/g, '')}-${saved}.txt`;
  const result = await workspace.run(
    'd="$(git rev-parse --absolute-git-dir)/shipmate-output" && mkdir -p "$d" && cat > "$d/$1" && printf %s "$d/$1"',
    { argv: [name], stdin: text, timeoutMs: 20_000 },
  );
  return result.exitCode === 0 && result.stdout.startsWith('/') ? result.stdout.trim() : undefined;
}

function newest(ts: string, other: string | undefined): string {
  if (!other) return ts;
  return Number(ts) >= Number(other) ? ts : other;
}
