import type { Config, RepoConfig } from '../../config.js';
import type { JobOf } from '../../jobs/job-kinds.js';
import type { Reply } from '../../jobs/ports.js';
import type { ThreadStore } from '../../jobs/thread-store.js';
import { classifyRequest, type RequestMode } from '../build-context.js';
import type { UsageStore } from '../usage-store.js';

/** A mention, read: which repository, what is asked, and whether it is a question, a change or a plan. */
export interface ResolvedRequest {
  repo: RepoConfig;
  /** The text the model works on (a "go" carries the approved plan). */
  request: string;
  mode: RequestMode;
  /** A large change request: plan first, edit nothing. */
  planning: boolean;
}

export interface ResolveRequestDeps {
  config: Pick<Config, 'repos' | 'limits'>;
  threads: Pick<ThreadStore, 'get'>;
  usage: Pick<UsageStore, 'channelBudget' | 'channelTokensToday'>;
  /** The plan proposed last in this thread and not yet carried out, for a "go" reply. */
  pendingPlan?: (channel: string, threadTs: string) => Promise<{ request: string; plan: string } | undefined>;
}

/**
 * Step 1 of the agent job. A request that cannot go on (no repo, an unknown one, the
 * channel over its budget) becomes a reply, not a throw: it is the asker's to fix, and a
 * Retry button could not help.
 */
export async function resolveRequest(
  deps: ResolveRequestDeps,
  job: Pick<JobOf<'agent'>, 'channel' | 'threadTs' | 'payload'>,
): Promise<{ resolved: ResolvedRequest } | { refusal: Reply }> {
  const picked = await pickRepo(deps, job.channel, job.threadTs, job.payload.text);
  if ('refusal' in picked) return picked;
  const overBudget = await budgetRefusal(deps, job.channel);
  if (overBudget) return { refusal: { markdown: overBudget } };

  const approved = approvesPlan(picked.request)
    ? await deps.pendingPlan?.(job.channel, job.threadTs)
    : undefined;
  const request = approved
    ? `${approved.request}\n\nThe person approved this plan; carry it out:\n${approved.plan}`
    : picked.request;
  const mode: RequestMode = approved ? 'change' : (job.payload.mode ?? classifyRequest(request));
  const planning = mode === 'change' && !approved && job.payload.mode !== 'change' && isLargeRequest(request);
  return { resolved: { repo: picked.repo, request, mode, planning } };
}

/** "go", "go ahead", "lgtm"… at the start of a reply approve the plan proposed before it. */
export function approvesPlan(text: string): boolean {
  return /^(go|go ahead|yes,? go|ok,? go|lgtm)\b/i.test(text.trim());
}

const largeWords =
  /\b(refactor|rewrite|migrate|migration|redesign|overhaul|re-?architect|across (the|all|every)|all (the )?(files|services|modules|endpoints)|every (file|service|module|endpoint))\b/i;

/** Requests that should get a plan before any edit. */
export function isLargeRequest(text: string): boolean {
  return text.length > 600 || largeWords.test(text);
}

/**
 * The repository a thread works on when the message does not name one: the thread's
 * remembered repo, else the one repo mapped to the channel, else the only repo.
 */
export async function repoForThread(
  config: Pick<Config, 'repos'>,
  threads: Pick<ThreadStore, 'get'>,
  channel: string,
  threadTs: string,
): Promise<RepoConfig | undefined> {
  const remembered = (await threads.get(channel, threadTs))?.repo;
  const mapped = config.repos.filter((repo) => repo.channels.includes(channel));
  return (
    config.repos.find((repo) => repo.name === remembered) ??
    (mapped.length === 1 ? mapped[0] : config.repos.length === 1 ? config.repos[0] : undefined)
  );
}

async function pickRepo(
  deps: ResolveRequestDeps,
  channel: string,
  threadTs: string,
  text: string,
): Promise<{ repo: RepoConfig; request: string } | { refusal: Reply }> {
  const repos = deps.config.repos;
  if (repos.length === 0) {
    return {
      refusal: {
        markdown:
          'No repository is configured. Set `SHIPMATE_REPO` to a path or git URL, or list `repos:` in the file named by `SHIPMATE_CONFIG`.',
      },
    };
  }
  const named = /^in ([\w.-]+)\s*([:,])\s*/i.exec(text);
  if (named?.[1]) {
    const wanted = named[1].toLowerCase();
    const repo = repos.find((candidate) => candidate.name.toLowerCase() === wanted);
    if (repo) return { repo, request: text.slice(named[0].length) };
    // "in shop: …" names a repository; "In general, …" is just how a sentence starts.
    if (named[2] === ':') {
      return {
        refusal: { markdown: `I do not know a repository called \`${named[1]}\`. ${listRepos(repos)}` },
      };
    }
  }
  const known = await repoForThread(deps.config, deps.threads, channel, threadTs);
  if (known) return { repo: known, request: text };
  return {
    refusal: {
      markdown: `This channel is not mapped to one repository, so I do not know which one you mean. Start your message with \`in <repo>:\`. ${listRepos(repos)}`,
    },
  };
}

function listRepos(repos: readonly RepoConfig[]): string {
  return `Configured repositories: ${repos.map((repo) => `\`${repo.name}\``).join(', ')}.`;
}

async function budgetRefusal(deps: ResolveRequestDeps, channel: string): Promise<string | undefined> {
  const limit = (await deps.usage.channelBudget(channel)) ?? deps.config.limits.channelDailyTokens;
  if (limit === undefined) return undefined;
  const used = await deps.usage.channelTokensToday(channel);
  if (used < limit) return undefined;
  return `This channel has used its daily model budget (${used.toLocaleString('en-US')} of ${limit.toLocaleString('en-US')} tokens in the last 24 hours). A writer can raise it with \`@shipmate budget <tokens>\`, or try again tomorrow.`;
}
