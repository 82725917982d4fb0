import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { WorkspaceError } from '../errors.js';
import { formatBytes } from './format-bytes.js';
import { OutputCapture } from './output-capture.js';
import type { CommandResult } from './types.js';

/** One child process to run with a deadline, a cancel signal and capped output. */
export interface ProcessSpec {
  file: string;
  args: string[];
  cwd: string;
  /** The complete environment: nothing of the parent's is added. */
  env: Record<string, string>;
  stdin?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes kept per stream (head + tail). */
  keepBytes: number;
  /** Output (both streams together) past which the command is killed. */
  hardLimitBytes: number;
  /** Extra teardown when the command must be stopped (e.g. killing its cgroup). */
  killTree?: () => Promise<void>;
}

type StopReason = 'timeout' | 'cancelled' | 'output-limit';

/** How long to wait for the pipes to drain once the process itself has exited. */
const drainGraceMs = 250;

/**
 * Runs `spec` in its own process group; a timeout, a cancel or runaway output SIGKILLs
 * the whole group. Resolves once the process has exited and its output is collected.
 */
export async function runProcess(spec: ProcessSpec): Promise<CommandResult> {
  const started = performance.now();
  const stdout = new OutputCapture(spec.keepBytes);
  const stderr = new OutputCapture(spec.keepBytes);
  // All three reasons to stop go through one signal: execa then SIGKILLs the process group.
  const stopper = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason) => {
    if (stopReason) return;
    stopReason = reason;
    stopper.abort();
    void spec.killTree?.();
  };
  const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
  const onAbort = () => stop('cancelled');
  if (spec.signal?.aborted) onAbort();
  spec.signal?.addEventListener('abort', onAbort, { once: true });

  const child = execa(spec.file, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    ...(spec.stdin === undefined ? { stdin: 'ignore' as const } : { input: spec.stdin }),
    // Its own process group, and every kill (including at shipmate's exit) goes to all of it.
    killDescendants: true,
    killSignal: 'SIGKILL',
    forceKillAfterDelay: false,
    cancelSignal: stopper.signal,
    // Output is kept head + tail by OutputCapture, not buffered by execa (which keeps only the head).
    buffer: false,
    verbose: 'none',
    reject: false,
  });
  const collect = (stream: Readable, capture: OutputCapture) =>
    stream.on('data', (chunk: Buffer) => {
      capture.push(chunk);
      if (stdout.totalBytes + stderr.totalBytes > spec.hardLimitBytes) stop('output-limit');
    });
  collect(child.stdout, stdout);
  collect(child.stderr, stderr);
  let drainTimer: NodeJS.Timeout | undefined;
  child.nodeChildProcess.once('exit', () => {
    // Stragglers (a backgrounded `sleep &`) must not outlive the command nor hold its pipes.
    child.kill();
    // execa resolves only once the pipes close, and its own `timeout` does not bound that: one
    // that left the group (`setsid`) and keeps them open is not waited for past the grace.
    drainTimer = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
    }, drainGraceMs);
  });

  try {
    const result = await child;
    if (child.pid === undefined) {
      throw new WorkspaceError(
        'command-spawn-failed',
        `could not start ${spec.file}: ${result.originalMessage}`,
        {
          cause: result.cause,
          userMessage: 'A command could not be started on the server.',
        },
      );
    }
    return {
      exitCode: stopReason ? null : (result.exitCode ?? null),
      signal: stopReason ? 'SIGKILL' : (result.signal ?? null),
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      timedOut: stopReason === 'timeout',
      cancelled: stopReason === 'cancelled',
      durationMs: Math.round(performance.now() - started),
      ...(stopReason ? { limitNote: describeStop(stopReason, spec) } : {}),
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(drainTimer);
    spec.signal?.removeEventListener('abort', onAbort);
  }
}

function describeStop(reason: StopReason, spec: ProcessSpec): string {
  switch (reason) {
    case 'timeout':
      return `The command timed out after ${formatSeconds(spec.timeoutMs)} and was stopped; all its processes were killed.`;
    case 'cancelled':
      return 'The command was cancelled; all its processes were killed.';
    case 'output-limit':
      return `The command printed more than ${formatBytes(spec.hardLimitBytes)} of output and was stopped.`;
  }
}

export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
