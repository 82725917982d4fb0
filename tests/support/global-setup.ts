import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * End-to-end tests run the real entry point (dist/main.js): build it once per test run.
 * tsc still emits when a type error is reported; type errors fail CI in the typecheck step,
 * so here they are printed but do not stop unrelated tests.
 */
export default function setup(): void {
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
}
