import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The sandbox's containment and limits when shipmate runs as an ordinary user (most
 * installs), next to the root runs of the rest of the suite (CI is root). The probe runs the
 * built runner (dist/) as uid 65534 through setpriv and reports what each hostile command
 * managed; the host side checks the files itself.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runnerModule = join(root, 'dist', 'workspace', 'sandbox-runner.js');
const nobody = 65534;

/** Why this machine cannot run the probe as another user, or undefined when it can. */
function unavailable(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'the suite is not running as root, so it cannot switch to another user';
  if (!existsSync('/usr/bin/setpriv')) return 'setpriv (util-linux) is not installed';
  const readable = spawnSync(
    'setpriv',
    [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', 'test', '-r', runnerModule],
    { stdio: 'ignore' },
  );
  if (readable.status !== 0)
    return `uid ${nobody} cannot read ${runnerModule} (the checkout is not world-readable)`;
  return undefined;
}

const reason = unavailable();
const base = mkdtempSync(join(tmpdir(), 'shipmate-unprivileged-'));

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

const probeScript = `
import { SandboxRunner } from ${JSON.stringify(runnerModule)};
import { mkdirSync } from 'node:fs';
const [work, denied, outside] = process.argv.slice(2);
mkdirSync(work + '/checkout', { recursive: true });
const sandbox = await SandboxRunner.create({ mode: 'on', tempRoot: work + '/tmp', denyRead: [denied],
  limits: { maxProcesses: 64, maxMemoryBytes: 512 * 1024 * 1024 } });
const run = (command, argv = []) => sandbox.run(work + '/checkout', command, { argv, timeoutMs: 60_000 });
const report = { status: sandbox.status() };
if (report.status.mode === 'bubblewrap') {
  report.write = await run('echo pwned > "$1"', [outside]);
  report.read = await run('cat "$1"/secret.txt', [denied]);
  report.env = await run('env');
  report.forks = await run('for i in $(seq 1 200); do sleep 2 & done 2>&1 | tail -1; wait; echo done');
  report.tmp = await run('echo x > /tmp/probe-file && cat /tmp/probe-file');
}
await sandbox.close();
process.stdout.write(JSON.stringify(report));
`;

describe.skipIf(reason !== undefined)(
  `the sandbox as an unprivileged user${reason ? ` (skipped: ${reason})` : ''}`,
  () => {
    it('contains hostile commands and applies the limits it reports', () => {
      const work = join(base, 'work');
      const denied = join(base, 'denied');
      const outside = join(base, 'outside.txt');
      mkdirSync(work, { recursive: true });
      mkdirSync(denied, { recursive: true });
      writeFileSync(join(denied, 'secret.txt'), 'CANARY-UNPRIVILEGED');
      chownSync(work, nobody, nobody);
      chmodSync(base, 0o755);
      chmodSync(denied, 0o755);
      chmodSync(join(denied, 'secret.txt'), 0o644);
      writeFileSync(join(work, 'probe.mjs'), probeScript);
      // The node that runs the suite may live in a directory only root can read (a cache in /root).
      const node = join(base, 'node');
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
      const output = execFileSync(
        'setpriv',
        [
          `--reuid=${nobody}`,
          `--regid=${nobody}`,
          '--clear-groups',
          node,
          join(work, 'probe.mjs'),
          work,
          denied,
          outside,
        ],
        {
          encoding: 'utf8',
          env: {
            PATH: '/usr/local/bin:/usr/bin:/bin',
            HOME: work,
            SLACK_BOT_TOKEN: 'xoxb-unprivileged-canary-token',
          },
          timeout: 300_000,
        },
      );
      const report = JSON.parse(output) as Record<
        string,
        { stdout: string; stderr: string; exitCode: number | null }
      > & {
        status: { mode: string; limits?: string };
      };
      expect(report.status.mode).toBe('bubblewrap');
      expect(report.status.limits).toMatch(/pids: /);
      expect(existsSync(outside)).toBe(false);
      expect(report.read?.stdout).not.toContain('CANARY-UNPRIVILEGED');
      expect(report.env?.stdout).not.toContain('xoxb-unprivileged-canary-token');
      expect(report.forks?.stdout).toContain('done');
      expect(`${report.forks?.stdout}${report.forks?.stderr}`).toMatch(
        /Resource temporarily unavailable|retry|fork/i,
      );
      expect(report.tmp?.stdout).toBe('x\n');
    });
  },
);
