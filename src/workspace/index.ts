export { RepoMirrors } from './repo-mirror.js';
export { defaultResourceLimits, type ResourceLimits } from './resource-limits.js';
export { SandboxRunner, type SandboxRunnerOptions } from './sandbox-runner.js';
export { SandboxRuntimeWorkspace } from './sandbox-workspace.js';
export type {
  CommandResult,
  RepoSpec,
  RestoreOutcome,
  RunOptions,
  SandboxStatus,
  ThreadStateStore,
  Workspace,
} from './types.js';
export { type AcquireOptions, WorkspaceManager, type WorkspaceManagerOptions } from './worktree-manager.js';
