import type { Logger } from '../log.js';
import { migrations, migrationText } from './migrations.js';
import { isConnectionError, PostgresSql } from './postgres-sql.js';
import type { Sql } from './sql.js';
import { SqliteSql } from './sqlite-sql.js';

export type Database = Sql;

/** Any id, so that two processes migrating one PostgreSQL at once take turns. */
const migrationLock = 7_283_001;

export interface OpenOptions {
  log?: Logger;
  /** PostgreSQL pool size per process. */
  poolSize?: number;
  /** How long to wait for PostgreSQL to accept connections at start. */
  waitMs?: number;
}

/**
 * Opens the database and applies pending migrations: a `postgres://` URL opens PostgreSQL,
 * anything else is a SQLite file (created, WAL mode).
 */
export async function openDatabase(location: string, options: OpenOptions = {}): Promise<Database> {
  if (!/^postgres(ql)?:\/\//.test(location)) {
    const db = new SqliteSql(location);
    await migrate(db);
    return db;
  }
  const log = options.log ?? silentLogger();
  const db = new PostgresSql(location, log, { max: options.poolSize });
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db);
      return db;
    } catch (error) {
      if (!isConnectionError(error) || Date.now() > deadline) {
        await db.close().catch(() => undefined);
        throw error;
      }
      log.warn(
        { event: 'database-unavailable', attempt, err: { message: (error as Error).message } },
        'PostgreSQL is not accepting connections yet; waiting',
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
    }
  }
}

async function migrate(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', migrationLock);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    const applied = new Set(
      (await tx.all<{ id: string }>('SELECT id FROM schema_migrations')).map((row) => row.id),
    );
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      await tx.exec(migrationText(migration, db.dialect));
      await tx.run(
        'INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)',
        migration.id,
        new Date().toISOString(),
      );
    }
  });
}

function silentLogger(): Logger {
  const noop = () => undefined;
  const logger = { warn: noop, info: noop, error: noop, debug: noop, child: () => logger };
  return logger as unknown as Logger;
}
