import type { Config, RepoConfig } from '../config.js';
import { PermissionError } from '../errors.js';
import { sandboxEnvFor } from '../forge/run-checks.js';
import { defineAction, isRecordId } from '../jobs/actions.js';
import type { AgentPayload, AgentResult } from '../jobs/job-kinds.js';
import type { JobHandler, JobOutcome, Reply, ReplyAction } from '../jobs/ports.js';
import type { ThreadStore } from '../storage/thread-store.js';
import type { UsageStore } from '../storage/usage-store.js';
import { refuseReason } from '../workspace/network-address.js';
import { buildContext, classifyRequest, type RequestMode } from './build-context.js';
import { linkCitations } from './citations.js';
import type { ModelClient } from './model-client.js';
import type { ThreadHistory, ToolContext, Workspace } from './ports.js';
import { runAgent } from './run-agent.js';
import { editFileTool } from './tools/edit-file.js';
import { createRequestNetworkAccessTool } from './tools/request-network-access.js';
import { shellTool } from './tools/shell.js';
import type { AgentTool } from './tools/tool.js';

/** Hands out the thread's worktree. Implemented by src/workspace/. */
export interface WorkspaceProvider {
  /** `slug` names a new thread branch (shipmate/<slug>-<id>); an existing worktree keeps its branch. */
  acquire(repo: RepoConfig & { defaultBranch: string }, threadKey: string, slug?: string): Promise<Workspace>;
}

/** What a change request turns into once the agent is done (checks, review, PR). Implemented by src/forge/. */
export interface ChangeFlow {
  /** Extra tools for this job (open_pull_request when the asker may write). */
  tools(input: ChangeInput): AgentTool[];
  finish(input: ChangeInput & { answer: string }): Promise<Reply>;
}

export interface ChangeInput {
  jobId: string;
  channel: string;
  threadTs: string;
  messageTs: string;
  userId: string;
  request: string;
  repo: RepoConfig & { defaultBranch: string };
  workspace: Workspace;
}

/** Extra tools and starting context from other rooms (team scripts). */
export interface ToolSource {
  tools(input: { userId: string; repo: string; channel: string; threadTs: string }): AgentTool[];
  context?(input: { repo: string; request: string }): string[];
}

export interface AgentJobDeps {
  config: Readonly<Config>;
  model: ModelClient | undefined;
  workspaces: WorkspaceProvider;
  history: ThreadHistory;
  usage: UsageStore;
  threads: ThreadStore;
  resolveDefaultBranch: (repo: RepoConfig) => Promise<string>;
  changeFlow?: ChangeFlow;
  toolSources?: ToolSource[];
  /** Extra buttons under an answer, from the tool calls it made (Save as team script). */
  /** "Always for this repo" network grants. */
  grants?: { domainsFor(repo: string): string[] };
  /** Why a host may never be granted (a clause starting "it …"); defaults to the DNS-backed check. */
  refuseHost?: (domain: string) => Promise<string | undefined>;
  /** The plan proposed last in this thread and not yet carried out, for a "go" reply. */
  pendingPlan?: (channel: string, threadTs: string) => { request: string; plan: string } | undefined;
  answerActions?: (
    jobId: string,
    toolCalls: Array<{ name: string; input: unknown }>,
    hints: { request: string; channel: string; threadTs: string },
  ) => ReplyAction | undefined;
  clock?: () => number;
}

/** "Treat as a question / change request" on the status line; routed in main.ts. Value `jobId:mode`. */
export const modeSwitchAction = defineAction({
  id: 'mode_switch',
  encode: ({ jobId, mode }: { jobId: string; mode: RequestMode }) => `${jobId}:${mode}`,
  decode: (raw): { jobId: string; mode: RequestMode } | undefined => {
    const [jobId = '', mode, ...rest] = raw.split(':');
    if (rest.length > 0 || !isRecordId(jobId)) return undefined;
    return mode === 'change' || mode === 'question' ? { jobId, mode } : undefined;
  },
});

const modeSwitchButton = (jobId: string, mode: RequestMode): ReplyAction =>
  modeSwitchAction.button(
    { jobId, mode },
    mode === 'change' ? 'Treat as a change request' : 'Treat as a question',
  );

