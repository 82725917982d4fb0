import type { Config, RepoConfig } from '../config.js';
import type { JobOf } from '../jobs/job-kinds.js';
import type { JobHandler, ThreadFiles, ThreadHistory } from '../jobs/ports.js';
import type { ThreadStore } from '../jobs/thread-store.js';
import type { PermissionQuestion, ToolContext, ToolSource, WorkspaceProvider } from '../jobs/tools.js';
import { sandboxEnvFor } from '../workspace/command-env.js';
import type { Workspace } from '../workspace/types.js';
import { modeSwitchButton } from './agent-actions.js';
import { fileNotes, filesToRead, noAttachments, prepareAttachments } from './attachments.js';
import { linkCitations } from './citations.js';
import { visibleSoFar } from './model/normalize.js';
import type { ModelClient } from './model-client.js';
import type {
  AnswerActions,
  ChangeFlow,
  FileLinks,
  GrantedAccess,
  PermissionGate,
  RequestBriefing,
  ResolvedRepo,
} from './ports.js';
import type { SessionStore } from './session-store.js';
import { assembleTools, roomContext } from './steps/assemble-tools.js';
import { decorateAnswer } from './steps/decorate-answer.js';
import { toOutcome } from './steps/outcome.js';
import { type ResolvedRequest, type ResolveRequestDeps, resolveRequest } from './steps/resolve-request.js';
import { runTheAgent } from './steps/run-the-agent.js';
import type { UsageStore } from './usage-store.js';

export interface AgentJobDeps extends ResolveRequestDeps {
  config: Readonly<Config>;
  model: ModelClient | undefined;
  workspaces: WorkspaceProvider;
  history: ThreadHistory;
  usage: UsageStore;
  sessions: SessionStore;
  threads: ThreadStore;
  resolveDefaultBranch: (repo: RepoConfig) => Promise<string>;
  /** Tools and starting context from the other rooms (team scripts, pull requests, permissions). */
  toolSources: readonly ToolSource[];
  changeFlow?: ChangeFlow | undefined;
  permissions?: PermissionGate | undefined;
  answerActions?: AnswerActions | undefined;
  /** Citation links on the repo's forge (src/forge/). */
  fileLinks?: FileLinks | undefined;
  /** Untrusted material for the request, such as the PR's review comments (src/forge/). */
  briefing?: RequestBriefing | undefined;
  /** Files shared in the thread (src/slack/); without it they are not read. */
  threadFiles?: ThreadFiles | undefined;
  clock?: () => number;
}

export const modelMissingMessage =
  'No model is configured yet, so I cannot answer. Set `OPENAI_API_KEY` (for OpenAI) or `OPENAI_BASE_URL` (for any OpenAI-compatible server, for example a local Ollama at `http://localhost:11434/v1`), optionally `SHIPMATE_MODEL`, and restart shipmate.';

const nothingGranted: GrantedAccess = { extraDomains: [], notes: [], answered: () => false };

/**
 * The job behind every mention that is not a command word, as five named steps:
 * resolve the request → assemble tools → run the agent → decorate the answer → outcome.
 */
