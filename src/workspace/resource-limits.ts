import { formatBytes } from './format-bytes.js';

/** Per-command ceilings, applied to the whole process tree of one command. */
export interface ResourceLimits {
  /** Processes (tasks) at once: the pids cgroup; `ulimit -u` without one, which root ignores. */
  maxProcesses: number;
  /** Memory of the whole command (its processes and the tmpfs pages they write): the memory cgroup. */
  maxMemoryBytes: number;
  /** Address space per process (`ulimit -v`), the only memory bound when no memory cgroup is writable. */
  maxAddressSpaceBytes: number;
  /** Largest file a command may write (`ulimit -f`): a disk filler stops with SIGXFSZ. */
  maxFileBytes: number;
  /** The thread's checkout and sandbox git dir together, measured after each command. */
  maxWorktreeBytes: number;
  /** The private `/tmp` (also `$TMPDIR`) and the private `$HOME`, each a tmpfs of this size. */
  maxTmpBytes: number;
  /** The private `/dev/shm` tmpfs. */
  maxShmBytes: number;
}

export const defaultResourceLimits: ResourceLimits = {
  maxProcesses: 512,
  maxMemoryBytes: 4 * 1024 ** 3,
  maxAddressSpaceBytes: 8 * 1024 ** 3,
  maxFileBytes: 1024 ** 3,
  maxWorktreeBytes: 2 * 1024 ** 3,
  maxTmpBytes: 512 * 1024 ** 2,
  maxShmBytes: 64 * 1024 ** 2,
};

/** How each limit is enforced on this host, as found at start-up. */
export interface Enforcement {
  pids: 'cgroup v2' | 'cgroup v1' | 'ulimit' | 'none';
  memory: 'cgroup v2' | 'cgroup v1' | 'ulimit';
  /** bubblewrap mounts the private, sized tmpfs; off: the host's /tmp and /dev/shm. */
  tmpfs: 'sized' | 'unsized' | 'host';
}

/** The limits in force, one line for /healthz and the start-up log; `weak` when one leaves the host exposed. */
export function describeLimits(limits: ResourceLimits, how: Enforcement): { text: string; weak: boolean } {
  const parts: string[] = [];
  let weak = false;
  if (how.pids === 'cgroup v2' || how.pids === 'cgroup v1') {
    parts.push(`pids: ${how.pids} (${limits.maxProcesses})`);
  } else if (how.pids === 'ulimit') {
    parts.push(
      `pids: ulimit -u ${limits.maxProcesses} (no writable pids cgroup; counts every process of the service user)`,
    );
  } else {
    weak = true;
    parts.push('pids: none (root without a writable cgroup) — a fork bomb can exhaust the host');
  }
  if (how.memory === 'ulimit') {
    weak = true;
    parts.push(
      `memory: ulimit -v ${formatBytes(limits.maxAddressSpaceBytes)} per process only (no writable memory cgroup) — many processes together can exhaust the host's memory`,
    );
  } else {
    parts.push(`memory: ${how.memory} (${formatBytes(limits.maxMemoryBytes)})`);
  }
  parts.push(
    `disk: ${formatBytes(limits.maxWorktreeBytes)} per worktree (checked after each command), ${formatBytes(limits.maxFileBytes)} per file`,
  );
  if (how.tmpfs === 'host') {
    weak = true;
    parts.push('/tmp and /dev/shm: the host’s (sandbox off)');
  } else if (how.tmpfs === 'unsized') {
    weak = true;
    parts.push('/tmp, $HOME and /dev/shm: private tmpfs without a size cap (this bwrap has no --size)');
  } else {
    parts.push(
      `/tmp: ${formatBytes(limits.maxTmpBytes)} tmpfs, $HOME: ${formatBytes(limits.maxTmpBytes)} tmpfs, /dev/shm: ${formatBytes(limits.maxShmBytes)} tmpfs`,
    );
  }
  return { text: parts.join(', '), weak };
}

/**
 * A constant launcher script: joins the cgroups (one `cgroup.procs` per hierarchy), sets the
 * rlimits that are not covered by a cgroup, then execs the real argv. Data only ever arrives
 * as positional parameters; an empty rlimit value leaves that rlimit alone.
 */
const launcherScript = [
  'n="$1"; shift',
  'while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n - 1)); done',
  'if [ -n "$1" ]; then ulimit -S -H -u "$1" 2>/dev/null; fi',
  'if [ -n "$2" ]; then ulimit -S -H -v "$2" || exit 126; fi',
  'ulimit -S -H -f "$3" || exit 126',
  'shift 3',
  'exec "$@"',
].join('\n');

/** Wraps `argv` so it starts inside the cgroups (when there are any) and the remaining rlimits. */
export function launchWithLimits(
  limits: ResourceLimits,
  cgroup: { procsFiles: string[]; bounds: { pids: boolean; memory: boolean } } | undefined,
  argv: string[],
): { file: string; args: string[] } {
  const procsFiles = cgroup?.procsFiles ?? [];
  return {
    file: '/bin/bash',
    args: [
      '--norc',
      '--noprofile',
      '-c',
      launcherScript,
      'shipmate-launch',
      String(procsFiles.length),
      ...procsFiles,
      // A pids cgroup replaces `ulimit -u` (which counts every process of the user, not this command's).
      cgroup?.bounds.pids ? '' : String(limits.maxProcesses),
      // A memory cgroup replaces `ulimit -v` (which breaks runtimes that reserve address space).
      cgroup?.bounds.memory ? '' : String(Math.floor(limits.maxAddressSpaceBytes / 1024)),
      String(Math.floor(limits.maxFileBytes / 1024)),
      ...argv,
    ],
  };
}
