export { checkForges } from './forge-check.js';
export { checkGit, type RunGit } from './git-check.js';
export { checkModel, type ModelCheckDeps } from './model-check.js';
export { exitCodeFor, formatReport } from './report.js';
export { type DoctorDeps, runChecks } from './run-checks.js';
export { checkSandbox, type SandboxReport, startSandbox } from './sandbox-check.js';
export { checkSlack, type SlackScopeProbe, type SlackScopeResult } from './slack-check.js';
export type { CheckResult, CheckStatus } from './types.js';