export function createAgentJob(deps: AgentJobDeps): JobHandler<'agent'> {
  const clock = deps.clock ?? Date.now;
  const run = async (context: Parameters<JobHandler<'agent'>>[0], held: Workspace[]) => {
    const { job } = context;
    const started = clock();
    if (!deps.model) return { reply: { markdown: modelMissingMessage } };
    const step = await resolveRequest(deps, job);
    if ('refusal' in step) return { reply: step.refusal };
    const request = step.resolved;

    const switchTo = modeSwitchButton(job.id, request.mode === 'change' ? 'question' : 'change');
    const headline = modeLine(request);
    // The mode line titles the job's task cards (and leads the status line where Slack cannot stream).
    context.plan?.(headline);
    context.progress('Preparing a fresh checkout…', [switchTo]);
    const { repo, workspace, thread, askerName, session } = await openCheckout(deps, job, request);
    held.push(workspace);
    if (workspace.restored === 'failed') {
      // Another process left this thread's change in the database and it could not be re-applied here.
      context.log.warn({ repo: repo.name }, 'thread-change-not-restored');
      context.progress(
        'The uncommitted change from earlier in this thread could not be restored; continuing from its last commit.',
        [switchTo],
      );
    }
    const access = deps.permissions ? await deps.permissions.prepare(job, repo.name) : nothingGranted;
    const material = deps.briefing
      ? await deps.briefing({
          channel: job.channel,
          threadTs: job.threadTs,
          repo,
          request: request.request,
          mode: request.mode,
        })
      : [];

    const wanted = deps.threadFiles ? filesToRead(thread, session?.lastTs, job.payload.files) : [];
    if (wanted.length > 0) context.progress('Reading the shared files…', [switchTo]);
    const attachments =
      deps.threadFiles && wanted.length > 0
        ? await prepareAttachments(
            {
              files: deps.threadFiles,
              workspace,
              limits: deps.config.limits,
              vision: deps.model.profile.vision,
              signal: context.signal,
              log: context.log,
            },
            wanted,
          )
        : noAttachments;

    const scope = { userId: job.userId, repo: repo.name, channel: job.channel, threadTs: job.threadTs };
    const tools = assembleTools(request, { ...scope, jobId: job.id }, deps.toolSources);
    let asked: PermissionQuestion | undefined;
    const blocked = new Set<string>();
    const toolContext: ToolContext = {
      workspace,
      jobId: job.id,
      userId: job.userId,
      signal: context.signal,
      log: context.log,
      progress: (text) => context.progress(text, [switchTo]),
      ...(context.step ? { step: context.step } : {}),
      commands: {
        timeoutMs: deps.config.limits.commandTimeoutSeconds * 1000,
        env: sandboxEnvFor(repo),
        extraDomains: access.extraDomains,
      },
      ask: (question) => {
        if (!access.answered(question)) asked ??= question;
      },
      reportBlocked: (sentence) => blocked.add(sentence),
    };
    const citing = { commit: workspace.baseCommit, link: deps.fileLinks?.(repo) };
    // A question's (or a plan's) answer streams as it is written; a change ends in its summary.
    const streams = Boolean(context.answer) && (request.mode === 'question' || request.planning);
    const ran = await runTheAgent(
      { config: deps.config, model: deps.model, usage: deps.usage, sessions: deps.sessions, clock },
      {
        job,
        request,
        repo,
        workspace,
        thread,
        session,
        askerName,
        tools,
        extraRules: [
          ...access.notes,
          ...(await roomContext(deps.toolSources, { repo: repo.name, request: request.request })),
        ],
        toolContext,
        material,
        attachments,
        ...(streams && context.answer
          ? { onText: streamAnswer(context.answer, (text) => linkCitations(text, citing)) }
          : {}),
      },
      started,
    );
    const decorated = decorateAnswer({
      streamed: streams,
      run: ran.run,
      blocked: [...blocked],
      repo,
      commit: citing.commit,
      link: citing.link,
      model: deps.model.model,
      cost: ran.cost,
      durationMs: ran.durationMs,
    });
    // What could not be read of the shared files, under the answer like the sandbox's notes.
    const answer = { ...decorated, markdown: decorated.markdown + fileNotes(attachments.notes) };
    const extra = await deps.answerActions?.(job.id, ran.run.toolCalls, {
      request: request.request,
      channel: job.channel,
      threadTs: job.threadTs,
    });
    return toOutcome(deps, {
      job,
      request,
      answer,
      ran,
      asked,
      actions: extra ? [extra] : [],
      change: {
        jobId: job.id,
        channel: job.channel,
        threadTs: job.threadTs,
        messageTs: job.messageTs,
        userId: job.userId,
        request: request.request,
        repo,
        workspace,
        step: context.step,
      },
    });
  };
  return async (context) => {
    const held: Workspace[] = [];
    try {
      return await run(context, held);
    } finally {
      // The thread's working change goes to the database, so any process can continue it.
      for (const workspace of held) {
        await workspace.checkpoint().catch((error: unknown) => {
          context.log.warn({ err: error }, 'thread-workspace-checkpoint-failed');
        });
      }
    }
  };
}

/**
 * Each step's text as it streams, joined as `said` joins them, shown as far as it may be
 * (no thinking, no tool call written as text) and with citations linked, whole each time.
 */
function streamAnswer(
  show: (text: string) => void,
  link: (text: string) => string,
): (delta: string, step: number) => void {
  const steps = new Map<number, string>();
  return (delta, step) => {
    steps.set(step, (steps.get(step) ?? '') + delta);
    const visible = [...steps.values()]
      .map((text) => visibleSoFar(text).trim())
      .filter(Boolean)
      .join('\n\n');
    if (visible) show(link(visible));
  };
}

function modeLine(request: ResolvedRequest): string {
  if (request.planning)
    return `Taking this as a large change request about *${request.repo.name}*: planning first.`;
  return `Taking this as a ${request.mode === 'change' ? 'change request' : 'question'} about *${request.repo.name}*.`;
}

/** The thread's checkout at the default branch, remembered as the thread's repo, and the conversation so far. */
async function openCheckout(deps: AgentJobDeps, job: JobOf<'agent'>, request: ResolvedRequest) {
  const defaultBranch = request.repo.defaultBranch ?? (await deps.resolveDefaultBranch(request.repo));
  const repo: ResolvedRepo = { ...request.repo, defaultBranch };
  await deps.threads.setRepo(job.channel, job.threadTs, repo.name);
  const workspace = await deps.workspaces.acquire(
    repo,
    `${job.channel}-${job.threadTs}`,
    request.request.slice(0, 60),
  );
  const session = await deps.sessions.forJob(job.channel, job.threadTs, job.id);
  const [thread, askerName] = await Promise.all([
    // A thread with a session holds everything up to its last turn: read only what came after.
    deps.history.fetch(job.channel, job.threadTs, { after: session?.lastTs }),
    deps.history.displayName(job.userId),
  ]);
  return { repo, workspace, thread, askerName, session };
}
