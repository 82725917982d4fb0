import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/**
 * Throwaway git repositories for tests: real git, fixed identity, fixed dates
 * (so SHAs are reproducible), no changes to anyone's git config.
 */

const execFileAsync = promisify(execFile);

export const TEST_AUTHOR = { name: 'Shipmate Test', email: 'test@shipmate.invalid' } as const;
/** 2023-11-14T22:13:20Z; commit N is dated BASE_EPOCH + N minutes. */
const BASE_EPOCH = 1_700_000_000;

export interface TempDir {
  dir: string;
  cleanup(): Promise<void>;
}

export interface Author {
  name: string;
  email: string;
}

/** Paths map to file contents; `null` deletes the file. */
export type FileChanges = Record<string, string | null>;

export interface CommitSpec {
  message: string;
  files: FileChanges;
  author?: Author;
}

export interface CreateRepoOptions {
  files?: Record<string, string>;
  commits?: CommitSpec[];
  defaultBranch?: string;
  initialMessage?: string;
}

export interface TestRepo extends TempDir {
  defaultBranch: string;
}

export interface BareRemote extends TempDir {
  /** A file:// URL, usable with `git push` and `git clone`. */
  url: string;
}

export interface LogEntry {
  sha: string;
  subject: string;
  authorName: string;
  authorEmail: string;
  date: string;
}

export async function createRepo(options: CreateRepoOptions = {}): Promise<TestRepo> {
  const defaultBranch = options.defaultBranch ?? 'main';
  const temp = await makeTempDir('shipmate-repo-');
  try {
    await git(temp.dir, ['init', '--quiet', `--initial-branch=${defaultBranch}`]);
    await commitFiles(temp.dir, {
      message: options.initialMessage ?? 'Initial commit',
      files: options.files ?? {},
    });
    for (const commit of options.commits ?? []) await commitFiles(temp.dir, commit);
    return { ...temp, defaultBranch };
  } catch (error) {
    await temp.cleanup();
    throw error;
  }
}

/** Writes (or deletes) files and commits them on the current branch; returns the new commit's SHA. */
export async function commitFiles(dir: string, commit: CommitSpec): Promise<string> {
  for (const [path, content] of Object.entries(commit.files)) {
    const target = confine(dir, path);
    if (content === null) {
      await rm(target, { force: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  await git(dir, ['add', '--all']);
  const count = await commitCount(dir);
  const date = `${BASE_EPOCH + count * 60} +0000`;
  const author = commit.author ?? TEST_AUTHOR;
  await git(dir, ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', commit.message], {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  });
  return git(dir, ['rev-parse', 'HEAD']);
}

/** A bare clone of `fromRepoDir` with all its branches, usable as a push target. */
export async function createBareRemote(fromRepoDir: string): Promise<BareRemote> {
  const temp = await makeTempDir('shipmate-remote-');
  const dir = join(temp.dir, 'remote.git');
  try {
    await git(temp.dir, ['clone', '--quiet', '--bare', '--no-hardlinks', fromRepoDir, dir]);
    return { dir, url: pathToFileURL(dir).href, cleanup: temp.cleanup };
  } catch (error) {
    await temp.cleanup();
    throw error;
  }
}

export interface LargeRepoOptions {
  files?: number;
  commits?: number;
  defaultBranch?: string;
}

export interface LargeRepo extends TestRepo {
  fileCount: number;
  commitCount: number;
}

/**
 * A big history built with one `git fast-import` run: the first commit adds every
 * file, each later commit rewrites one of them. 3,000 files / 10,000 commits take seconds.
 */
export async function createLargeRepo(options: LargeRepoOptions = {}): Promise<LargeRepo> {
  const fileCount = options.files ?? 3_000;
  const totalCommits = Math.max(1, options.commits ?? 10_000);
  const defaultBranch = options.defaultBranch ?? 'main';
  const temp = await makeTempDir('shipmate-large-repo-');
  try {
    await git(temp.dir, ['init', '--quiet', `--initial-branch=${defaultBranch}`]);
    const stream = fastImportStream(`refs/heads/${defaultBranch}`, fileCount, totalCommits);
    await gitWithInput(temp.dir, ['fast-import', '--quiet', '--done'], stream);
    await git(temp.dir, ['reset', '--quiet', '--hard', defaultBranch]);
    return { ...temp, defaultBranch, fileCount, commitCount: totalCommits };
  } catch (error) {
    await temp.cleanup();
    throw error;
  }
}

export async function gitLog(dir: string, ref = 'HEAD', maxCount?: number): Promise<LogEntry[]> {
  const limit = maxCount === undefined ? [] : [`--max-count=${maxCount}`];
  const output = await git(dir, ['log', ...limit, '--format=%H%x1f%s%x1f%an%x1f%ae%x1f%aI%x1e', ref, '--']);
  return output
    .split('\x1e')
    .map((record) => record.trim())
    .filter(Boolean)
    .map((record) => {
      const [sha = '', subject = '', authorName = '', authorEmail = '', date = ''] = record.split('\x1f');
      return { sha, subject, authorName, authorEmail, date };
    });
}

/** The content of `path` at `ref` (works in bare repositories too). */
export async function readBranchFile(dir: string, ref: string, path: string): Promise<string> {
  return git(dir, ['show', `${ref}:${path}`], {}, false);
}

export async function listBranches(dir: string): Promise<string[]> {
  const output = await git(dir, [
    'for-each-ref',
    '--format=%(refname:short)',
    '--sort=refname',
    'refs/heads',
  ]);
  return output.split('\n').filter(Boolean);
}

/** Runs git with the test identity and no global/system config; returns trimmed stdout. */
export async function git(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  trim = true,
): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', [...identityArgs(), ...args], {
      cwd,
      env: gitEnv(env),
      maxBuffer: 256 * 1024 * 1024,
    });
    return trim ? stdout.trim() : stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${stderr || String(error)}`, { cause: error });
  }
}

async function commitCount(dir: string): Promise<number> {
  const hasHead = await git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD']).then(
    () => true,
    () => false,
  );
  return hasHead ? Number(await git(dir, ['rev-list', '--count', 'HEAD'])) : 0;
}

function gitWithInput(cwd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', [...identityArgs(), ...args], {
      cwd,
      env: gitEnv({}),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`git ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(input);
  });
}

