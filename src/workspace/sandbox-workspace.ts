import { join } from 'node:path';
import { describeError, WorkspaceError } from '../errors.js';
import {
  commitStagedTree,
  gitPathRefusal,
  type ImportPolicy,
  importChange,
  type StagedChange,
} from './change-import.js';
import { measureDiskUsage } from './disk-usage.js';
import { describeWorktreeOverCap } from './limit-notes.js';
import { readConfinedFile, resolveConfinedPath, writeConfinedFile } from './path-confinement.js';
import type { SandboxMounts } from './sandbox-policy.js';
import type { SandboxRunner } from './sandbox-runner.js';
import type { RestoreOutcome } from './thread-state.js';
import type { CommandResult, RunOptions, Workspace } from './types.js';

/** Called around each command so the manager knows a worktree is busy and when it was last used. */
export interface WorkspaceUsage {
  started(): void;
  finished(): void;
}

/** Where one thread lives, from shipmate's records (never read from the checkout). */
export interface ThreadPaths {
  root: string;
  gitDir: string;
  hostRepo: string;
  mirror: string;
  branch: string;
  baseCommit: string;
}

/** What the manager does for a workspace that needs its records or a rebuild. */
export interface ThreadKeeper {
  head(): string;
  /** Records a new head after a host commit. */
  advance(head: string): Promise<void>;
  /** Rebuilds the checkout and the sandbox git dir from the recorded head (waits for commands). */
  rebuild(): Promise<void>;
  /** The same, from inside `exclusive` (a command that just ended over the disk cap). */
  rebuildNow(): Promise<void>;
  /**
   * Runs `work` while no other sandbox command of this thread runs and the host neither
   * rebuilds nor removes its trees: a command can never swap a directory for a link under a
   * host-side walk (rm -r, du) of the same tree.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Host-only scratch space for staging indexes. */
  tmpRoot: string;
  /** What acquire gave back of the thread's earlier state. */
  restored: RestoreOutcome;
  /**
   * Saves the thread's durable state with this working change (exported against `head`);
   * absent when no state store is configured. `patchBytes` caps the export.
   */
  saveState?: { patchBytes: number; save(head: string, change: ExportedChange): Promise<void> };
}

/** The working change as the sandbox handed it back, or why it could not be kept. */
export type ExportedChange = { patch: Buffer } | { omitted: string };

/**
 * The object stores a thread's git reads besides its own, read-only: the mirror's and the
 * thread repository's. The sandbox mounts, the export's alternates and the agent's git dir
 * all name these two, in this order.
 */
export function threadObjectStores(paths: Pick<ThreadPaths, 'mirror' | 'hostRepo'>): string[] {
  return [join(paths.mirror, 'objects'), join(paths.hostRepo, 'objects')];
}

/** Largest patch the sandbox may hand back for one change. */
const maxPatchBytes = 64 * 1024 ** 2;

/**
 * Runs inside the sandbox: the change between the recorded head ($1) and the files, as a
 * binary patch in $SHIPMATE_COLLECT. A fresh git dir and index in the private temp dir, and
 * no global or system config, so nothing the agent set up in its own git dir (filters,
 * hooks, attributes drivers, merge state, a moved HEAD) shapes what is exported.
 */
