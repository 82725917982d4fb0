import type { RepoConfig } from '../config.js';
import type { JobOf } from '../jobs/job-kinds.js';
import type { JobOutcome, Reply, ReplyAction, StepHandle } from '../jobs/ports.js';
import type { PermissionQuestion } from '../jobs/tools.js';
import type { Workspace } from '../workspace/types.js';

/**
 * What the agent room needs from the rooms around it. Each port is implemented by the
 * room named beside it and passed in by main.ts, so the agent never imports those rooms.
 */

export type ResolvedRepo = RepoConfig & { defaultBranch: string };

/** One change request once the agent is done with it. */
export interface ChangeInput {
  jobId: string;
  channel: string;
  threadTs: string;
  messageTs: string;
  userId: string;
  request: string;
  repo: ResolvedRepo;
  workspace: Workspace;
  /** Shows a step of the flow (the checks, the review) as a task card; absent in some tests. */
  step?: ((title: string) => StepHandle) | undefined;
}

/** What a change request turns into once the agent is done (checks, review, PR). Implemented by src/forge/. */
export interface ChangeFlow {
  finish(input: ChangeInput & { answer: string }): Promise<Reply>;
}

/** A link to lines of a file at a commit, on the repository's forge (`end` for a range). */
export type FileLink = (commit: string, path: string, start: number, end?: number) => string;

/** The file links of a repo's forge, for citations; undefined when it names none. Implemented by src/forge/. */
export type FileLinks = (repo: ResolvedRepo) => FileLink | undefined;

/**
 * Untrusted material another room has for one request (the open review comments of the
 * thread's pull request). The model sees it as information, quoted and labelled, like the
 * thread's messages: never as instructions.
 */
export interface RequestMaterial {
  /** What it is and who wrote it, said by shipmate ("Open review comments on pull request #3 …"). */
  heading: string;
  /** One entry each: `label` is shipmate's (author, file:line), `text` is theirs. */
  entries: Array<{ label: string; text: string }>;
}

/** Material for one request, or none. A failure the team can fix throws an AppError with a userMessage. Implemented by src/forge/. */
export type RequestBriefing = (input: {
  channel: string;
  threadTs: string;
  repo: ResolvedRepo;
  request: string;
  mode: 'question' | 'change';
}) => Promise<RequestMaterial[]>;

/** What earlier answers allow this job, and how to tell the model. */
export interface GrantedAccess {
  /** Hosts this job's commands may reach beyond the process-wide allowlist. */
  extraDomains: string[];
  /** Lines for the model's starting context ("Commands may now reach …"). */
  notes: string[];
  /** True when this question was already answered (or can never be granted): do not ask again. */
  answered(question: PermissionQuestion): boolean;
}

/** Permissions a tool asked for, asked of a person in the thread. Implemented by src/permissions/. */
export interface PermissionGate {
  prepare(job: JobOf<'agent'>, repo: string): Promise<GrantedAccess>;
  /** The job waits, without a worker slot, for an answer to `question`; `reply` is what it found so far. */
  park(
    job: JobOf<'agent'>,
    question: PermissionQuestion,
    reply: Required<Pick<Reply, 'markdown' | 'context'>>,
  ): JobOutcome<'agent'>;
}

/** Extra buttons under an answer, from the tool calls it made (Save as team script). Implemented by src/scripts/. */
export type AnswerActions = (
  jobId: string,
  toolCalls: Array<{ name: string; input: unknown }>,
  hints: { request: string; channel: string; threadTs: string },
) => Promise<ReplyAction | undefined>;
