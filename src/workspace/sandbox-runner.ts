import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxManager } from '@anthropic-ai/sandbox-runtime';
import { describeError, WorkspaceError } from '../errors.js';
import type { Logger } from '../log.js';
import { type BwrapStandIn, bwrapStandIn, privateMountEnvironment } from './bwrap-mounts.js';
import { type CgroupSources, type CgroupUsage, type CommandCgroup, CommandCgroups } from './cgroups.js';
import { standardPath } from './host-git.js';
import { describeLimitHit } from './limit-notes.js';
import { deniedResolvedAddresses } from './network-address.js';
import { resolveConfinedPath } from './path-confinement.js';
import { runProcess } from './process-runner.js';
import {
  defaultResourceLimits,
  describeLimits,
  type Enforcement,
  launchWithLimits,
  type ResourceLimits,
} from './resource-limits.js';
import {
  buildFilesystemPolicy,
  composeScript,
  describeViolation,
  type FilesystemPolicy,
  type SandboxMounts,
} from './sandbox-policy.js';
import { joinSandboxSession } from './sandbox-session.js';
import type { CommandResult, RunOptions, SandboxStatus } from './types.js';

export interface SandboxRunnerOptions {
  mode: 'on' | 'off';
  /** Scratch space: one private dir per command (its HOME and TMPDIR) is made and removed here. */
  tempRoot: string;
  /** Never readable inside: shipmate's data dir, the config file, home dirs, credential files. */
  denyRead: string[];
  /** Domains reachable through sandbox-runtime's proxy; none means no network. */
  allowedDomains?: string[];
  log?: Logger;
  limits?: Partial<ResourceLimits>;
  defaultTimeoutMs?: number;
  /** Bytes kept per stream (head + tail). */
  keepBytes?: number;
  /** Output past which a command is killed. */
  hardOutputLimitBytes?: number;
  /** PATH inside the sandbox. */
  path?: string;
  /** Override for tests and odd installs; missing means `bwrap` from the standard PATH. */
  bwrapPath?: string;
  /** Where to read this process's cgroups (tests), or false to rely on rlimits only. */
  cgroups?: CgroupSources | false;
}

interface Cleanup {
  scratch: string;
  cgroup: CommandCgroup | undefined;
  wrapped: boolean;
  stopped: boolean;
}

/** The empty tmpfs sandbox-runtime lays over each denied directory only holds mount points. */
const deniedDirTmpfsBytes = 1024 * 1024;

const unavailableUserMessage =
  'Commands cannot run: the sandbox (bubblewrap) is not available on this server. ' +
  'An operator can install it with `apt-get install bubblewrap`, or set SHIPMATE_SANDBOX=off for development only.';

/**
 * Runs one shell command for a worktree inside bubblewrap (through sandbox-runtime), with a
 * reduced environment, a deadline that kills the whole tree, capped output, per-command pids
 * and memory cgroups (rlimits where the host has none to give), and private size-capped tmpfs
 * for /tmp, $HOME and /dev/shm.
 */
export class SandboxRunner {
  private standIn: BwrapStandIn | undefined;

  private constructor(
    private readonly options: SandboxRunnerOptions,
    private readonly limits: ResourceLimits,
    private readonly cgroups: CommandCgroups | undefined,
    private state: SandboxStatus,
    private release: (() => Promise<void>) | undefined,
  ) {}

  static async create(options: SandboxRunnerOptions): Promise<SandboxRunner> {
    await mkdir(options.tempRoot, { recursive: true, mode: 0o700 });
    const limits = { ...defaultResourceLimits, ...options.limits };
    const cgroups = options.cgroups === false ? undefined : await CommandCgroups.detect(options.cgroups);
    if (options.mode === 'off') {
      const detail =
        'SANDBOX OFF: commands run directly on the host with the service account’s rights — no filesystem or ' +
        'network isolation (only the env allowlist, timeouts, output caps and resource limits). Development only.';
      options.log?.warn({ sandbox: 'off' }, detail);
      const runner = new SandboxRunner(options, limits, cgroups, { mode: 'off', detail }, undefined);
      runner.announceLimits('host');
      return runner;
    }
    const runner = new SandboxRunner(
      options,
      limits,
      cgroups,
      { mode: 'bubblewrap', detail: 'starting' },
      undefined,
    );
    await runner.start();
    return runner;
  }

