import { execFile } from 'node:child_process';
import type { Dirent, Stats } from 'node:fs';
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { standardPath } from './host-git.js';

export interface DiskUsage {
  /** Bytes allocated on disk (st_blocks × 512), counted until the cap was passed. */
  bytes: number;
  /** Past the cap (counting stopped there), or part of the tree could not be read. */
  over: boolean;
  /** Directories that could not be listed even after restoring our own access to them. */
  unreadable: string[];
}

/** lstat calls in flight at once: enough to keep libuv's threads busy, few enough to stay cheap. */
const parallelism = 32;

/**
 * The disk space the trees under `roots` take: allocated blocks (st_blocks × 512, so a sparse
 * file counts what it really holds), links never followed, a hard-linked file counted once.
 *
 * `du -s -B1 -x` computes exactly that and is several times faster than any walk from Node:
 * on a 3,000-file thread worktree (checkout and sandbox git dir) about 18 ms against 120 ms for
 * the lstat walk below (2 shared cores); it runs after every command. When du is missing or
 * reports an error (a directory it could not read), the lstat walk decides instead.
 */
export async function measureDiskUsage(roots: string[], capBytes: number): Promise<DiskUsage> {
  const present = (
    await Promise.all(
      roots.map((root) =>
        lstat(root).then(
          () => root,
          () => undefined,
        ),
      ),
    )
  ).filter((root): root is string => root !== undefined);
  if (present.length === 0) return { bytes: 0, over: false, unreadable: [] };
  const bytes = await duBytes(present);
  if (bytes !== undefined) return { bytes, over: bytes > capBytes, unreadable: [] };
  return walkDiskUsage(present, capBytes);
}

/** `du`'s grand total in bytes, or undefined when it failed in any way. */
function duBytes(roots: string[]): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(
      'du',
      ['-s', '-c', '-B1', '-x', '-P', '--', ...roots],
      { env: { PATH: standardPath, LC_ALL: 'C' }, timeout: 120_000, maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        const total = /^(\d+)\s+total$/m.exec(stdout)?.[1];
        resolve(error || total === undefined ? undefined : Number(total));
      },
    );
  });
}

/**
 * The same measure by an lstat walk, stopping as soon as the total passes `capBytes`. A
 * directory the command made unreadable gets our access back (we own it); if it still cannot
 * be listed, the tree counts as over the cap: what cannot be measured is not trusted.
 */
export async function walkDiskUsage(roots: string[], capBytes: number): Promise<DiskUsage> {
  let bytes = 0;
  const unreadable: string[] = [];
  const seen = new Set<string>();
  const pending: string[] = [];
  const count = (stats: Stats): boolean => {
    if (stats.nlink > 1 && !stats.isDirectory()) {
      const key = `${stats.dev}:${stats.ino}`;
      if (seen.has(key)) return bytes > capBytes;
      seen.add(key);
    }
    bytes += stats.blocks * 512;
    return bytes > capBytes;
  };
  for (const root of roots) {
    const stats = await lstat(root).catch(() => undefined);
    if (!stats) continue;
    if (count(stats)) return { bytes, over: true, unreadable };
    if (stats.isDirectory()) pending.push(root);
  }
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    const entries = await list(dir);
    if (!entries) {
      unreadable.push(dir);
      return { bytes, over: true, unreadable };
    }
    for (let start = 0; start < entries.length; start += parallelism) {
      const batch = entries.slice(start, start + parallelism);
      const stats = await Promise.all(
        batch.map((entry) => lstat(join(dir, entry.name)).catch(() => undefined)),
      );
      for (const [index, entry] of batch.entries()) {
        const stat = stats[index];
        if (!stat) continue; // removed meanwhile
        if (count(stat)) return { bytes, over: true, unreadable };
        if (stat.isDirectory()) pending.push(join(dir, entry.name));
      }
    }
  }
  return { bytes, over: false, unreadable };
}

async function list(dir: string): Promise<Dirent[] | undefined> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    if (code !== 'EACCES' && code !== 'EPERM') return undefined;
  }
  try {
    await chmod(dir, 0o700);
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
}
