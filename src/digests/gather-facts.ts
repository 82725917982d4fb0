import type { RepoConfig } from '../config.js';
import { describeError } from '../errors.js';
import type { JobQueue, StoredJob } from '../jobs/job-queue.js';
import type { Logger } from '../log.js';
import type {
  ChangedScript,
  DigestPullRequests,
  DigestScripts,
  MirrorPathFor,
  Permalinks,
  PullRequestState,
} from './ports.js';
import { commitsBetween, type RepoCommits } from './repo-commits.js';

export interface AnsweredThread {
  threadTs: string;
  link: string | undefined;
  question: string;
  answers: number;
}

export interface PullRequestFact {
  repo: string;
  number: number;
  title: string;
  url: string;
  state: PullRequestState | 'unknown';
}

export interface FailedJobFact {
  threadTs: string;
  link: string | undefined;
  request: string;
  code: string | undefined;
  referenceId: string | undefined;
}

/** Everything a digest says that is not generated: from the database, git and the code host. */
export interface DigestFacts {
  channel: string;
  from: number;
  to: number;
  questions: AnsweredThread[];
  /** undefined when no pull-request provider is wired. */
  pullRequests: PullRequestFact[] | undefined;
  /** undefined when the scripts room is not wired. */
  scripts: ChangedScript[] | undefined;
  commits: RepoCommits[];
  failedJobs: FailedJobFact[];
  /** Sections that could not be read, in words ("commits of shop: git failed"). */
  problems: string[];
}

export interface GatherDeps {
  jobs: JobQueue;
  repos: readonly RepoConfig[];
  permalinks: Permalinks;
  mirrorPathFor: MirrorPathFor;
  pullRequests?: DigestPullRequests | undefined;
  scripts?: DigestScripts | undefined;
  log: Logger;
}

/** How many threads get a permalink looked up; a digest shows fewer than this per section. */
const linkedItems = 25;

/** Collects the factual sections without the model. A failing source becomes a problem line, not a failure. */
export async function gatherFacts(
  deps: GatherDeps,
  channel: string,
  from: number,
  to: number,
): Promise<DigestFacts> {
  const problems: string[] = [];
  const jobs = await deps.jobs.finishedBetween(from, to, channel);
  const [questions, failedJobs, pullRequests, scripts, commits] = await Promise.all([
    answeredThreads(deps, channel, jobs),
    failedJobsOf(deps, channel, jobs),
    pullRequestsBetween(deps, channel, from, to, problems),
    scriptsBetween(deps, from, to, problems),
    commitsForChannel(deps, channel, from, to, problems),
  ]);
  return { channel, from, to, questions, pullRequests, scripts, commits, failedJobs, problems };
}

/**
 * Agent jobs that answered a question, one line per thread (follow-ups counted). Change
 * requests, and plans that still wait for "go", are not answers. Replies that stored no
 * result (no model or repository configured) still count, as they always have.
 */
async function answeredThreads(
  deps: GatherDeps,
  channel: string,
  jobs: StoredJob[],
): Promise<AnsweredThread[]> {
  const byThread = new Map<string, { question: string; answers: number }>();
  for (const job of jobs) {
    if (job.kind !== 'agent' || job.status !== 'succeeded') continue;
    if (job.result?.mode === 'change' || job.result?.mode === 'plan') continue;
    const known = byThread.get(job.threadTs);
    if (known) known.answers += 1;
    else byThread.set(job.threadTs, { question: requestText(job), answers: 1 });
  }
  const threads = [...byThread.entries()];
  return Promise.all(
    threads.map(async ([threadTs, thread], index) => ({
      threadTs,
      ...thread,
      link: index < linkedItems ? await permalinkOrNothing(deps, channel, threadTs) : undefined,
    })),
  );
}

async function failedJobsOf(deps: GatherDeps, channel: string, jobs: StoredJob[]): Promise<FailedJobFact[]> {
  const failed = jobs.filter((job) => job.status === 'failed' || job.status === 'interrupted');
  return Promise.all(
    failed.map(async (job, index) => ({
      threadTs: job.threadTs,
      request: requestText(job),
      code: job.errorCode,
      referenceId: job.referenceId,
      link: index < linkedItems ? await permalinkOrNothing(deps, channel, job.threadTs) : undefined,
    })),
  );
}

async function pullRequestsBetween(
  deps: GatherDeps,
  channel: string,
  from: number,
  to: number,
  problems: string[],
): Promise<PullRequestFact[] | undefined> {
  const provider = deps.pullRequests;
  if (!provider) return undefined;
  let opened: Awaited<ReturnType<DigestPullRequests['listOpenedBetween']>>;
  try {
    opened = await provider.listOpenedBetween(from, to, channel);
  } catch (error) {
    deps.log.warn({ err: error, channel }, 'digest-pull-requests-failed');
    problems.push(`pull requests (${describeError(error)})`);
    return [];
  }
  return Promise.all(
    opened.map(async (pr) => {
      const state = await provider.state(pr.repo, pr.number).catch((error: unknown) => {
        deps.log.warn({ err: error, repo: pr.repo, number: pr.number }, 'digest-pull-request-state-failed');
        return 'unknown' as const;
      });
      return { repo: pr.repo, number: pr.number, title: pr.title, url: pr.url, state };
    }),
  );
}

async function scriptsBetween(
  deps: GatherDeps,
  from: number,
  to: number,
  problems: string[],
): Promise<ChangedScript[] | undefined> {
  if (!deps.scripts) return undefined;
  try {
    return await deps.scripts.changedBetween(from, to);
  } catch (error) {
    deps.log.warn({ err: error }, 'digest-scripts-failed');
    problems.push(`team scripts (${describeError(error)})`);
    return [];
  }
}

async function commitsForChannel(
  deps: GatherDeps,
  channel: string,
  from: number,
  to: number,
  problems: string[],
): Promise<RepoCommits[]> {
  const results: RepoCommits[] = [];
  for (const repo of reposForChannel(deps.repos, channel)) {
    try {
      const gitDir = await deps.mirrorPathFor(repo.name);
      if (!gitDir) continue;
      const candidates = repo.defaultBranch ? [repo.defaultBranch] : ['main', 'master'];
      const found = await commitsBetween(gitDir, candidates, from, to);
      if (!found) {
        problems.push(`commits of ${repo.name} (no branch ${candidates.join(' or ')} in the mirror)`);
        continue;
      }
      results.push({ repo: repo.name, branch: found.branch, commits: found.commits });
    } catch (error) {
      deps.log.warn({ err: error, repo: repo.name, channel }, 'digest-commits-failed');
      problems.push(`commits of ${repo.name} (git failed)`);
    }
  }
  return results;
}

/** The repos a channel is mapped to; with none mapped, the only repo when there is just one. */
export function reposForChannel(repos: readonly RepoConfig[], channel: string): RepoConfig[] {
  const mapped = repos.filter((repo) => repo.channels.includes(channel));
  if (mapped.length > 0) return mapped;
  return repos.length === 1 ? [...repos] : [];
}

function requestText(job: StoredJob): string {
  if (job.kind === 'unreadable') return `(${job.storedKind} job)`;
  const text = job.payload.text;
  return text?.trim() ? text : `(${job.kind} job)`;
}

async function permalinkOrNothing(
  deps: GatherDeps,
  channel: string,
  ts: string,
): Promise<string | undefined> {
  try {
    return await deps.permalinks(channel, ts);
  } catch (error) {
    // A missing link only costs the item its link; the digest still posts.
    deps.log.debug({ err: error, channel, ts }, 'digest-permalink-failed');
    return undefined;
  }
}
