import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { WorkspaceError } from '../errors.js';
import { formatBytes } from './format-bytes.js';
import { runHostGit, runHostGitRaw } from './host-git.js';

/**
 * The host side of the trust boundary for changes. The sandbox exports the thread's change as
 * a binary patch (data); here it is applied, checked and committed in the thread's host-owned
 * bare repository, through a temporary index that only the host writes. Host git never runs
 * in the checkout or the git dir the sandbox writes, so nothing the sandbox planted there
 * (filters, hooks, attributes, nested repositories, merge state) can take part.
 */

export interface ChangedFile {
  path: string;
  added: number;
  deleted: number;
  /** git shows the file as binary (no line counts, no content in the diff). */
  binary?: boolean;
}

export interface StagedChange {
  /** The commit the change applies to: the thread branch's head in shipmate's records. */
  parent: string;
  /** The tree of parent + the change, less excluded files; lives in the thread repository. */
  tree: string;
  files: ChangedFile[];
  excluded: Array<{ path: string; reason: string }>;
  /** The change as a text diff for people (binary files named, not dumped). */
  patch: string;
}

export interface ImportPolicy {
  /** Why a changed path is left out of commits (secret-looking, CI workflow), or undefined. */
  exclude(path: string): string | undefined;
  /** Largest file a change may add or grow to. */
  maxFileBytes: number;
}

interface RawEntry {
  srcMode: string;
  dstMode: string;
  srcSha: string;
  dstSha: string;
  status: string;
  path: string;
}

const zeroSha = /^0+$/;