  status(): SandboxStatus {
    return { ...this.state };
  }

  /** The limits every command runs under (the workspace checks the disk cap after each command). */
  resourceLimits(): Readonly<ResourceLimits> {
    return this.limits;
  }

  /**
   * Runs `command` with `bash -c` in `root` (or `options.cwd` under it). `mounts` come from
   * shipmate's records of the thread, never from the checkout. With `collectBytes`, the
   * command may leave a file at `$SHIPMATE_COLLECT`; it comes back as bytes (never followed
   * through a link, never larger than that), for the host to treat as data.
   */
  async run(
    root: string,
    command: string,
    options: RunOptions = {},
    internal: { mounts?: SandboxMounts; collectBytes?: number } = {},
  ): Promise<CommandResult & { collected?: Buffer }> {
    if (this.state.mode === 'unavailable') {
      throw new WorkspaceError('sandbox-unavailable', `sandbox unavailable: ${this.state.detail}`, {
        userMessage: unavailableUserMessage,
      });
    }
    const cwd = options.cwd ? resolveConfinedPath(root, options.cwd) : root;
    const scratch = await mkdtemp(join(this.options.tempRoot, 'cmd-'));
    const cleanup: Cleanup = { scratch, cgroup: undefined, wrapped: false, stopped: true };
    try {
      await Promise.all([mkdir(join(scratch, 'home')), mkdir(join(scratch, 'tmp'))]);
      const mounts = internal.mounts ?? {};
      const policy = buildFilesystemPolicy({
        root,
        scratch,
        denyRead: this.denyReadFor(),
        // sandbox-runtime's seccomp helper runs inside, from its package in node_modules.
        mounts: { ...mounts, readOnly: [...(mounts.readOnly ?? []), sandboxRuntimeVendorDir()] },
      });
      const { script, transport } = composeScript(command, options);
      const collectPath = join(scratch, 'collected');
      if (internal.collectBytes !== undefined) transport.SHIPMATE_COLLECT = collectPath;
      const commandId = randomUUID();
      const granted = this.state.mode === 'bubblewrap' && (options.extraDomains ?? []).length > 0;
      const shellText = granted
        ? await this.wrapWithOwnProxy(script, policy, scratch, options.extraDomains ?? [])
        : await this.wrap(script, command, policy, commandId);
      cleanup.wrapped = this.state.mode === 'bubblewrap' && !granted;
      const cgroup = this.cgroups?.active ? await this.cgroups.create(this.limits) : undefined;
      cleanup.cgroup = cgroup;
      const bash = ['/bin/bash', '--norc', '--noprofile', '-c', shellText];
      const result = await runProcess({
        ...launchWithLimits(this.limits, cgroup, bash),
        cwd,
        env: { ...this.environment(scratch), ...this.privateMounts(scratch, policy), ...transport },
        ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
        timeoutMs: options.timeoutMs ?? this.options.defaultTimeoutMs ?? 120_000,
        ...(options.signal ? { signal: options.signal } : {}),
        keepBytes: this.options.keepBytes ?? 64 * 1024,
        hardLimitBytes: this.options.hardOutputLimitBytes ?? 16 * 1024 * 1024,
        ...(cgroup ? { killTree: cgroup.destroy } : {}),
      });
      cleanup.stopped = result.exitCode === null;
      const usage = await cgroup?.usage();
      const annotated = this.annotate(result, {
        policy,
        commandId,
        cwd,
        ...(usage ? { usage } : {}),
        ...(cgroup ? { bounds: cgroup.bounds } : {}),
      });
      if (internal.collectBytes === undefined || result.exitCode !== 0) return annotated;
      return { ...annotated, collected: await readCollected(collectPath, internal.collectBytes) };
    } finally {
      await this.cleanUp(cleanup);
    }
  }

  /** Leaves the shared sandbox-runtime session (the last runner out stops its proxies). */
  async close(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    await release?.();
  }