const exportScript = [
  'set -eu',
  'scratch="$(mktemp -d)"',
  'git init -q --bare --template= "$scratch/g"',
  'printf "%s\\n" "$2" "$3" "$4/objects" > "$scratch/g/objects/info/alternates"',
  'export GIT_DIR="$scratch/g" GIT_WORK_TREE="$PWD" GIT_INDEX_FILE="$scratch/index"',
  'export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null',
  // Start from a copy of the agent's own index when it reads (its stat data saves hashing
  // unchanged files), else from the recorded head. What it holds cannot change the result
  // beyond what the sandbox could do anyway: the diff is taken against the recorded head ($1)
  // and the host checks and shows the tree it applies, not this index. The copy keeps the
  // index file's mtime (cp -p): git compares the content of an entry as new as the index
  // ("racily clean", git-scm.com/docs/racy-git); a copy stamped now would make a same-size
  // edit from the checkout's second look clean, and the export would drop it.
  'if ! { cp -p "$4/index" "$GIT_INDEX_FILE" 2>/dev/null && git ls-files >/dev/null 2>&1; }; then',
  '  rm -f "$GIT_INDEX_FILE"; git read-tree "$1"',
  'fi',
  // Not `add -A`: it treats racily clean entries (files as new as the index) as dirty and
  // rewrites each as a loose object, since the read-only packs cannot be freshened. A refresh
  // compares content without writing; only what really changed is hashed into the index.
  // Nested repositories are listed with a trailing slash; without it they become gitlinks,
  // which the host then refuses with a sentence instead of dropping them silently.
  'git update-index -q --really-refresh >/dev/null 2>&1 || true',
  '{ git diff-files --name-only -z; git ls-files --others --exclude-standard -z; } | sed -z "s#/\\$##" > "$scratch/paths"',
  // git would skip a `.GIT` or `a/.git/x` silently; say so, so the host refuses the change.
  'bad="$(grep -z -i -m1 -E "(^|/)(\\.git[. ]*|git~1)(/|$)" "$scratch/paths" | tr -d "\\0" || true)"',
  'if [ -n "$bad" ]; then printf "shipmate-git-path:%s\\n" "$bad" >&2; exit 3; fi',
  'git update-index --add --remove -z --stdin < "$scratch/paths" 2>"$scratch/add.err" || { cat "$scratch/add.err" >&2; exit 1; }',
  'git diff --cached --binary --full-index --no-renames --no-color --no-ext-diff --no-textconv "$1" > "$SHIPMATE_COLLECT"',
].join('\n');

/** One thread's checkout; commands go through the sandbox, file access is confined to `root`. */
export class SandboxRuntimeWorkspace implements Workspace {
  readonly root: string;
  readonly branch: string;
  readonly baseCommit: string;
  readonly hostRepo: string;
  readonly restored: RestoreOutcome;

  constructor(
    private readonly paths: ThreadPaths,
    private readonly sandbox: SandboxRunner,
    private readonly keeper: ThreadKeeper,
    private readonly usage?: WorkspaceUsage,
  ) {
    this.root = paths.root;
    this.branch = paths.branch;
    this.baseCommit = paths.baseCommit;
    this.hostRepo = paths.hostRepo;
    this.restored = keeper.restored;
  }

  /**
   * Runs `command`, then measures the checkout and the thread's sandbox git dir: past the
   * per-worktree disk cap, the uncommitted work is discarded (the checkout is rebuilt from the
   * thread's head) and the result's `limitNote` says so, for the model to read.
   */
  async run(command: string, options?: RunOptions): Promise<CommandResult> {
    return this.keeper.exclusive(async () => {
      const result = await this.inSandbox(command, options);
      const limits = this.sandbox.resourceLimits();
      const disk = await measureDiskUsage([this.paths.root, this.paths.gitDir], limits.maxWorktreeBytes);
      if (!disk.over) return result;
      const head = this.keeper.head();
      const outcome = await this.keeper.rebuildNow().then(
        () => ({ discarded: true as const, head }),
        (error: unknown) => ({ discarded: false as const, error: describeError(error) }),
      );
      const note = describeWorktreeOverCap(disk, limits, outcome);
      return { ...result, limitNote: [result.limitNote, note].filter(Boolean).join(' ') };
    });
  }

  head(): string {
    return this.keeper.head();
  }

  resolvePath(relative: string): string {
    return resolveConfinedPath(this.root, relative);
  }

  readFile(relative: string): Promise<string> {
    return this.keeper.exclusive(() => readConfinedFile(this.root, relative));
  }

  writeFile(relative: string, content: string): Promise<void> {
    // Never while a command of this thread runs: its checks-then-rename must see a still tree.
    return this.keeper.exclusive(() => writeConfinedFile(this.root, relative, content));
  }

  stageFiles(files: Array<{ path: string; content: string }>, policy: ImportPolicy): Promise<StagedChange> {
    return importChange({
      hostRepo: this.hostRepo,
      parent: this.keeper.head(),
      files,
      tmpRoot: this.keeper.tmpRoot,
      policy,
    });
  }

