export { RepoMirrors } from './repo-mirror.js';
export { defaultResourceLimits, type ResourceLimits } from './resource-limits.js';
export { SandboxRunner, type SandboxRunnerOptions } from './sandbox-runner.js';
export { SandboxRuntimeWorkspace } from './sandbox-workspace.js';
export type { CommandResult, RepoSpec, RunOptions, SandboxStatus, Workspace } from './types.js';
export { type AcquireOptions, WorkspaceManager, type WorkspaceManagerOptions } from './worktree-manager.js';
