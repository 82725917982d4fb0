import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** Per-command ceilings, applied to the whole process tree of one command. */
export interface ResourceLimits {
  /** Processes at once (pids cgroup when writable; `ulimit -u` otherwise, which root ignores). */
  maxProcesses: number;
  /** Address space per process (`ulimit -v`). */
  maxMemoryBytes: number;
  /** Largest file a command may write (`ulimit -f`): a disk filler stops with SIGXFSZ. */
  maxFileBytes: number;
}

export const defaultResourceLimits: ResourceLimits = {
  maxProcesses: 512,
  maxMemoryBytes: 8 * 1024 ** 3,
  maxFileBytes: 1024 ** 3,
};

/**
 * A constant launcher script: joins the cgroup (when given), sets the rlimits, then
 * execs the real argv. Data only ever arrives as positional parameters.
 */
const launcherScript = [
  'if [ -n "$1" ]; then echo $$ > "$1" || exit 126; fi',
  'ulimit -S -H -u "$2" 2>/dev/null',
  'ulimit -S -H -v "$3" || exit 126',
  'ulimit -S -H -f "$4" || exit 126',
  'shift 4',
  'exec "$@"',
].join('\n');

/** Wraps `argv` so it starts inside the limits (and the cgroup, when there is one). */
export function launchWithLimits(
  limits: ResourceLimits,
  cgroupProcsFile: string | undefined,
  argv: string[],
): { file: string; args: string[] } {
  return {
    file: '/bin/bash',
    args: [
      '--norc',
      '--noprofile',
      '-c',
      launcherScript,
      'shipmate-launch',
      cgroupProcsFile ?? '',
      String(limits.maxProcesses),
      String(Math.floor(limits.maxMemoryBytes / 1024)),
      String(Math.floor(limits.maxFileBytes / 1024)),
      ...argv,
    ],
  };
}

/** One command's pids cgroup (cgroup v1 `pids` controller). */
export interface PidsCgroup {
  procsFile: string;
  /** SIGKILLs every task in the group until it is empty (or the deadline passes), then removes it. */
  destroy(): Promise<void>;
}

/**
 * Creates per-command pids cgroups under a writable cgroup v1 `pids` hierarchy. Running as
 * root, `ulimit -u` does not bind (the kernel exempts uid 0), so this is what stops a fork bomb.
 */
export class PidsCgroupFactory {
  private constructor(private readonly parent: string) {}

  /** Returns a factory when `<root>` is a writable pids hierarchy, otherwise undefined. */
  static async detect(root = '/sys/fs/cgroup/pids'): Promise<PidsCgroupFactory | undefined> {
    const probe = join(root, `shipmate-probe-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(probe);
    } catch {
      // No writable pids hierarchy (not root, cgroup v2 only, read-only): fall back to ulimit -u.
      return undefined;
    }
    const usable = await access(join(probe, 'pids.max'), constants.W_OK).then(
      () => true,
      () => false,
    );
    await rmdir(probe);
    return usable ? new PidsCgroupFactory(root) : undefined;
  }

  async create(maxProcesses: number): Promise<PidsCgroup> {
    const dir = join(this.parent, `shipmate-${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir);
    await writeFile(join(dir, 'pids.max'), String(maxProcesses));
    return { procsFile: join(dir, 'cgroup.procs'), destroy: () => killAndRemove(dir) };
  }
}

async function killAndRemove(dir: string, deadlineMs = 5_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  // Poll fast at first: after a normal exit the group empties within a millisecond or two.
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    for (const pid of await readTasks(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone between the read and the kill.
      }
    }
    const removed = await rmdir(dir).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    if (removed) return;
    if (Date.now() > deadline) return; // Still busy: the kernel frees it once the last task exits.
    await delay(pause);
  }
}

async function readTasks(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'tasks'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}
