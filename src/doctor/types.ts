/** ok: nothing to do; warn: works, but worse than it could; fail: shipmate cannot do its job. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the doctor's report (and of /healthz): what was checked, what was found, what to change. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to change, when the status is not ok. */
  fix?: string;
}

/** The worse of two statuses. */
export function worst(a: CheckStatus, b: CheckStatus): CheckStatus {
  const rank = { ok: 0, warn: 1, fail: 2 } as const;
  return rank[a] >= rank[b] ? a : b;
}