/** Applies `patch` onto `parent` in `hostRepo` and returns the checked, staged result. */
export async function importChange(input: {
  hostRepo: string;
  parent: string;
  /** The sandbox's export; or, for content the host itself holds, `files` instead. */
  patch?: Buffer;
  files?: Array<{ path: string; content: string }>;
  tmpRoot: string;
  policy: ImportPolicy;
}): Promise<StagedChange> {
  const { hostRepo, parent } = input;
  await mkdir(input.tmpRoot, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(input.tmpRoot, 'stage-'));
  const git = (args: string[], more: { input?: Buffer | string } = {}) =>
    runHostGit(['--git-dir', hostRepo, ...args], { env: { GIT_INDEX_FILE: join(tmp, 'index') }, ...more });
  try {
    await git(['read-tree', parent]);
    for (const file of input.files ?? []) {
      if (hasGitComponent(file.path)) throw gitPathRefusal(file.path);
      const sha = (await git(['hash-object', '-w', '--stdin'], { input: file.content })).trim();
      await git(['update-index', '--add', '--cacheinfo', `100644,${sha},${file.path}`]);
    }
    if (input.patch && input.patch.length > 0) {
      await git(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], { input: input.patch }).catch(
        (error: unknown) => {
          throw explainApplyFailure(error);
        },
      );
    }
    const entries = parseRawDiff(
      await git(['diff-index', '--cached', '-z', '--raw', '--no-renames', '--full-index', parent]),
    );
    const excluded: Array<{ path: string; reason: string }> = [];
    const kept: RawEntry[] = [];
    for (const entry of entries) {
      const reason = input.policy.exclude(entry.path);
      if (reason) excluded.push({ path: entry.path, reason });
      else kept.push(entry);
    }
    await refuseUnsafe(hostRepo, kept, input.policy.maxFileBytes);
    if (excluded.length > 0) {
      const restore = entries
        .filter((entry) => excluded.some((left) => left.path === entry.path))
        .map((entry) =>
          zeroSha.test(entry.srcSha)
            ? `0 ${'0'.repeat(40)}\t${entry.path}\0`
            : `${entry.srcMode} ${entry.srcSha}\t${entry.path}\0`,
        )
        .join('');
      await git(['update-index', '-z', '--index-info'], { input: restore });
    }
    const tree = (await git(['write-tree'])).trim();
    const files =
      kept.length === 0 ? [] : parseNumstat(await git(['diff', '--cached', '--numstat', '-z', parent]));
    await refuseHiddenText(hostRepo, tree, files);
    const shown =
      files.length === 0
        ? ''
        : await git([
            'diff',
            '--cached',
            '--no-color',
            '--no-ext-diff',
            '--no-textconv',
            '--no-renames',
            parent,
          ]);
    // Bidi controls and invisible characters render reordered or not at all in Slack
    // ("Trojan Source"): the diff people read names each one instead.
    const patch = shown.replace(
      hiddenCharacters,
      (char) => `<U+${char.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}>`,
    );
    return { parent, tree, files, excluded, patch };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Commits a staged tree on the thread branch in the host repository, moving the branch only
 * if it is still at the staged change's parent. Returns the new commit's sha.
 */
export async function commitStagedTree(input: {
  hostRepo: string;
  branch: string;
  staged: Pick<StagedChange, 'parent' | 'tree'>;
  message: string;
  author: { name: string; email: string };
}): Promise<string> {
  const { hostRepo, staged, author } = input;
  const env = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
  const commit = (
    await runHostGit(['--git-dir', hostRepo, 'commit-tree', staged.tree, '-p', staged.parent, '-F', '-'], {
      env,
      input: input.message,
    })
  ).trim();
  await runHostGit([
    '--git-dir',
    hostRepo,
    'update-ref',
    `refs/heads/${input.branch}`,
    commit,
    staged.parent,
  ]);
  return commit;
}

/** Each rule a change must keep before any of it is committed, checked on the applied tree. */
async function refuseUnsafe(hostRepo: string, entries: RawEntry[], maxFileBytes: number): Promise<void> {
  const present = entries.filter((entry) => entry.status !== 'D');
  for (const entry of entries) {
    if (hasGitComponent(entry.path)) throw gitPathRefusal(entry.path);
  }
  for (const entry of present) {
    if (entry.dstMode === '160000') {
      throw refused(
        `\`${entry.path}\` is a nested git repository (a submodule). I never commit those, so I did not stage this change; remove it or ask for its files to be copied in instead.`,
        entry.path,
      );
    }
  }
  const blobs = present.filter((entry) => ['100644', '100755', '120000'].includes(entry.dstMode));
  if (blobs.length === 0) return;
  const sizes = (
    await runHostGit(['--git-dir', hostRepo, 'cat-file', '--batch-check=%(objectname) %(objectsize)'], {
      input: `${blobs.map((entry) => entry.dstSha).join('\n')}\n`,
    })
  )
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[1]));
  blobs.forEach((entry, index) => {
    const size = sizes[index] ?? 0;
    if (size > maxFileBytes) {
      throw refused(
        `\`${entry.path}\` is ${formatBytes(size)}, larger than the ${formatBytes(maxFileBytes)} size limit for one file, so I did not stage this change.`,
        entry.path,
      );
    }
  });
  for (const entry of blobs.filter((candidate) => candidate.dstMode === '120000')) {
    const target = (await runHostGitRaw(['--git-dir', hostRepo, 'cat-file', 'blob', entry.dstSha])).toString(
      'utf8',
    );
    const why = symlinkEscape(entry.path, target);
    if (why) {
      throw refused(
        `\`${entry.path}\` is a symlink pointing ${why}, so I did not stage this change. Symlinks in a change must stay inside the repository.`,
        entry.path,
      );
    }
  }
}

/** A path component git itself would treat as its own folder (any case, NTFS and HFS spellings). */
export function hasGitComponent(path: string): boolean {
  return path.split('/').some((part) => {
    const plain = part
      .replace(/\u200c|\u200d|[\u200e\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g, '')
      .replace(/[. ]+$/, '')
      .toLowerCase();
    return plain === '.git' || plain === 'git~1';
  });
}

/** Why a symlink at `path` with `target` leaves the checkout, or undefined when it stays inside. */
export function symlinkEscape(path: string, target: string): string | undefined {
  if (target.includes('\0') || target.length === 0) return 'nowhere usable';
  if (target.startsWith('/')) return `to the absolute path \`${target}\``;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === '..' || resolved.startsWith('../')) return `outside the repository (\`${target}\`)`;
  if (hasGitComponent(resolved)) return 'into a `.git` folder';
  return undefined;
}

