import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkspaceError } from '../errors.js';
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
  const child = spawn(spec.file, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stopReason: StopReason | undefined;
  const killGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  };
  const stop = (reason: StopReason) => {
    if (stopReason) return;
    stopReason = reason;
    killGroup();
    void spec.killTree?.();
  };

  const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
  const onAbort = () => stop('cancelled');
  if (spec.signal?.aborted) onAbort();
  spec.signal?.addEventListener('abort', onAbort, { once: true });

  const collect = (stream: Readable, capture: OutputCapture) => {
    stream.on('data', (chunk: Buffer) => {
      capture.push(chunk);
      if (stdout.totalBytes + stderr.totalBytes > spec.hardLimitBytes) stop('output-limit');
    });
    return new Promise<void>((resolve) => stream.once('close', resolve));
  };
  const [outStream, errStream] = [child.stdout, child.stderr];
  if (!outStream || !errStream)
    throw new WorkspaceError('command-spawn-failed', 'child process has no output pipes');
  const drained = Promise.all([collect(outStream, stdout), collect(errStream, stderr)]);
  if (child.stdin && spec.stdin !== undefined) {
    // A command that exits without reading its input closes the pipe early; that is its choice.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin);
  }

  try {
    const { code, signal } = await waitForExit(child);
    // Stragglers (a backgrounded `sleep &`) must not outlive the command nor hold its pipes.
    killGroup();
    await Promise.race([drained, delay(drainGraceMs)]);
    outStream.destroy();
    errStream.destroy();
    return {
      exitCode: stopReason ? null : code,
      signal: stopReason ? 'SIGKILL' : signal,
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      timedOut: stopReason === 'timeout',
      cancelled: stopReason === 'cancelled',
      durationMs: Math.round(performance.now() - started),
      ...(stopReason ? { limitNote: describeStop(stopReason, spec) } : {}),
    };
  } finally {
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
  }
}

function waitForExit(
  child: ReturnType<typeof spawn>,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new WorkspaceError('command-spawn-failed', `could not start ${child.spawnfile}: ${error.message}`, {
          cause: error,
          userMessage: 'A command could not be started on the server.',
        }),
      ),
    );
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
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

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
