import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { WorkspaceError } from '../errors.js';

/** What shipmate remembers about one thread's worktree (kept outside the worktree). */
export interface WorktreeRecord {
  repo: string;
  threadKey: string;
  key: string;
  /** The checkout: the files the sandbox reads and writes. */
  path: string;
  /** The thread's own git dir for the agent's git inside the sandbox (sandbox-writable, never read by the host). */
  gitDir: string;
  /** The host-owned bare repository where the thread branch is committed and pushed from. */
  hostRepo: string;
  branch: string;
  baseCommit: string;
  /** The thread branch's head as the host committed it (baseCommit until the first commit). */
  head: string;
  lastUsedAt: number;
  /**
   * The `updatedAt` of the thread's saved state this worktree last matched (saved from it, or
   * rebuilt from it). A saved state newer than this was written elsewhere: the worktree is stale.
   */
  syncedAt?: number;
}

const recordSchema = z.object({
  repo: z.string(),
  threadKey: z.string(),
  key: z.string(),
  path: z.string(),
  gitDir: z.string(),
  hostRepo: z.string(),
  branch: z.string(),
  baseCommit: z.string(),
  head: z.string(),
  lastUsedAt: z.number(),
  syncedAt: z.number().optional(),
});

/** One small JSON file per worktree under `<dataDir>/worktree-records/<repo>/<key>.json`. */
export class WorktreeRecords {
  constructor(private readonly dir: string) {}

  async read(repo: string, key: string): Promise<WorktreeRecord | undefined> {
    const text = await readFile(this.file(repo, key), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    return parseRecord(text);
  }

  async write(record: WorktreeRecord): Promise<void> {
    const file = this.file(record.repo, record.key);
    await mkdir(join(this.dir, record.repo), { recursive: true });
    const staging = `${file}.${process.pid}.tmp`;
    await writeFile(staging, JSON.stringify(record));
    await rename(staging, file);
  }

  async remove(repo: string, key: string): Promise<void> {
    await rm(this.file(repo, key), { force: true });
  }

  async list(): Promise<WorktreeRecord[]> {
    const repos = await readdir(this.dir).catch(() => [] as string[]);
    const records: WorktreeRecord[] = [];
    for (const repo of repos) {
      const files = await readdir(join(this.dir, repo)).catch(() => [] as string[]);
      for (const name of files.filter((file) => file.endsWith('.json'))) {
        const text = await readFile(join(this.dir, repo, name), 'utf8').catch(() => undefined);
        const record = text === undefined ? undefined : parseRecord(text);
        if (record) records.push(record);
      }
    }
    return records;
  }

  private file(repo: string, key: string): string {
    return join(this.dir, repo, `${key}.json`);
  }
}

function parseRecord(text: string): WorktreeRecord | undefined {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // A torn or hand-edited file: treat the worktree as unknown; it is rebuilt on next use.
    return undefined;
  }
}

/** A directory name for a thread key: readable prefix plus a hash, so distinct keys never collide. */
export function safeThreadKey(threadKey: string): string {
  const readable = threadKey
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 48);
  return `${readable || 'thread'}-${shortHash(threadKey, 10)}`;
}

/** `<prefix><slug>-<hash>`: readable, unique per thread, always a valid branch name. */
export function threadBranchName(threadKey: string, prefix: string, slug: string | undefined): string {
  if (
    !/^[A-Za-z0-9._/-]*$/.test(prefix) ||
    prefix.includes('..') ||
    prefix.includes('//') ||
    prefix.startsWith('/')
  ) {
    throw new WorkspaceError('invalid-branch-prefix', `branch prefix "${prefix}" is not usable`);
  }
  const readable = (slug ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${prefix}${readable || 'thread'}-${shortHash(threadKey, 8)}`;
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
