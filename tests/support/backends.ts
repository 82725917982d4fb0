import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, inject } from 'vitest';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { createTestDatabase } from './postgres.js';

export type Backend = 'sqlite' | 'postgres';

/** The suite's PostgreSQL cluster (global-setup), or '' on a machine without one. */
export function postgresAdminUrl(): string {
  return inject('postgresUrl');
}

/**
 * Runs the same tests against both backends: `open()` gives a fresh, migrated, empty
 * database (a temp SQLite file, or a new database on the suite's PostgreSQL cluster), closed
 * and dropped after the file's tests.
 */
export function describeBackends(
  name: string,
  body: (open: () => Promise<Database>, backend: Backend) => void,
): void {
  for (const backend of ['sqlite', 'postgres'] as const) {
    // Skipped only where global-setup found no PostgreSQL binaries and said so (never in CI).
    const run = backend === 'sqlite' || postgresAdminUrl() ? describe : describe.skip;
    run(`${name} (${backend})`, () => {
      const cleanups: Array<() => Promise<void>> = [];
      afterAll(async () => {
        for (const cleanup of cleanups.reverse()) await cleanup();
      });
      const open = async (): Promise<Database> => {
        if (backend === 'sqlite') {
          const dir = mkdtempSync(join(tmpdir(), 'shipmate-db-'));
          const db = await openDatabase(join(dir, 'shipmate.db'));
          cleanups.push(async () => {
            await db.close();
            rmSync(dir, { recursive: true, force: true });
          });
          return db;
        }
        const created = await createTestDatabase(postgresAdminUrl());
        const db = await openDatabase(created.url);
        cleanups.push(async () => {
          await db.close();
          await created.drop();
        });
        return db;
      };
      body(open, backend);
    });
  }
}

/** Where a database lives, for tests that open it more than once; `remove` after closing every handle. */
export interface DatabaseLocation {
  location: string;
  remove(): Promise<void>;
}

/**
 * A fresh, empty database on `backend` (a temp SQLite file, or a new database on the suite's
 * cluster) that a test opens with `openDatabase(location)` as often as it likes: two handles
 * at once stand for two processes sharing it, a close and reopen for a restart.
 */
export async function createDatabaseLocation(backend: Backend): Promise<DatabaseLocation> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'shipmate-db-'));
    return {
      location: join(dir, 'shipmate.db'),
      remove: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const created = await createTestDatabase(postgresAdminUrl());
  return { location: created.url, remove: created.drop };
}