/** A host as the model may ask for it (request_network_access), optionally with :port. */
const hostPattern = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(:\d{1,5})?$/;

/** A network question's answer buttons; routed in src/handlers/permission-actions.ts. Value `jobId|domain`. */
const networkQuestion = {
  encode: ({ jobId, domain }: { jobId: string; domain: string }) => `${jobId}|${domain}`,
  decode: (raw: string) => {
    const [jobId = '', domain = '', ...rest] = raw.split('|');
    if (rest.length > 0 || !isRecordId(jobId) || !hostPattern.test(domain)) return undefined;
    return { jobId, domain };
  },
};
export const permissionActions = {
  once: defineAction({ id: 'perm_once', ...networkQuestion }),
  always: defineAction({ id: 'perm_always', ...networkQuestion }),
  deny: defineAction({ id: 'perm_deny', ...networkQuestion }),
} as const;

/** The job behind every mention that is not a command word. */
export function createAgentJob(deps: AgentJobDeps): JobHandler<'agent'> {
  return async (context) => {
    const { job } = context;
    const clock = deps.clock ?? Date.now;
    const started = clock();
    if (!deps.model) return { reply: { markdown: modelMissingMessage } };
    const request = job.payload.text;
    const resolved = pickRepo(deps, job.channel, job.threadTs, request);
    if ('outcome' in resolved) return resolved.outcome;
    const picked = resolved;
    checkChannelBudget(deps, job.channel);

    const approved = /^(go|go ahead|yes,? go|ok,? go|lgtm)\b/i.test(picked.request.trim())
      ? deps.pendingPlan?.(job.channel, job.threadTs)
      : undefined;
    if (approved) {
      picked.request = `${approved.request}\n\nThe person approved this plan; carry it out:\n${approved.plan}`;
    }
    const mode: RequestMode = approved ? 'change' : (job.payload.mode ?? classifyRequest(picked.request));
    const planning =
      mode === 'change' && !approved && job.payload.mode !== 'change' && isLargeRequest(picked.request);
    const other: RequestMode = mode === 'change' ? 'question' : 'change';
    const modeLine = planning
      ? `Taking this as a large change request about *${picked.repo.name}*: planning first.`
      : `Taking this as a ${mode === 'change' ? 'change request' : 'question'} about *${picked.repo.name}*.`;
    context.progress(`${modeLine} Preparing a fresh checkout…`, [modeSwitchButton(job.id, other)]);

    const defaultBranch = picked.repo.defaultBranch ?? (await deps.resolveDefaultBranch(picked.repo));
    const repo = { ...picked.repo, defaultBranch };
    deps.threads.setRepo(job.channel, job.threadTs, repo.name);
    const workspace = await deps.workspaces.acquire(
      repo,
      `${job.channel}-${job.threadTs}`,
      picked.request.slice(0, 60),
    );
    const [thread, askerName] = await Promise.all([
      deps.history.fetch(job.channel, job.threadTs),
      deps.history.displayName(job.userId),
    ]);

    const refuseHost = deps.refuseHost ?? ((domain: string) => refuseReason(domain));
    const access = await networkAccess(job.payload, deps.grants?.domainsFor(repo.name) ?? [], refuseHost);
    const changeInput = {
      jobId: job.id,
      channel: job.channel,
      threadTs: job.threadTs,
      messageTs: job.messageTs,
      userId: job.userId,
      request: picked.request,
      repo,
      workspace,
    };
    const scopes = { userId: job.userId, repo: repo.name, channel: job.channel, threadTs: job.threadTs };
    const tools: AgentTool[] = [
      shellTool,
      ...(mode === 'change' && !planning
        ? [editFileTool, ...(deps.changeFlow?.tools(changeInput) ?? [])]
        : []),
      ...(deps.toolSources ?? []).flatMap((source) => source.tools(scopes)),
      createRequestNetworkAccessTool((domain, reason) => {
        if (!access.answered.includes(domain)) access.request ??= { domain, reason };
      }, refuseHost),
    ];
    const { system, messages } = await buildContext({
      repo,
      defaultBranch,
      workspace,
      mode,
      askerName,
      request: picked.request,
      thread,
      requestTs: job.messageTs,
      instructions: [repo.instructions, deps.config.channels[job.channel]?.instructions].filter(
        (text): text is string => Boolean(text),
      ),
      extraRules: [
        ...(planning ? [planRule] : []),
        ...access.notes,
        ...(deps.toolSources ?? []).flatMap(
          (source) => source.context?.({ repo: repo.name, request: picked.request }) ?? [],
        ),
      ],
    });
    const blocked = new Set<string>();
    const toolContext: ToolContext = {
      workspace,
      jobId: job.id,
      userId: job.userId,
      signal: context.signal,
      log: context.log,
      progress: (text) => context.progress(`${modeLine} ${text}`, [modeSwitchButton(job.id, other)]),
      commandTimeoutMs: deps.config.limits.commandTimeoutSeconds * 1000,
      commandEnv: sandboxEnvFor(repo),
      extraDomains: access.allowed,
      reportBlocked: (sentence) => blocked.add(sentence),
    };
    const run = await runAgent({
      model: deps.model,
      system,
      messages,
      tools,
      context: toolContext,
      budget: {
        maxSteps: deps.config.limits.maxSteps,
        wallTimeMs: deps.config.limits.wallTimeSeconds * 1000,
        maxTokens: deps.config.limits.jobTokens,
      },
      clock,
    });
    const durationMs = clock() - started;
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

    let answer = run.answer.trim() || '_The model returned an empty answer._';
    if (run.stoppedBy)
      answer += `\n\n_I stopped early because the ${budgetName[run.stoppedBy]} ran out; this is what I found so far._`;
    if (blocked.size > 0) answer += `\n\n${blockedNote([...blocked], repo.name)}`;
    answer = linkCitations(answer, { repo, commit: workspace.baseCommit, webUrl: githubWebUrl(deps.config) });
    const contextLine = usageLine(deps.model.model, run, cost, durationMs);
    const extra = deps.answerActions?.(job.id, run.toolCalls, {
      request: picked.request,
      channel: job.channel,
      threadTs: job.threadTs,
    });
    const actions = extra ? [extra] : [];
    if (access.request) {
      return parkForAccess(job.id, job.payload, access.request, answer, contextLine);
    }
    if (planning) {
      return {
        reply: {
          markdown: `${answer}\n\n_This is more than a small fix, so here is a plan first. Reply **go** in this thread and I will start on it, or tell me what to change._`,
          context: contextLine,
        },
        result: {
          mode: 'plan',
          repo: repo.name,
          plan: answer,
          planFor: picked.request,
          steps: run.steps,
          promptTokens: run.usage.promptTokens,
          completionTokens: run.usage.completionTokens,
          cost: cost ?? null,
        },
        statusText: `Done: a plan for a change to *${repo.name}*; waiting for "go".`,
      };
    }
    if (mode === 'change' && deps.changeFlow) {
      const reply = await deps.changeFlow.finish({ ...changeInput, answer });
      return outcome(
        { ...reply, context: contextLine, actions: [...(reply.actions ?? []), ...actions] },
        run,
        cost,
        mode,
        repo.name,
      );
    }
    return outcome({ markdown: answer, context: contextLine, actions }, run, cost, mode, repo.name);
  };
}

