/**
 * One error base for the whole app. `code` is stable (logs, tests), `userMessage`
 * is the plain sentence a Slack user may see, `cause` keeps the chain for the operator.
 */
export class AppError extends Error {
  readonly code: string;
  readonly userMessage: string | undefined;
  readonly fields: Record<string, unknown>;

  constructor(
    code: string,
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

/** The asker may not do this (write actions, budgets). */
export class PermissionError extends AppError {}

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
