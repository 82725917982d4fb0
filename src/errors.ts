/** What every error code says about itself: can pressing Retry help, and is it the asker's (or their config's) to fix. */
export interface ErrorTraits {
  /** The same request may succeed later (a service was down, a restart interrupted it). */
  retryable: boolean;
  /** The request, the thread or the config is what needs to change, not shipmate: logged at info, not as an error. */
  userFixable: boolean;
}

const transient: ErrorTraits = { retryable: true, userFixable: false };
const askerFixes: ErrorTraits = { retryable: false, userFixable: true };
const broken: ErrorTraits = { retryable: false, userFixable: false };

/**
 * Every error code the app throws, closed: a code not listed here does not compile. The
 * worker pool reads the traits to choose the log level and whether to offer Retry.
 */
export const errorCodes = {
  // Config and setup: the operator edits env or the config file.
  'config-invalid': askerFixes,
  'invalid-branch-prefix': askerFixes,
  'invalid-env-name': askerFixes,
  'invalid-repo-name': askerFixes,
  'invalid-repo-url': askerFixes,
  'default-branch-missing': askerFixes,
  'sandbox-unavailable': broken,
  'sandbox-path-invalid': broken,
  'sandbox-config-conflict': broken,
  'command-spawn-failed': transient,
  // Digests: the schedule a person typed.
  'digest-schedule-invalid': askerFixes,
  'digest-schedule-never': askerFixes,
  'digest-timezone-unknown': askerFixes,
  // Changes: what the sandbox produced, and the branch it goes to.
  'change-refused': askerFixes,
  'change-stale': askerFixes,
  'branch-moved': askerFixes,
  'collect-too-large': askerFixes,
  'change-export-failed': transient,
  'collect-missing': transient,
  'collect-invalid': broken,
  'change-unreadable': broken,
  // A thread's saved workspace (another process's) that cannot be rebuilt here.
  'thread-state-unusable': broken,
  // Files and paths inside a checkout (tools turn these into text for the model).
  'path-escape': askerFixes,
  'path-git': askerFixes,
  'file-unreadable': transient,
  'file-unwritable': transient,
  // Services: git remotes, the code host, the model.
  'clone-failed': transient,
  'git-failed': transient,
  'push-failed': transient,
  'push-refused': broken,
  'github-failed': transient,
  // A forge (GitHub, GitLab, Gitea, Bitbucket) that could not be reached, was busy or rate limited.
  'forge-failed': transient,
  // A forge that refused the token, the scope or the repository: a maintainer must change something.
  'forge-refused': broken,
  'model-unavailable': transient,
  // The model server refused the request itself (credentials, model name, parameters, credit).
  'model-refused': askerFixes,
  // Even after compacting, shipmate's request does not fit the model's context window.
  'model-context-exceeded': askerFixes,
  // Jobs themselves.
  'job-cancelled': broken,
  'job-drained': transient,
  'job-interrupted': transient,
  'job-unreadable': broken,
  'internal-error': transient,
} as const satisfies Record<string, ErrorTraits>;

export type ErrorCode = keyof typeof errorCodes;

/** The traits of a code as stored (a row from another version may hold one no longer listed). */
export function errorTraits(code: string): ErrorTraits {
  return Object.hasOwn(errorCodes, code) ? errorCodes[code as ErrorCode] : errorCodes['internal-error'];
}

/**
 * One error base for the whole app. `code` is stable (logs, tests), `userMessage`
 * is the plain sentence a Slack user may see, `cause` keeps the chain for the operator.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string | undefined;
  readonly fields: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; userMessage?: string; fields?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.userMessage = options.userMessage;
    this.fields = options.fields ?? {};
  }
}

/** A problem with env or the config file; names the variable or key and the file. */
export class ConfigError extends AppError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('config-invalid', problems.join('\n'));
    this.problems = problems;
  }
}

/** The repository, worktree or sandbox could not do what was asked. */
export class WorkspaceError extends AppError {}

/** The model, Slack or the code host answered with an error or not at all. */
export class ProviderError extends AppError {}

/** The job was cancelled by a user or by shutdown. */
export class CancelledError extends AppError {
  constructor(reason = 'cancelled') {
    super('job-cancelled', reason);
  }
}

/** A short id that appears both in the thread and in the log line for the same failure. */
export function newReferenceId(): string {
  return Math.random().toString(36).slice(2, 8).toUpperCase();
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