/** What the sandbox refused, and the one safe way to allow it: the config file, never a message. */
function blockedNote(sentences: string[], repo: string): string {
  const list = sentences
    .slice(0, 5)
    .map((sentence) => `- ${sentence}`)
    .join('\n');
  return `_The sandbox blocked ${sentences.length === 1 ? 'a command' : 'some commands'} while I worked:_\n${list}\n_If that access is needed, a maintainer can allow the domain for *${repo}* with \`allowedDomains\` in the shipmate config (see \`@shipmate permissions\`); writes outside the checkout are never allowed._`;
}

/**
 * Domains granted to this job (once, or always for the repo) and the questions already answered.
 * Grants are judged again at every use: a row stored before that check existed, or a name
 * whose DNS now points inside, never reaches a command.
 */
export async function networkAccess(
  payload: Pick<AgentPayload, 'grants' | 'denied' | 'asked'>,
  storedAlways: string[],
  refuse: (domain: string) => Promise<string | undefined>,
) {
  const refused = await refusedOf([...(payload.grants ?? []), ...storedAlways], refuse);
  const usable = (domain: string) => !refused.includes(domain);
  const once = (payload.grants ?? []).filter(usable);
  const always = storedAlways.filter(usable);
  const denied = payload.denied ?? [];
  const asked = payload.asked ?? [];
  const unanswered = asked.filter(
    (domain) =>
      !once.includes(domain) && !denied.includes(domain) && !always.includes(domain) && usable(domain),
  );
  return {
    allowed: [...new Set([...once, ...always])],
    answered: [...once, ...denied, ...asked, ...always, ...refused],
    request: undefined as { domain: string; reason: string } | undefined,
    notes: [
      ...refused.map(
        (domain) =>
          `Network access to ${domain} is never allowed (it is the shipmate server itself, a private network or cloud metadata); do the task without it and do not ask again.`,
      ),
      ...denied.map(
        (domain) => `Network access to ${domain} was denied; do the task without it and do not ask again.`,
      ),
      ...unanswered.map(
        (domain) =>
          `Nobody allowed network access to ${domain} in time; do the task without it and do not ask again.`,
      ),
      ...[...once, ...always].map((domain) => `Commands may now reach ${domain}; retry what needed it.`),
    ],
  };
}

