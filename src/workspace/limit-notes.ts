import type { CgroupUsage } from './cgroups.js';
import type { DiskUsage } from './disk-usage.js';
import { formatBytes } from './format-bytes.js';
import type { ResourceLimits } from './resource-limits.js';
import type { CommandResult } from './types.js';

/** bash reports a child killed by signal N as exit status 128 + N. */
const sigxfszStatus = 128 + 25;

/** What the command's cgroups counted, and which limits they enforced. */
export interface LimitEvidence {
  usage?: CgroupUsage;
  bounds?: { pids: boolean; memory: boolean };
}

/**
 * A sentence for a resource limit the command ran into (file size, processes, memory, a full
 * tmpfs), read from the cgroups' own counters where there are some, else from its exit status
 * and error output. Undefined when nothing points to one.
 */
export function describeLimitHit(
  result: CommandResult,
  limits: ResourceLimits,
  evidence: LimitEvidence = {},
): string | undefined {
  const notes: string[] = [];
  const { usage, bounds } = evidence;
  if (
    result.exitCode === sigxfszStatus ||
    result.signal === 'SIGXFSZ' ||
    /File size limit exceeded/.test(result.stderr)
  ) {
    notes.push(`It hit the file size limit (${formatBytes(limits.maxFileBytes)} per file) and was stopped.`);
  }
  if (
    (usage?.pidsLimitHits ?? 0) > 0 ||
    /fork: (retry: )?Resource temporarily unavailable|Cannot fork|fork failed/i.test(result.stderr)
  ) {
    notes.push(
      `It hit the process limit (${limits.maxProcesses} processes at once); some processes could not start.`,
    );
  }
  if ((usage?.oomKills ?? 0) > 0) {
    notes.push(
      `It ran out of memory: the kernel killed a process at the memory limit (${formatBytes(limits.maxMemoryBytes)} for the command and everything it started, files in /tmp, $HOME and /dev/shm included).`,
    );
  } else if (/Cannot allocate memory|out of memory|std::bad_alloc|MemoryError/i.test(result.stderr)) {
    notes.push(
      bounds?.memory
        ? `It ran out of memory (limit ${formatBytes(limits.maxMemoryBytes)} for the command and everything it started).`
        : `It ran out of memory (limit ${formatBytes(limits.maxAddressSpaceBytes)} of address space per process).`,
    );
  }
  if (/No space left on device/.test(result.stderr)) {
    notes.push(
      `A write ran out of space: /tmp ($TMPDIR) and $HOME hold ${formatBytes(limits.maxTmpBytes)} each and /dev/shm ${formatBytes(limits.maxShmBytes)}, and they are emptied after every command.`,
    );
  }
  return notes.length > 0 ? notes.join(' ') : undefined;
}

/** The note for a command after which the worktree was over its disk cap. */
export function describeWorktreeOverCap(
  usage: DiskUsage,
  limits: Pick<ResourceLimits, 'maxWorktreeBytes'>,
  outcome: { discarded: true; head: string } | { discarded: false; error: string },
): string {
  const measured =
    usage.unreadable.length > 0
      ? `part of the worktree could not be read to measure it (${usage.unreadable[0]})`
      : `the worktree (its files and its git data) took more than ${formatBytes(limits.maxWorktreeBytes)} of disk, the limit per worktree`;
  if (outcome.discarded) {
    return (
      `After this command ${measured}, so its uncommitted work was discarded: every file was reset to the thread's last commit (${outcome.head.slice(0, 12)}). ` +
      'Redo the change without writing large files into the worktree.'
    );
  }
  return `After this command ${measured}, and discarding its uncommitted work failed (${outcome.error}); ask an operator to look at the worktree.`;
}
