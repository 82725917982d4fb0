import type { CheckResult, CheckStatus } from './types.js';

const marks: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

/** The report for a person: one line per check (✓ ok, ! warning, ✗ blocking), a `fix:` line under each problem. */
export function formatReport(results: readonly CheckResult[]): string {
  const width = Math.max(0, ...results.map((result) => result.name.length));
  const lines = results.flatMap((result) => {
    const line = `${marks[result.status]} ${result.name.padEnd(width)}  ${result.detail}`;
    return result.fix && result.status !== 'ok'
      ? [line, `  ${' '.repeat(width)}  fix: ${result.fix}`]
      : [line];
  });
  const failures = results.filter((result) => result.status === 'fail').length;
  const warnings = results.filter((result) => result.status === 'warn').length;
  const summary =
    failures === 0 && warnings === 0
      ? 'All checks passed.'
      : [
          failures > 0 ? `${failures} blocking ${failures === 1 ? 'problem' : 'problems'}` : '',
          warnings > 0 ? `${warnings} ${warnings === 1 ? 'warning' : 'warnings'}` : '',
        ]
          .filter(Boolean)
          .join(', ')
          .concat('.');
  return `${lines.join('\n')}\n\n${summary}\n`;
}

/** 1 when any check is blocking, else 0 (warnings do not fail the run). */
export function exitCodeFor(results: readonly CheckResult[]): number {
  return results.some((result) => result.status === 'fail') ? 1 : 0;
}
