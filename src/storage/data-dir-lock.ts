import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Who holds a data dir: written into its lock file, shown to the one who is refused. */
interface Holder {
  pid: number;
  host: string;
  startedAt: string;
}

export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: Holder | undefined,
  ) {
    const who = holder
      ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}`
      : 'it is just starting';
    super(
      `the data dir ${dataDir} is in use by another shipmate process (${who}). Mirrors, worktrees and ` +
        'the SQLite file belong to one process: give each process its own SHIPMATE_DATA_DIR (several ' +
        'processes share PostgreSQL through DATABASE_URL, not a data dir).',
    );
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * One process per data dir. Two processes on one dir would rebuild each other's worktrees
 * and race on the mirrors and the SQLite file, so the second is refused at start with a
 * sentence saying why. The lock is the kernel's: flock(1) (util-linux) takes an exclusive
 * flock(2) on `shipmate.lock` and holds it while `cat` reads this process's end of a pipe.
 * When this process ends, however it ends (kill -9 included), the pipe closes, cat and flock
 * exit and the kernel releases the lock: nothing goes stale, no pid or clock is trusted
 * (man 1 flock, man 2 flock). The data dir is host-only; the sandbox never sees it.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'shipmate.lock');
  const child = spawn(
    'flock',
    // Only -n: util-linux's and BusyBox's flock both take it, and both exit 1 without a word
    // when the lock is held (a failure to open the file says why on stderr).
    ['-n', file, 'sh', '-c', 'echo locked; exec cat'],
    // No secrets in a child's environment, ever: only a PATH to find flock, sh and cat.
    { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  // Listened for from the start: the child may end while this process still writes the holder.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const outcome = await new Promise<'locked' | number>((resolve, reject) => {
    child.stdout.once('data', () => resolve('locked'));
    child.once('close', (code) => resolve(code ?? -1)); // after stderr is read
    child.once('error', (error) =>
      reject(new Error(`could not lock ${file}: flock (util-linux) did not start: ${error.message}`)),
    );
  });
  if (outcome === 1 && stderr.trim() === '') throw new DataDirInUse(dataDir, await readHolder(file));
  if (outcome !== 'locked')
    throw new Error(`could not lock ${file}: flock exited ${outcome}: ${stderr.trim()}`);
  const holder: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  await writeFile(file, JSON.stringify(holder), { mode: 0o600 });
  // Neither the child nor its pipes keep this process alive; they only live as long as it does.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void }).unref?.();
  }
  return {
    async release() {
      child.stdin.end();
      await exited;
    },
  };
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<Holder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt ?? 'unknown') };
  } catch {
    return undefined; // not written yet by a holder that is just starting
  }
}
