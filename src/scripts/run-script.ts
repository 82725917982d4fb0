import type { CommandResult, Workspace } from '../workspace/types.js';
import type { Interpreter, ScriptRecord } from './script-store.js';

/**
 * How each interpreter reads a script from stdin. The body travels on stdin and parameters
 * as environment variables, so nothing a person typed is ever part of the shell text.
 */
const stdinCommands: Record<Interpreter, string> = {
  sh: 'sh -s',
  bash: 'bash -s',
  node: 'node -',
  python3: 'python3 -',
};

export interface RunInput {
  workspace: Workspace;
  script: Pick<ScriptRecord, 'interpreter' | 'body'>;
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Runs a script in the thread's worktree, through the same sandbox, timeout and output cap as the agent. */
export function runScriptBody(input: RunInput): Promise<CommandResult> {
  return input.workspace.run(stdinCommands[input.script.interpreter], {
    stdin: input.script.body,
    env: input.env,
    timeoutMs: input.timeoutMs,
    ...(input.signal ? { signal: input.signal } : {}),
  });
}

/** The exit status stored as "last result": the exit code, or -1 when it was killed. */
export function exitStatusOf(result: CommandResult): number {
  return result.exitCode ?? -1;
}

export function describeExit(result: CommandResult, timeoutMs: number): string {
  if (result.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  if (result.cancelled) return 'was cancelled';
  if (result.exitCode === null) return `was killed (${result.signal ?? 'signal'})`;
  return result.exitCode === 0 ? 'finished (exit 0)' : `failed (exit ${result.exitCode})`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** stdout then stderr (labelled when both have text). */
export function combinedOutput(result: CommandResult): string {
  const out = result.stdout.replace(/\s+$/, '');
  const err = result.stderr.replace(/\s+$/, '');
  if (out && err) return `${out}\n--- stderr ---\n${err}`;
  return out || err;
}

/** Text the model can act on after run_script. */
export function describeRunForModel(name: string, result: CommandResult, timeoutMs: number): string {
  const parts = [`${name} ${describeExit(result, timeoutMs)} in ${formatDuration(result.durationMs)}`];
  if (result.limitNote) parts.push(result.limitNote);
  if (result.sandboxViolation) parts.push(`blocked by the sandbox: ${result.sandboxViolation}`);
  if (result.stdout) parts.push(`stdout:\n${result.stdout}`);
  if (result.stderr) parts.push(`stderr:\n${result.stderr}`);
  if (!result.stdout && !result.stderr) parts.push('(no output)');
  return parts.join('\n');
}

/** A fenced block whose fence is longer than any run of backticks inside it. */
export function codeBlock(text: string, language = ''): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

/** Keeps the end of long output (where results and errors usually are). */
export function capOutput(text: string, maxChars: number): { text: string; cut: boolean } {
  if (text.length <= maxChars) return { text, cut: false };
  const tail = text.slice(text.length - maxChars);
  const firstBreak = tail.indexOf('\n');
  const clean = firstBreak >= 0 && firstBreak < 200 ? tail.slice(firstBreak + 1) : tail;
  return { text: `… [${text.length - clean.length} characters cut]\n${clean}`, cut: true };
}