/** A change that touches a `.git` folder (any case or spelling) is refused whole. */
export function gitPathRefusal(path: string): WorkspaceError {
  return refused(
    `\`${path}\` is inside a \`.git\` folder. I never commit git's own files, so I did not stage this change.`,
    path,
  );
}

function refused(sentence: string, path: string): WorkspaceError {
  return new WorkspaceError('change-refused', sentence, { userMessage: sentence, fields: { path } });
}

function explainApplyFailure(error: unknown): WorkspaceError {
  const stderr = error instanceof WorkspaceError ? String(error.fields.stderr ?? '') : String(error);
  const invalid = stderr.match(/invalid path '([^']*)'/);
  if (invalid?.[1] !== undefined) {
    return refused(
      `\`${invalid[1]}\` is not a path I commit (it is inside a \`.git\` folder or not a valid path), so I did not stage this change.`,
      invalid[1],
    );
  }
  const link = stderr.match(/affected file '([^']*)' is beyond a symbolic link/);
  if (link?.[1] !== undefined) {
    return refused(
      `\`${link[1]}\` would be written through a symlink, so I did not stage this change.`,
      link[1],
    );
  }
  return new WorkspaceError('change-unreadable', `the exported change did not apply: ${stderr}`, {
    cause: error,
    userMessage:
      'I could not read the change back out of the sandbox, so nothing was staged. Ask me again; if it keeps happening, an operator can look up the reference in the log.',
  });
}

function parseRawDiff(text: string): RawEntry[] {
  const parts = text.split('\0');
  const entries: RawEntry[] = [];
  for (let index = 0; index + 1 < parts.length; index += 2) {
    const meta = parts[index] ?? '';
    const path = parts[index + 1] ?? '';
    const [srcMode, dstMode, srcSha, dstSha, status] = meta.replace(/^:/, '').split(' ');
    if (!srcMode || !dstMode || !srcSha || !dstSha || !status) continue;
    entries.push({ srcMode, dstMode, srcSha, dstSha, status: status.charAt(0), path });
  }
  return entries;
}

function parseNumstat(text: string): ChangedFile[] {
  return text
    .split('\0')
    .filter(Boolean)
    .map((record) => {
      const [added, deleted, ...path] = record.split('\t');
      return {
        path: path.join('\t'),
        added: Number(added) || 0,
        deleted: Number(deleted) || 0,
        ...(added === '-' ? { binary: true } : {}),
      };
    });
}

const hiddenCharacters = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

/** Endings of files that are binary by nature; a change to any other file git calls binary is refused. */
const binaryEndings =
  /\.(?:png|jpe?g|gif|webp|avif|ico|bmp|tiff?|psd|pdf|zip|gz|tgz|bz2|xz|zst|7z|rar|jar|war|woff2?|ttf|otf|eot|mp[34]|m4a|wav|ogg|flac|webm|mov|avi|wasm|sqlite|db|bin|dat|pyc|class|so|dylib|dll|exe|o|a)$/i;

/**
 * A change git calls binary is shown as one line, so the reviewer and the person in Slack
 * never see its content. Only files whose names say they are binary (images, fonts,
 * archives…) and that are no script (`#!`) may be binary: a NUL or control byte in source, a
 * shell script or a name-less file would otherwise hide code that still runs.
 */
async function refuseHiddenText(hostRepo: string, tree: string, files: ChangedFile[]): Promise<void> {
  for (const file of files.filter((candidate) => candidate.binary)) {
    const content = await runHostGitRaw([
      '--git-dir',
      hostRepo,
      'cat-file',
      'blob',
      `${tree}:${file.path}`,
    ]).catch(() => undefined);
    if (!content) continue; // deleted: nothing to hide
    const script = content.subarray(0, 2).toString('latin1') === '#!';
    if (!binaryEndings.test(file.path) || script) {
      throw refused(
        `\`${file.path}\` would show as a binary file, so nobody could review its content (it contains bytes such as NUL or control characters${script ? ' and is a script' : ''}). I did not stage this change; remove those bytes or ask for the file to be written as text.`,
        file.path,
      );
    }
  }
}
