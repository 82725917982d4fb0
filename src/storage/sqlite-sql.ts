import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { bindable, type RunResult, type Sql, type SqlQueries } from './sql.js';

/**
 * SQLite through better-sqlite3: one connection, WAL. Statements run synchronously and
 * return settled promises, so "persist, then ack" stays one local write. A transaction holds
 * the connection across awaits, so statements from elsewhere wait for it to finish instead
 * of landing inside it (each waits in a loop right before its synchronous call: nothing can
 * take the connection between the check and the statement).
 */
export class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  readonly backend = 'sqlite' as const;
  readonly reachable = true;
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  /** Settles when the open transaction (if any) ends. */
  private lock: Promise<void> | undefined;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new BetterSqlite3(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  async all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    while (this.lock) await this.lock;
    return this.allNow<T>(sql, params);
  }

  async get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    while (this.lock) await this.lock;
    return this.allNow<T>(sql, params)[0];
  }

  async run(sql: string, ...params: unknown[]): Promise<RunResult> {
    while (this.lock) await this.lock;
    return this.runNow(sql, params);
  }

  async exec(sql: string): Promise<void> {
    while (this.lock) await this.lock;
    this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlQueries) => Promise<T>): Promise<T> {
    while (this.lock) await this.lock;
    let release: () => void = () => undefined;
    this.lock = new Promise((resolve) => {
      release = resolve;
    });
    const tx = this.handle();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const value = await fn(tx);
        this.db.exec('COMMIT');
        return value;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.lock = undefined;
      release();
    }
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => void> {
    const set = this.listeners.get(channel) ?? new Set();
    set.add(onMessage);
    this.listeners.set(channel, set);
    return () => set.delete(onMessage);
  }

  async notify(channel: string, payload = ''): Promise<void> {
    for (const listener of this.listeners.get(channel) ?? []) listener(payload);
  }

  async close(): Promise<void> {
    while (this.lock) await this.lock;
    if (this.db.open) this.db.close();
  }

  /** Statements of an open transaction run directly on the connection it holds. */
  private handle(): SqlQueries {
    const tx: SqlQueries = {
      dialect: 'sqlite',
      all: async <T>(sql: string, ...params: unknown[]) => this.allNow<T>(sql, params),
      get: async <T>(sql: string, ...params: unknown[]) => this.allNow<T>(sql, params)[0],
      run: async (sql: string, ...params: unknown[]) => this.runNow(sql, params),
      exec: async (sql: string) => {
        this.db.exec(sql);
      },
      transaction: (fn) => fn(tx),
    };
    return tx;
  }

  private prepared(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private allNow<T>(sql: string, params: unknown[]): T[] {
    const statement = this.prepared(sql);
    if (!statement.reader) {
      statement.run(...bindable(params));
      return [];
    }
    return statement.all(...bindable(params)) as T[];
  }

  private runNow(sql: string, params: unknown[]): RunResult {
    const statement = this.prepared(sql);
    if (statement.reader) return { changes: statement.all(...bindable(params)).length };
    return { changes: statement.run(...bindable(params)).changes };
  }
}
