import { readConfinedFile, resolveConfinedPath, writeConfinedFile } from './path-confinement.js';
import type { SandboxRunner } from './sandbox-runner.js';
import type { CommandResult, RunOptions, Workspace } from './types.js';

/** Called around each command so the manager knows a worktree is busy and when it was last used. */
export interface WorkspaceUsage {
  started(): void;
  finished(): void;
}

/** One thread's worktree; commands go through the sandbox, file access is confined to `root`. */
export class SandboxRuntimeWorkspace implements Workspace {
  constructor(
    readonly root: string,
    readonly branch: string,
    readonly baseCommit: string,
    private readonly sandbox: SandboxRunner,
    private readonly usage?: WorkspaceUsage,
  ) {}

  async run(command: string, options?: RunOptions): Promise<CommandResult> {
    this.usage?.started();
    try {
      return await this.sandbox.run(this.root, command, options);
    } finally {
      this.usage?.finished();
    }
  }

  resolvePath(relative: string): string {
    return resolveConfinedPath(this.root, relative);
  }

  readFile(relative: string): Promise<string> {
    return readConfinedFile(this.root, relative);
  }

  writeFile(relative: string, content: string): Promise<void> {
    return writeConfinedFile(this.root, relative, content);
  }
}