function fastImportStream(ref: string, fileCount: number, totalCommits: number): string {
  const parts: string[] = [];
  const ident = `${TEST_AUTHOR.name} <${TEST_AUTHOR.email}>`;
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}\n`;
  for (let commit = 0; commit < totalCommits; commit += 1) {
    const stamp = `${BASE_EPOCH + commit * 60} +0000`;
    const touched = commit === 0 ? undefined : (commit - 1) % Math.max(1, fileCount);
    const message =
      touched === undefined ? `Add ${fileCount} files` : `Update ${largeRepoPath(touched)} (${commit})`;
    parts.push(`commit ${ref}\nauthor ${ident} ${stamp}\ncommitter ${ident} ${stamp}\n${data(message)}`);
    const indexes = touched === undefined ? range(fileCount) : [touched];
    for (const index of indexes) {
      parts.push(`M 100644 inline ${largeRepoPath(index)}\n${data(largeRepoContent(index, commit))}`);
    }
    parts.push('\n');
  }
  parts.push('done\n');
  return parts.join('');
}

function largeRepoPath(index: number): string {
  return `src/module-${String(Math.floor(index / 100)).padStart(3, '0')}/file-${String(index).padStart(5, '0')}.ts`;
}

function largeRepoContent(index: number, revision: number): string {
  return [
    `// file ${index}, revision ${revision}`,
    `export const value${index} = ${revision};`,
    `export function describe${index}(): string {`,
    `  return 'file ${index} at revision ${revision}';`,
    '}',
    '',
  ].join('\n');
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

async function makeTempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function identityArgs(): string[] {
  return [
    '-c',
    `user.name=${TEST_AUTHOR.name}`,
    '-c',
    `user.email=${TEST_AUTHOR.email}`,
    '-c',
    'commit.gpgsign=false',
    '-c',
    'core.autocrlf=false',
  ];
}

function gitEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Drop inherited GIT_DIR, GIT_INDEX_FILE and the like (set when run from a git hook).
  const inherited = Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_'));
  return {
    ...Object.fromEntries(inherited),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

function confine(dir: string, path: string): string {
  const target = resolve(dir, path);
  if (!target.startsWith(resolve(dir) + sep)) throw new Error(`fixture path escapes the repository: ${path}`);
  return target;
}
