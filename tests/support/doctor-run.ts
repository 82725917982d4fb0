import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doctorEntry = join(root, 'dist', 'doctor-main.js');

export interface DoctorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/doctor-main.js` with only the env given (plus PATH and HOME), as a person runs it. */
export function runDoctor(env: Record<string, string>, dataDir: string): Promise<DoctorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', doctorEntry], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        SHIPMATE_DATA_DIR: dataDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The report line of one check (its mark and detail), e.g. `✓ model  test-model at …`. */
export function lineOf(stdout: string, name: string): string {
  return stdout.split('\n').find((line) => new RegExp(`^[✓!✗] ${name} `).test(line)) ?? '';
}
