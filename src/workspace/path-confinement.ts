import { constants, existsSync, lstatSync, realpathSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative as relativePath, resolve, sep } from 'node:path';
import { WorkspaceError } from '../errors.js';

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
 * Writes a confined file, creating parent directories. The final open uses O_NOFOLLOW on the
 * resolved path, so a symlink swapped in after the check is refused rather than followed.
 */
export async function writeConfinedFile(root: string, relative: string, content: string): Promise<void> {
  const lexical = resolveConfinedPath(root, relative);
  await mkdir(dirname(lexical), { recursive: true });
  // Re-check now that the parents exist: mkdir may have walked through a planted link.
  const target = confinedRealpath(root, relative);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  const handle = await open(target, flags, 0o644).catch((error: unknown) => {
    throw new WorkspaceError('file-unwritable', `cannot write ${relative}: ${String(error)}`, {
      cause: error,
      fields: { path: relative },
    });
  });
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

export function isWithin(root: string, candidate: string): boolean {
  const rel = relativePath(root, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function confinedRealpath(root: string, relative: string): string {
  const real = realpathOfDeepestExisting(resolveConfinedPath(root, relative));
  if (real === undefined || !isWithin(realpathSync(root), real)) {
    throw pathEscape(relative, 'goes through a symlink that leads outside');
  }
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

function pathEscape(relative: string, why: string): WorkspaceError {
  return new WorkspaceError('path-escape', `path "${relative}" ${why}`, {
    userMessage: 'That path is outside the workspace; use a path inside the repository.',
    fields: { path: relative, reason: why },
  });
}