async function refusedOf(
  domains: string[],
  refuse: (domain: string) => Promise<string | undefined>,
): Promise<string[]> {
  const unique = [...new Set(domains)];
  const verdicts = await Promise.all(unique.map(async (domain) => ((await refuse(domain)) ? domain : '')));
  return verdicts.filter(Boolean);
}

/** The job waits, without a worker slot, for a writer's answer in the thread. */
function parkForAccess(
  jobId: string,
  payload: AgentPayload,
  request: { domain: string; reason: string },
  answer: string,
  context: string,
): JobOutcome<'agent'> {
  const value = { jobId, domain: request.domain };
  return {
    reply: {
      markdown: `${answer}\n\n**I need network access to \`${request.domain}\`** to continue: ${request.reason}\nA writer can allow it once, always for this repository, or deny it. I will wait 30 minutes, then carry on without it.`,
      context,
    },
    park: {
      until: Date.now() + accessWaitMs,
      statusText: `Waiting for a writer to allow network access to \`${request.domain}\`.`,
      actions: [
        permissionActions.once.button(value, 'Allow once', 'primary'),
        permissionActions.always.button(value, 'Always for this repo'),
        permissionActions.deny.button(value, 'Deny', 'danger'),
      ],
      payload: { ...payload, asked: [...(payload.asked ?? []), request.domain] },
    },
  };
}

const accessWaitMs = 30 * 60_000;

const planRule =
  'This change is too large to make in one go. Do NOT edit files now. Explore the code, then answer with a short numbered plan of small steps, each saying which files it touches and how to verify it. Nothing else.';

const largeWords =
  /\b(refactor|rewrite|migrate|migration|redesign|overhaul|re-?architect|across (the|all|every)|all (the )?(files|services|modules|endpoints)|every (file|service|module|endpoint))\b/i;

/** Requests that should get a plan before any edit. */
export function isLargeRequest(text: string): boolean {
  return text.length > 600 || largeWords.test(text);
}

const budgetName = { steps: 'step budget', time: 'time budget', tokens: 'token budget' } as const;

export const modelMissingMessage =
  'No model is configured yet, so I cannot answer. Set `OPENAI_API_KEY` (for OpenAI) or `OPENAI_BASE_URL` (for any OpenAI-compatible server, for example a local Ollama at `http://localhost:11434/v1`), optionally `SHIPMATE_MODEL`, and restart shipmate.';

function outcome(
  reply: Reply,
  run: { steps: number; usage: { promptTokens: number; completionTokens: number } },
  cost: number | undefined,
  mode: RequestMode,
  repo: string,
): JobOutcome<'agent'> {
  const result: AgentResult = {
    mode,
    repo,
    steps: run.steps,
    promptTokens: run.usage.promptTokens,
    completionTokens: run.usage.completionTokens,
    cost: cost ?? null,
  };
  return {
    reply,
    result,
    statusText: `Done: ${mode === 'change' ? 'change request' : 'question'} about *${repo}*.`,
  };
}

