import type { Config } from '../config.js';
import { type Database, openDatabase } from '../storage/database.js';
import type { CheckResult } from './types.js';

/**
 * The database every process shares (PostgreSQL) or this process's SQLite file: reachable,
 * migrated, and (PostgreSQL) which other shipmate processes are alive on it. The URL is never
 * printed: it may carry a password.
 */
export async function checkDatabase(config: Readonly<Config>, open?: Database): Promise<CheckResult> {
  const url = config.database.url;
  const location = url ?? `${config.dataDir}/shipmate.db`;
  let db: Database;
  try {
    db = open ?? (await openDatabase(location, { waitMs: 3_000 }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return url
      ? {
          name: 'database',
          status: 'fail',
          detail: `PostgreSQL did not answer: ${message}`,
          fix: 'Check DATABASE_URL (host, port, user, password, database) and that this machine may connect to it.',
        }
      : {
          name: 'database',
          status: 'fail',
          detail: `the SQLite file in ${config.dataDir} could not be opened: ${message}`,
          fix: 'Make SHIPMATE_DATA_DIR a writable directory on a persistent volume.',
        };
  }
  try {
    if (db.dialect === 'sqlite') {
      return { name: 'database', status: 'ok', detail: `SQLite at ${location} (one process)` };
    }
    const version = await db.get<{ server_version: string }>('SHOW server_version');
    const alive = await db.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM processes WHERE seen_at > ?',
      Date.now() - 60_000,
    );
    return {
      name: 'database',
      status: 'ok',
      detail: `PostgreSQL ${version?.server_version ?? '(unknown version)'}, migrated; ${alive?.n ?? 0} shipmate process(es) alive on it`,
    };
  } finally {
    // The running app's own database stays open.
    if (!open) await db.close();
  }
}
