import { randomBytes } from 'node:crypto';
import { constants, existsSync, lstatSync, realpathSync } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative as relativePath, resolve, sep } from 'node:path';
import { WorkspaceError } from '../errors.js';
import { hasGitComponent } from './change-import.js';

/**
 * Resolves `relative` inside `root` and refuses anything that would leave it: absolute
 * paths, `..` climbing out, NUL bytes, and symlinks (at any depth) whose target is outside.
 * Returns the lexical path under `root`.
 */
export function resolveConfinedPath(root: string, relative: string): string {
  if (relative.includes('\0')) throw pathEscape(relative, 'contains a NUL byte');
  if (isAbsolute(relative)) throw pathEscape(relative, 'is absolute');
  const lexical = resolve(root, relative);
  if (!isWithin(root, lexical)) throw pathEscape(relative, 'climbs out of the workspace');
  if (hasGitComponent(relativePath(root, lexical).split(sep).join('/'))) throw gitPath(relative);
  const real = realpathOfDeepestExisting(lexical);
  if (real === undefined || !isWithin(realpathSync(root), real))
    throw pathEscape(relative, 'goes through a symlink that leads outside');
  return lexical;
}

/** Reads a confined file as UTF-8 (through a symlink only when it stays inside). */
export async function readConfinedFile(root: string, relative: string): Promise<string> {
  const target = confinedRealpath(root, relative);
  const handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
    throw new WorkspaceError('file-unreadable', `cannot read ${relative}: ${String(error)}`, {
      cause: error,
      fields: { path: relative },
    });
  });
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Writes a confined file, creating parent directories. The content goes to a new file beside
 * the target (O_EXCL, O_NOFOLLOW) that is then renamed over it, so neither a symlink nor a
 * hard link the sandbox planted at the target is ever written through: the link itself is
 * replaced, and whatever it pointed at on the host is untouched.
 */
export async function writeConfinedFile(root: string, relative: string, content: string): Promise<void> {
  const lexical = resolveConfinedPath(root, relative);
  await mkdir(dirname(lexical), { recursive: true });
  // Re-check now that the parents exist: mkdir may have walked through a planted link.
  const target = confinedRealpath(root, relative);
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) {
    throw new WorkspaceError('file-unwritable', `cannot write ${relative}: not a regular file`, {
      userMessage: `${relative} is not a regular file.`,
      fields: { path: relative },
    });
  }
  const staging = join(dirname(target), `.shipmate-write-${randomBytes(6).toString('hex')}`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const mode = existing?.isFile() ? existing.mode & 0o777 : 0o644;
  try {
    const handle = await open(staging, flags, mode);
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { force: true });
    throw new WorkspaceError('file-unwritable', `cannot write ${relative}: ${String(error)}`, {
      cause: error,
      fields: { path: relative },
    });
  }
}

export function isWithin(root: string, candidate: string): boolean {
  const rel = relativePath(root, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function confinedRealpath(root: string, relative: string): string {
  const real = realpathOfDeepestExisting(resolveConfinedPath(root, relative));
  const realRoot = realpathSync(root);
  if (real === undefined || !isWithin(realRoot, real)) {
    throw pathEscape(relative, 'goes through a symlink that leads outside');
  }
  // A link inside the checkout may still lead into `.git`.
  if (hasGitComponent(relativePath(realRoot, real).split(sep).join('/'))) throw gitPath(relative);
  return real;
}

/**
 * realpath of the longest existing prefix, with the missing rest appended; undefined when
 * that prefix is a dangling symlink (its target could later be created anywhere).
 */
function realpathOfDeepestExisting(path: string): string | undefined {
  const missing: string[] = [];
  let current = path;
  while (!existsSync(current) && !isDanglingLink(current)) {
    missing.unshift(basename(current));
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  if (isDanglingLink(current)) return undefined;
  return join(realpathSync(current), ...missing);
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && !existsSync(path);
  } catch {
    return false;
  }
}

function gitPath(relative: string): WorkspaceError {
  return new WorkspaceError('path-git', `path "${relative}" is inside .git`, {
    userMessage: `${relative} is inside a .git folder; I never read or write git's own files directly. Use git commands through the shell instead.`,
    fields: { path: relative },
  });
}

function pathEscape(relative: string, why: string): WorkspaceError {
  return new WorkspaceError('path-escape', `path "${relative}" ${why}`, {
    userMessage: 'That path is outside the workspace; use a path inside the repository.',
    fields: { path: relative, reason: why },
  });
}