/**
 * The repository a thread works on when the message does not name one: the thread's
 * remembered repo, else the one repo mapped to the channel, else the only repo.
 */
export function repoForThread(
  config: Pick<Config, 'repos'>,
  threads: Pick<ThreadStore, 'get'>,
  channel: string,
  threadTs: string,
): RepoConfig | undefined {
  const remembered = threads.get(channel, threadTs)?.repo;
  const mapped = config.repos.filter((repo) => repo.channels.includes(channel));
  return (
    config.repos.find((repo) => repo.name === remembered) ??
    (mapped.length === 1 ? mapped[0] : config.repos.length === 1 ? config.repos[0] : undefined)
  );
}

function pickRepo(
  deps: AgentJobDeps,
  channel: string,
  threadTs: string,
  text: string,
): { repo: RepoConfig; request: string } | { outcome: JobOutcome<'agent'> } {
  const repos = deps.config.repos;
  if (repos.length === 0) {
    return {
      outcome: {
        reply: {
          markdown:
            'No repository is configured. Set `SHIPMATE_REPO` to a path or git URL, or list `repos:` in the file named by `SHIPMATE_CONFIG`.',
        },
      },
    };
  }
  const named = /^in ([\w.-]+)\s*[:,]\s*/i.exec(text);
  if (named?.[1]) {
    const repo = repos.find((candidate) => candidate.name.toLowerCase() === named[1]!.toLowerCase());
    if (repo) return { repo, request: text.slice(named[0].length) };
    return {
      outcome: {
        reply: { markdown: `I do not know a repository called \`${named[1]}\`. ${listRepos(repos)}` },
      },
    };
  }
  const known = repoForThread(deps.config, deps.threads, channel, threadTs);
  if (known) return { repo: known, request: text };
  return {
    outcome: {
      reply: {
        markdown: `This channel is not mapped to one repository, so I do not know which one you mean. Start your message with \`in <repo>:\`. ${listRepos(repos)}`,
      },
    },
  };
}

function listRepos(repos: readonly RepoConfig[]): string {
  return `Configured repositories: ${repos.map((repo) => `\`${repo.name}\``).join(', ')}.`;
}

function checkChannelBudget(deps: AgentJobDeps, channel: string): void {
  const limit = deps.usage.channelBudget(channel) ?? deps.config.limits.channelDailyTokens;
  if (limit === undefined) return;
  const used = deps.usage.channelTokensToday(channel);
  if (used < limit) return;
  throw new PermissionError('channel-budget-exceeded', `channel ${channel} used ${used} of ${limit} tokens`, {
    userMessage: `This channel has used its daily model budget (${used.toLocaleString('en-US')} of ${limit.toLocaleString('en-US')} tokens in the last 24 hours). A writer can raise it, or try again tomorrow.`,
  });
}

function estimateCost(
  config: Readonly<Config>,
  model: string,
  usage: { promptTokens: number; completionTokens: number },
): number | undefined {
  const price = config.model.prices[model];
  if (!price) return undefined;
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1_000_000;
}

function usageLine(
  model: string,
  run: { steps: number; usage: { promptTokens: number; completionTokens: number } },
  cost: number | undefined,
  durationMs: number,
): string {
  const tokens = `${run.usage.promptTokens.toLocaleString('en-US')} in / ${run.usage.completionTokens.toLocaleString('en-US')} out`;
  const money = cost === undefined ? '' : ` · ~$${cost.toFixed(cost < 0.01 ? 4 : 2)}`;
  return `${model} · ${run.steps} ${run.steps === 1 ? 'step' : 'steps'} · ${tokens} tokens${money} · ${(durationMs / 1000).toFixed(1)} s`;
}

function githubWebUrl(config: Readonly<Config>): string {
  const api = config.github.apiUrl;
  if (!api || /api\.github\.com/.test(api)) return 'https://github.com';
  return api.replace(/\/api\/v3\/?$/, '').replace(/\/$/, '');
}
