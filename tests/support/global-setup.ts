import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { postgresBinDir, startPostgresCluster } from './postgres.js';

/**
 * End-to-end tests run the real entry point (dist/main.js): build it once per test run.
 * tsc still emits when a type error is reported; type errors fail CI in the typecheck step,
 * so here they are printed but do not stop unrelated tests.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
  } catch (error) {
    process.stderr.write(
      `global-setup: tsc reported errors:\n${String((error as { stdout?: Buffer }).stdout ?? '')}\n`,
    );
  }
  if (!existsSync(join(root, 'dist', 'main.js'))) throw new Error('global-setup: dist/main.js was not built');
  return startSuitePostgres(project);
}

/**
 * The PostgreSQL half of the store and queue contract tests: one throwaway cluster for the
 * run (each test file makes its own databases on it), stopped when the run ends. A machine
 * without the server binaries runs the SQLite half only, and says so; CI installs them.
 */
async function startSuitePostgres(project: TestProject): Promise<() => void> {
  if (!postgresBinDir()) {
    if (process.env.CI)
      throw new Error('global-setup: PostgreSQL server binaries missing (.ci/run installs them)');
    process.stderr.write('global-setup: no PostgreSQL server binaries: PostgreSQL tests are skipped\n');
    project.provide('postgresUrl', '');
    return () => undefined;
  }
  const cluster = await startPostgresCluster();
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
