import { mkdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
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
    readonly holder: Holder,
  ) {
    super(
      `the data dir ${dataDir} is in use by another shipmate process (pid ${holder.pid} on ${holder.host}, ` +
        `started ${holder.startedAt}). Mirrors, worktrees and the SQLite file belong to one process: give each ` +
        'process its own SHIPMATE_DATA_DIR (several processes share PostgreSQL through DATABASE_URL, not a data dir).',
    );
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * One process per data dir. Two processes on one dir would rebuild each other's worktrees
 * and race on the mirrors, so the second one is refused at start with a sentence saying why.
 * The lock is a file created exclusively (O_EXCL) and touched every `staleMs / 3`; it is taken
 * over when its holder is gone: on this host a pid that no longer runs (or this very pid, a
 * container restarted with the same one), on any host a file nobody touched for `staleMs`.
 * The data dir is host-only (the sandbox never sees it), so the file's content is ours.
 */
export async function lockDataDir(
  dataDir: string,
  options: { staleMs?: number; now?: () => number } = {},
): Promise<DataDirLock> {
  const staleMs = options.staleMs ?? 30_000;
  const now = options.now ?? Date.now;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'shipmate.lock');
  const me: Holder = { pid: process.pid, host: hostname(), startedAt: new Date(now()).toISOString() };
  const mine = JSON.stringify(me);
  for (let attempt = 1; ; attempt++) {
    try {
      await writeFile(file, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await readHolder(file);
      // A second round that still finds a live holder lost a race to another starting process.
      if (attempt > 1 || !(await isStale(file, held, staleMs, now))) {
        throw new DataDirInUse(dataDir, held ?? { pid: 0, host: 'unknown', startedAt: 'unknown' });
      }
      await unlink(file).catch(() => undefined);
    }
  }
  const touch = setInterval(
    () => {
      const at = new Date(now());
      utimes(file, at, at).catch(() => undefined);
    },
    Math.max(1_000, Math.floor(staleMs / 3)),
  );
  touch.unref();
  return {
    async release() {
      clearInterval(touch);
      const content = await readFile(file, 'utf8').catch(() => undefined);
      if (content === mine) await unlink(file).catch(() => undefined);
    },
  };
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<Holder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt ?? 'unknown') };
  } catch {
    return undefined; // unreadable or half-written: judged by its age alone
  }
}

async function isStale(file: string, held: Holder | undefined, staleMs: number, now: () => number) {
  if (held && held.host === hostname() && (held.pid === process.pid || !isRunning(held.pid))) return true;
  const touched = await stat(file).then(
    (info) => info.mtimeMs,
    () => 0,
  );
  return now() - touched > staleMs;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