  private async start(): Promise<void> {
    try {
      // sandbox-runtime runs shipmate's stand-in for bwrap, which adds the private tmpfs mounts.
      const standIn = await bwrapStandIn(this.options.bwrapPath, standardPath);
      this.standIn = standIn;
      this.release = await joinSandboxSession({
        allowedDomains: this.options.allowedDomains ?? [],
        bwrapPath: standIn.path,
      });
      this.state = { mode: 'bubblewrap', detail: 'probing' };
      const probeRoot = await mkdtemp(join(this.options.tempRoot, 'probe-'));
      const probe = await this.run(probeRoot, 'true', { timeoutMs: 30_000 }).finally(() =>
        rm(probeRoot, { recursive: true, force: true }),
      );
      if (probe.exitCode !== 0) {
        throw new Error(
          `probe exited ${probe.exitCode ?? probe.signal}: ${probe.stderr.trim().split('\n')[0] ?? ''}`,
        );
      }
      const domains = this.options.allowedDomains ?? [];
      this.state = {
        mode: 'bubblewrap',
        detail: `bubblewrap via sandbox-runtime; network: ${domains.length > 0 ? domains.join(', ') : 'none'}`,
      };
      this.announceLimits(standIn.sized ? 'sized' : 'unsized');
      this.options.log?.info({ sandbox: this.state }, 'sandbox ready');
    } catch (error) {
      await this.close();
      this.state = { mode: 'unavailable', detail: describeError(error) };
      this.options.log?.error({ sandbox: this.state }, 'sandbox unavailable; commands will be refused');
    }
  }

  /** Puts the limits in force into the status (and so /healthz) and says so in the log, loudly when weak. */
  private announceLimits(tmpfs: Enforcement['tmpfs']): void {
    const viaCgroup = (controller: 'pids' | 'memory') => {
      const version = this.cgroups?.version(controller);
      return version === undefined ? undefined : (`cgroup v${version}` as const);
    };
    const enforcement: Enforcement = {
      pids: viaCgroup('pids') ?? (process.geteuid?.() === 0 ? 'none' : 'ulimit'),
      memory: viaCgroup('memory') ?? 'ulimit',
      tmpfs,
    };
    const { text, weak } = describeLimits(this.limits, enforcement);
    this.state = { ...this.state, detail: `${this.state.detail}; limits: ${text}`, limits: text };
    const fields = {
      limits: text,
      ...(this.cgroups?.problems.length ? { cgroups: this.cgroups.problems } : {}),
    };
    if (weak) this.options.log?.warn(fields, `sandbox limits are weak: ${text}`);
    else this.options.log?.info(fields, `sandbox limits: ${text}`);
  }

  /** The stand-in's plan for this command's private tmpfs mounts (bubblewrap only). */
  private privateMounts(scratch: string, policy: FilesystemPolicy): Record<string, string> {
    if (this.state.mode !== 'bubblewrap' || !this.standIn) return {};
    const size = (bytes: number) => (this.standIn?.sized ? bytes : undefined);
    return privateMountEnvironment({
      tmpBytes: size(this.limits.maxTmpBytes),
      shmBytes: size(this.limits.maxShmBytes),
      homeBytes: size(this.limits.maxTmpBytes),
      maskBytes: size(deniedDirTmpfsBytes),
      home: join(scratch, 'home'),
      readable: policy.allowRead ?? [],
    });
  }

  private async wrap(
    script: string,
    command: string,
    policy: FilesystemPolicy,
    commandId: string,
  ): Promise<string> {
    if (this.state.mode === 'off') return script;
    return SandboxManager.wrapWithSandbox(script, undefined, { filesystem: policy }, undefined, {
      commandId,
      commandText: command,
    });
  }

  /**
   * sandbox-runtime keeps one network allowlist per process, so a command granted extra
   * domains runs under its own `srt` process: same filesystem policy, its own proxies and
   * allowlist (the process-wide domains plus the grant), nothing shared with other commands.
   */
  private async wrapWithOwnProxy(
    script: string,
    policy: FilesystemPolicy,
    scratch: string,
    extraDomains: string[],
  ): Promise<string> {
    const settings = join(scratch, 'srt-settings.json');
    const allowedDomains = [...new Set([...(this.options.allowedDomains ?? []), ...extraDomains])];
    await writeFile(
      settings,
      JSON.stringify({
        // Private ranges are refused at dial time too, as in the shared session (rebinding).
        network: { allowedDomains, deniedDomains: [], deniedResolvedAddresses: [...deniedResolvedAddresses] },
        filesystem: policy,
        // The same stand-in for bwrap, so a granted command gets the same private mounts.
        ...(this.standIn ? { bwrapPath: this.standIn.path } : {}),
      }),
      {
        mode: 0o600,
      },
    );
    const cli = fileURLToPath(import.meta.resolve('@anthropic-ai/sandbox-runtime/dist/cli.js'));
    return [process.execPath, cli, '--settings', settings, '-c', script].map(shellQuote).join(' ');
  }

