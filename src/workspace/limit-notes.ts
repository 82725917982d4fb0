import { formatBytes } from './process-runner.js';
import type { ResourceLimits } from './resource-limits.js';
import type { CommandResult } from './types.js';

/** bash reports a child killed by signal N as exit status 128 + N. */
const sigxfszStatus = 128 + 25;

/**
 * A sentence for a resource limit the command ran into (file size, processes, memory),
 * read from its exit status and error output. Undefined when nothing points to one.
 */
export function describeLimitHit(result: CommandResult, limits: ResourceLimits): string | undefined {
  const notes: string[] = [];
  if (
    result.exitCode === sigxfszStatus ||
    result.signal === 'SIGXFSZ' ||
    /File size limit exceeded/.test(result.stderr)
  ) {
    notes.push(`It hit the file size limit (${formatBytes(limits.maxFileBytes)} per file) and was stopped.`);
  }
  if (/fork: (retry: )?Resource temporarily unavailable|Cannot fork|fork failed/i.test(result.stderr)) {
    notes.push(`It hit the process limit (${limits.maxProcesses} processes at once).`);
  }
  if (/Cannot allocate memory|out of memory|std::bad_alloc|MemoryError/i.test(result.stderr)) {
    notes.push(
      `It ran out of memory (limit ${formatBytes(limits.maxMemoryBytes)} of address space per process).`,
    );
  }
  return notes.length > 0 ? notes.join(' ') : undefined;
}
