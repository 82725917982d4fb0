import pg from 'pg';
import type { Logger } from '../log.js';
import {
  bindable,
  markUnavailable,
  numberPlaceholders,
  type RunResult,
  type Sql,
  type SqlQueries,
} from './sql.js';

/** int8 (COUNT, BIGINT columns) and numeric (SUM of them) come back as numbers, like SQLite's. */
const numberTypes = new Set([20, 1700]);
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    numberTypes.has(oid)
      ? (value: string) => (value === null ? null : Number(value))
      : pg.types.getTypeParser(oid, format),
} as pg.CustomTypesConfig;

/** Connection errors worth waiting out: the server restarting, the network gone, too many clients. */
export function isConnectionError(error: unknown): boolean {
  const code = String((error as { code?: unknown } | undefined)?.code ?? '');
  const message = String((error as { message?: unknown } | undefined)?.message ?? '');
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code) ||
    // Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
    code.startsWith('08') ||
    ['57P01', '57P02', '57P03', '53300'].includes(code) ||
    /Connection terminated|terminating connection|the database system is (starting up|shutting down)|Client has encountered a connection error/i.test(
      message,
    )
  );
}

/**
 * PostgreSQL through node-postgres: a pool for statements and transactions, and one more
 * connection that LISTENs and reconnects when the server comes back. A pool error (the server
 * went away under an idle client) is logged, never thrown at the process.
 */
export class PostgresSql implements Sql {
  readonly dialect = 'postgres' as const;
  readonly backend = 'postgresql' as const;
  reachable = true;
  private readonly pool: pg.Pool;
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private listener: pg.Client | undefined;
  private connecting: Promise<pg.Client | undefined> | undefined;
  private everConnected = false;
  private reconnect: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    options: { max?: number } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      types,
      max: options.max ?? 10,
      connectionTimeoutMillis: 5000,
    });
    this.pool.on('error', (error) => {
      this.reachable = false;
      this.log.warn(
        { event: 'database-unavailable', err: { message: error.message } },
        'idle database connection lost',
      );
    });
  }

  async all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return (await this.query(this.pool, sql, params)).rows as T[];
  }

  async get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return (await this.all<T>(sql, ...params))[0];
  }

  async run(sql: string, ...params: unknown[]): Promise<RunResult> {
    return { changes: (await this.query(this.pool, sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.query(this.pool, sql, [], { raw: true });
  }

  async transaction<T>(fn: (tx: SqlQueries) => Promise<T>): Promise<T> {
    const client = await this.connect();
    // A checked-out client has no pool listener: the server going away between two statements
    // emits 'error' on it, which would crash the process unheard. Mark it broken instead.
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
      this.reachable = false;
    };
    client.on('error', onError);
    const tx: SqlQueries = {
      dialect: 'postgres',
      all: async <R>(sql: string, ...params: unknown[]) =>
        (await this.query(client, sql, params)).rows as R[],
      get: async <R>(sql: string, ...params: unknown[]) =>
        (await this.query(client, sql, params)).rows[0] as R,
      run: async (sql: string, ...params: unknown[]) => ({
        changes: (await this.query(client, sql, params)).rowCount ?? 0,
      }),
      exec: async (sql: string) => {
        await this.query(client, sql, [], { raw: true });
      },
      transaction: (inner) => inner(tx),
    };
    let broken: Error | undefined;
    try {
      // Through query(), like every statement: a connection error is marked there, and
      // whatever else `fn` throws passes unmarked, whatever its words.
      await this.query(client, 'BEGIN', [], { raw: true });
      const value = await fn(tx);
      await this.query(client, 'COMMIT', [], { raw: true });
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => {
        // The connection itself failed; the server rolls the transaction back. Drop the client.
        broken = rollback;
      });
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken ?? lost);
    }
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => void> {
    const set = this.listeners.get(channel) ?? new Set();
    const first = set.size === 0;
    set.add(onMessage);
    this.listeners.set(channel, set);
    if (first) await this.subscribe(channel);
    return () => set.delete(onMessage);
  }

  async notify(channel: string, payload = ''): Promise<void> {
    await this.query(this.pool, 'SELECT pg_notify(?, ?)', [channel, payload]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnect) clearTimeout(this.reconnect);
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      const client = await this.pool.connect();
      this.reachable = true;
      return client;
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  /** A connection error from this adapter is marked as the database being away; others pass. */
  private unreachable(error: unknown): unknown {
    if (!isConnectionError(error)) return error;
    this.reachable = false;
    return markUnavailable(error);
  }

  private async query(
    on: pg.Pool | pg.PoolClient,
    sql: string,
    params: unknown[],
    options: { raw?: boolean } = {},
  ): Promise<pg.QueryResult> {
    try {
      // Without values node-postgres uses the simple protocol, which takes several statements.
      const result = options.raw
        ? await on.query(sql)
        : await on.query(numberPlaceholders(sql), bindable(params));
      this.reachable = true;
      return result;
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  /** LISTEN on the dedicated connection, opening it (again) when needed. */
  private async subscribe(channel: string): Promise<void> {
    const client = await this.listenerClient();
    if (client)
      await client.query(`LISTEN ${quoteIdentifier(channel)}`).catch(() => this.dropListener(client));
  }

  private listenerClient(): Promise<pg.Client | undefined> {
    if (this.listener || this.closed) return Promise.resolve(this.listener);
    this.connecting ??= this.openListener().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openListener(): Promise<pg.Client | undefined> {
    const client = new pg.Client({ connectionString: this.url, types, connectionTimeoutMillis: 5000 });
    client.on('notification', (message) => {
      for (const listener of this.listeners.get(message.channel) ?? []) listener(message.payload ?? '');
    });
    client.on('error', () => this.dropListener(client));
    client.on('end', () => this.dropListener(client));
    try {
      await client.connect();
    } catch {
      // The server is not up yet: try again shortly; pollers cover the gap.
      this.scheduleReconnect();
      return undefined;
    }
    this.listener = client;
    for (const name of this.listeners.keys()) await client.query(`LISTEN ${quoteIdentifier(name)}`);
    // Anything sent while we were away is lost: after a reconnect wake every listener once.
    if (this.everConnected)
      for (const set of this.listeners.values()) for (const listener of set) listener('');
    this.everConnected = true;
    return client;
  }

  private dropListener(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.listenerClient();
    }, 1000);
    this.reconnect.unref();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