  async stage(policy: ImportPolicy): Promise<StagedChange> {
    const parent = this.keeper.head();
    const result = await this.keeper.exclusive(() => this.exportChange(parent, maxPatchBytes));
    const gitPath = result.exitCode === 3 ? /^shipmate-git-path:(.*)$/m.exec(result.stderr)?.[1] : undefined;
    if (gitPath !== undefined) throw gitPathRefusal(gitPath);
    if (result.exitCode !== 0 || !result.collected) {
      const detail = exportFailure(result);
      throw new WorkspaceError('change-export-failed', `exporting the change failed: ${detail}`, {
        userMessage: `I could not read the change out of the sandbox, so nothing was staged${detail ? ` (${detail.slice(0, 300)})` : ''}. Ask me again.`,
      });
    }
    return importChange({
      hostRepo: this.hostRepo,
      parent,
      patch: result.collected,
      tmpRoot: this.keeper.tmpRoot,
      policy,
    });
  }

  /**
   * Saves the thread's durable state (head, commits, the uncommitted change as the sandbox
   * exports it) so that any process can continue it; nothing without a state store. A change
   * the export refuses or past the size cap is not kept, and the saved state says so.
   */
  async checkpoint(): Promise<void> {
    const saver = this.keeper.saveState;
    if (!saver) return;
    const head = this.keeper.head();
    const change = await this.keeper.exclusive(async (): Promise<ExportedChange> => {
      const result = await this.exportChange(head, saver.patchBytes).catch((error: unknown) => {
        if (error instanceof WorkspaceError && error.code === 'collect-too-large') return error;
        throw error;
      });
      if (result instanceof WorkspaceError) return { omitted: `larger than the cap: ${result.message}` };
      if (result.exitCode === 0 && result.collected) return { patch: result.collected };
      return { omitted: `the export failed: ${exportFailure(result)}` };
    });
    await saver.save(head, change);
  }

  async commit(
    staged: StagedChange,
    message: string,
    author: { name: string; email: string },
  ): Promise<string> {
    if (staged.parent !== this.keeper.head()) {
      throw new WorkspaceError('branch-moved', 'the thread branch moved since the change was staged', {
        userMessage:
          'The thread’s branch moved while I was preparing this commit, so I did not commit. Ask me again.',
      });
    }
    const commit = await commitStagedTree({
      hostRepo: this.hostRepo,
      branch: this.branch,
      staged,
      message,
      author,
    });
    await this.keeper.advance(commit);
    // The agent's own git follows along (best effort: it is the sandbox's to keep or break).
    await this.keeper
      .exclusive(() => this.inSandbox('git reset -q "$1"', { argv: [commit], timeoutMs: 60_000 }))
      .catch(() => undefined);
    return commit;
  }

  /** With a state store, the clean state is saved too: another process must not bring the change back. */
  async discard(): Promise<void> {
    await this.keeper.rebuild();
    await this.checkpoint();
  }

  /** Only inside `exclusive`: the change since `parent` as a binary patch, collected up to `maxBytes`. */
  private exportChange(parent: string, maxBytes: number) {
    return this.inSandbox(
      exportScript,
      { argv: [parent, ...threadObjectStores(this.paths), this.paths.gitDir], timeoutMs: 300_000 },
      maxBytes,
    );
  }

  private async inSandbox(
    command: string,
    options: RunOptions | undefined,
    collectBytes?: number,
  ): Promise<CommandResult & { collected?: Buffer }> {
    this.usage?.started();
    try {
      return await this.sandbox.run(this.root, command, options, {
        mounts: this.mounts(),
        ...(collectBytes === undefined ? {} : { collectBytes }),
      });
    } finally {
      this.usage?.finished();
    }
  }

  private mounts(): SandboxMounts {
    return {
      gitDir: this.paths.gitDir,
      readOnly: threadObjectStores(this.paths),
    };
  }
}

function exportFailure(result: CommandResult): string {
  return [result.limitNote, result.stderr.trim().split('\n').slice(-2).join(' ')].filter(Boolean).join(' ');
}