  /** The whole environment inside: nothing of shipmate's own passes through. */
  private environment(scratch: string): Record<string, string> {
    // Inside bubblewrap /tmp is the command's own capped tmpfs; with the sandbox off it is the host's.
    const tmp = this.state.mode === 'bubblewrap' ? '/tmp' : join(scratch, 'tmp');
    return {
      PATH: this.options.path ?? standardPath,
      HOME: join(scratch, 'home'),
      LANG: 'C.UTF-8',
      CI: 'true',
      TERM: 'dumb',
      TMPDIR: tmp,
      SHIPMATE_TMPDIR: tmp,
    };
  }

  private async cleanUp({ scratch, cgroup, wrapped, stopped }: Cleanup): Promise<void> {
    // After a kill, wait until every process is gone; after a normal exit the namespace is
    // already being torn down by the kernel, so reap the cgroup in the background.
    if (stopped) await cgroup?.destroy();
    else void cgroup?.destroy();
    if (wrapped) SandboxManager.cleanupAfterCommand();
    await rm(scratch, { recursive: true, force: true }).catch((error: unknown) =>
      this.options.log?.warn(
        { scratch, error: describeError(error) },
        'could not remove a command scratch dir',
      ),
    );
  }

  private denyReadFor(): string[] {
    return [...this.options.denyRead, this.options.tempRoot, ...appDirectories()];
  }

  private annotate(
    result: CommandResult,
    context: {
      policy: FilesystemPolicy;
      commandId: string;
      cwd: string;
      usage?: CgroupUsage;
      bounds?: { pids: boolean; memory: boolean };
    },
  ): CommandResult {
    const limitHit = describeLimitHit(result, this.limits, {
      ...(context.usage ? { usage: context.usage } : {}),
      ...(context.bounds ? { bounds: context.bounds } : {}),
    });
    const limitNote = [result.limitNote, limitHit].filter(Boolean).join(' ');
    if (this.state.mode === 'off') return { ...result, ...(limitNote ? { limitNote } : {}) };
    const recorded = SandboxManager.getSandboxViolationStore()
      .getViolationsForCommand(context.commandId)
      .map((violation) => violation.line);
    const sandboxViolation = describeViolation({
      stderr: result.stderr,
      recorded,
      policy: context.policy,
      networkAllowed: (this.options.allowedDomains ?? []).length > 0,
      cwd: context.cwd,
    });
    return {
      ...result,
      ...(limitNote ? { limitNote } : {}),
      ...(sandboxViolation ? { sandboxViolation } : {}),
    };
  }
}

/**
 * shipmate's install directory and working directory: a `.env` or config beside the app,
 * its code and its node_modules are nothing a command needs to see. `/` is never denied
 * whole (a service started from `/` would otherwise hide the system from every command).
 */
function appDirectories(): string[] {
  const install = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return [install, process.cwd()].filter((dir) => dir !== '/');
}

/** sandbox-runtime's bundled helpers (apply-seccomp), which run inside the sandbox. */
function sandboxRuntimeVendorDir(): string {
  const entry = fileURLToPath(import.meta.resolve('@anthropic-ai/sandbox-runtime'));
  return join(dirname(entry), '..', 'vendor');
}

/**
 * Reads the file a command left for the host: opened without following a link and without
 * blocking on a FIFO, and only if it is a regular file within the size cap.
 */
async function readCollected(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: unknown) => {
      throw new WorkspaceError('collect-missing', `the command left no readable result: ${String(error)}`, {
        cause: error,
      });
    },
  );
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new WorkspaceError('collect-invalid', 'the command result is not a regular file');
    if (stat.size > maxBytes) {
      throw new WorkspaceError('collect-too-large', `the command result is ${stat.size} bytes`, {
        userMessage: `The change is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB as a patch, so I did not stage it.`,
      });
    }
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(buffer, 0, stat.size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** One argument for bash, single-quoted. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}
