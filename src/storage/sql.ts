/**
 * The one seam every store talks to: a few async calls over hand-written SQL, with two
 * implementations (SQLite through better-sqlite3, PostgreSQL through pg). Statements use `?`
 * placeholders; the PostgreSQL side numbers them. Where the dialects differ a store branches
 * on `dialect` (see docs/decisions/0012-hand-written-sql-for-two-backends.md).
 */
export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows the statement inserted, updated or deleted. */
  changes: number;
}

export interface SqlQueries {
  readonly dialect: Dialect;
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  get<T>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  run(sql: string, ...params: unknown[]): Promise<RunResult>;
  /** Several statements separated by semicolons, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Every statement of the transaction goes through the handle passed to `fn`. Nested calls
   * join the outer transaction.
   */
  transaction<T>(fn: (tx: SqlQueries) => Promise<T>): Promise<T>;
}

export interface Sql extends SqlQueries {
  /**
   * Calls `onMessage` when any process sends `notify(channel)`. SQLite has one process, so
   * the SQLite side delivers in-process. Returns a function that stops listening.
   */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => void>;
  notify(channel: string, payload?: string): Promise<void>;
  /** Whether the database answered its last round trip (PostgreSQL can go away and come back). */
  readonly reachable: boolean;
  /** For /healthz and logs: the backend, never the connection string. */
  readonly backend: 'sqlite' | 'postgresql';
  close(): Promise<void>;
}

/** Rewrites `?` placeholders as `$1, $2, …`, leaving quoted strings and identifiers alone. */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let index = 0;
  let quote: string | undefined;
  for (const char of sql) {
    if (quote) {
      if (char === quote) quote = undefined;
      out += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      out += char;
    } else if (char === '?') {
      index += 1;
      out += `$${index}`;
    } else {
      out += char;
    }
  }
  return out;
}

/**
 * Both drivers take the same values: booleans become 1/0 (columns are integers), undefined
 * becomes NULL, and a NUL character in text becomes U+FFFD on both backends. PostgreSQL's text
 * type cannot store NUL at all ("The character with code zero (sometimes called NUL) cannot be
 * stored", postgresql.org/docs/15/datatype-character.html) and fails the whole statement, so a
 * model that writes one into a summary or a script would otherwise break the job there only.
 */
export function bindable(params: unknown[]): unknown[] {
  return params.map((value) => {
    if (value === undefined) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value === 'string' && value.includes('\u0000')) return value.replaceAll('\u0000', '\uFFFD');
    return value;
  });
}

/** True when the error is a unique-constraint violation, on either backend. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Errors the database adapter itself raised because the server was unreachable, marked where
 * they were caught. Only the mark counts: an error's code and message can come from anywhere
 * (a model server's reply, a file name the sandbox chose), and an error that merely says
 * "Connection terminated" must not pass for an outage, which would put its job back in line.
 */
const unavailableMark = Symbol('database-unavailable');

export function markUnavailable<E>(error: E): E {
  if (error === null || typeof error !== 'object' || unavailableMark in error) return error;
  try {
    Object.defineProperty(error, unavailableMark, { value: true, enumerable: false });
  } catch {
    // A frozen error stays unmarked: treated as any other failure.
  }
  return error;
}

/** True when the adapter marked `error` (or an error it wraps) as the database being away. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let current = error, depth = 0;
    current !== null && typeof current === 'object' && depth < 5;
    depth++
  ) {
    if ((current as Record<symbol, unknown>)[unavailableMark] === true) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
