import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { sandboxOptionsFor } from '../sandbox-options.js';
import type { SandboxStatus } from '../workspace/index.js';
import { SandboxRunner } from '../workspace/sandbox-runner.js';
import type { CheckResult } from './types.js';

/** A sandbox's status and whether its limits leave the host exposed (the runner logs that as a warning). */
export interface SandboxReport {
  status: SandboxStatus;
  weak: boolean;
}

const installLine = 'sudo apt-get install bubblewrap ripgrep socat';

/**
 * The sandbox as shipmate would run it: bubblewrap found and a probe command run through
 * sandbox-runtime (SandboxRunner's own start-up), the mode and the limits in force.
 */
export async function checkSandbox(
  config: Readonly<Config>,
  deps: { sandbox?: () => Promise<SandboxReport> } = {},
): Promise<CheckResult> {
  let report: SandboxReport;
  try {
    report = await (deps.sandbox ?? (() => startSandbox(config)))();
  } catch (error) {
    return {
      name: 'sandbox',
      status: 'fail',
      detail: `could not start: ${error instanceof Error ? error.message : String(error)}`,
      fix: installLine,
    };
  }
  const { status, weak } = report;
  if (status.mode === 'unavailable') {
    return {
      name: 'sandbox',
      status: 'fail',
      detail: `unavailable: ${status.detail}`,
      fix:
        `${installLine}; if bubblewrap is installed, the kernel may forbid unprivileged user namespaces ` +
        '(Ubuntu 24.04: an AppArmor profile for bwrap, or sysctl kernel.apparmor_restrict_unprivileged_userns=0)',
    };
  }
  if (status.mode === 'off') {
    return {
      name: 'sandbox',
      status: 'warn',
      detail: status.detail,
      fix: 'unset SHIPMATE_SANDBOX (off is for development only)',
    };
  }
  return {
    name: 'sandbox',
    status: weak ? 'warn' : 'ok',
    detail: status.detail,
    ...(weak ? { fix: weakLimitsFix(status.limits ?? status.detail) } : {}),
  };
}

function weakLimitsFix(limits: string): string {
  const fixes: string[] = [];
  if (/cgroup\)|a fork bomb/.test(limits)) {
    fixes.push(
      'give shipmate a writable cgroup (systemd: Delegate=yes, as a non-root user) so pids and memory are capped',
    );
  }
  if (/without a size cap/.test(limits))
    fixes.push('install a bubblewrap with --size so /tmp and $HOME are capped');
  return fixes.join('; ') || 'see the limits above';
}

/** Starts a SandboxRunner with the options services.ts gives it, reads its status and closes it. */
export async function startSandbox(config: Readonly<Config>): Promise<SandboxReport> {
  let weak = false;
  // The runner says "sandbox limits are weak" as a warning when it announces them; listen for it.
  const log = createLogger({
    level: 'warn',
    destination: {
      write(line: string) {
        if (line.includes('sandbox limits are weak')) weak = true;
        return true;
      },
    } as NodeJS.WritableStream,
  });
  const runner = await SandboxRunner.create(sandboxOptionsFor(config, log));
  try {
    return { status: runner.status(), weak };
  } finally {
    await runner.close();
  }
}
