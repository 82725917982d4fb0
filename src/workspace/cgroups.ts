import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Per-command cgroups for the pids and memory limits. For each controller: cgroup v2 when
 * our own cgroup can delegate it, else a writable cgroup v1 hierarchy, else none (the
 * caller falls back to rlimits and says so). Commands go in
 * `<our cgroup>/shipmate-sandbox/cmd-<pid>-<random>`; `shipmate-sandbox` never holds a
 * process, so cgroup v2's "no internal processes" rule lets it hand controllers to children.
 */

export type Controller = 'pids' | 'memory';
export type CgroupVersion = 1 | 2;

/** The file operations cgroupfs is driven with (node:fs unless a test brings its own cgroupfs). */
export interface CgroupFs {
  readFile(path: string): Promise<string>;
  /** Writes an existing file (cgroupfs makes no new files); ENOENT when there is none. */
  writeFile(path: string, value: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
}

const nodeFs: CgroupFs = {
  readFile: (path) => fsp.readFile(path, 'utf8'),
  // Write-only, never created: cgroup.kill is not readable, and a missing file must say ENOENT.
  writeFile: (path, value) => fsp.writeFile(path, value, { flag: constants.O_WRONLY }),
  mkdir: async (path) => {
    await fsp.mkdir(path);
  },
  rmdir: (path) => fsp.rmdir(path),
  readdir: (path) => fsp.readdir(path),
};

/** Where this process's cgroup facts come from; the real /proc and /sys files unless a test says otherwise. */
export interface CgroupSources {
  fs?: CgroupFs;
  mountinfo?: string;
  selfCgroup?: string;
  /**
   * The processes we may move out of our own v2 cgroup so it can delegate controllers: our
   * own tree (ourselves, our ancestors, our children). Anything else there stops the move.
   */
  movable?: () => Promise<Set<number>>;
}

interface Placement {
  version: CgroupVersion;
  /** `.../shipmate-sandbox`, which holds one child per running command. */
  parent: string;
}

export interface CgroupUsage {
  /** Forks refused at pids.max. */
  pidsLimitHits: number;
  /** Processes the kernel killed at the memory limit. */
  oomKills: number;
}

export interface CommandCgroup {
  /** One `cgroup.procs` per hierarchy: the launcher writes its pid into each before it execs. */
  procsFiles: string[];
  bounds: { pids: boolean; memory: boolean };
  usage(): Promise<CgroupUsage>;
  /** Kills every task (cgroup.kill, or SIGKILL until empty) and removes the groups. */
  destroy(): Promise<void>;
}

const sandboxParent = 'shipmate-sandbox';
const serviceLeaf = 'shipmate-service';
const wanted: Controller[] = ['pids', 'memory'];

export class CommandCgroups {
  private constructor(
    private readonly fs: CgroupFs,
    private readonly placements: Partial<Record<Controller, Placement>>,
    /** Why a controller is not bounded by a cgroup, for the start-up log. */
    readonly problems: string[],
  ) {}

  /** Finds (and prepares) where per-command cgroups can go; never throws. */
  static async detect(sources: CgroupSources = {}): Promise<CommandCgroups> {
    const fs = sources.fs ?? nodeFs;
    const problems: string[] = [];
    const placements: Partial<Record<Controller, Placement>> = {};
    let mounts: CgroupMount[];
    let memberships: Membership[];
    try {
      mounts = parseMountinfo(await fs.readFile(sources.mountinfo ?? '/proc/self/mountinfo'));
      memberships = parseSelfCgroup(await fs.readFile(sources.selfCgroup ?? '/proc/self/cgroup'));
    } catch (error) {
      problems.push(`cannot read this process's cgroups: ${errorText(error)}`);
      return new CommandCgroups(fs, placements, problems);
    }
    const v2 = await prepareV2(fs, mounts, memberships, sources);
    if (v2.problem) problems.push(v2.problem);
    for (const controller of v2.controllers) {
      if (v2.parent) placements[controller] = { version: 2, parent: v2.parent };
    }
    for (const controller of wanted.filter((name) => !placements[name])) {
      const v1 = await prepareV1(fs, mounts, memberships, controller);
      if (v1.parent) placements[controller] = { version: 1, parent: v1.parent };
      else if (v1.problem) problems.push(v1.problem);
    }
    const unplaced = wanted.filter((name) => !placements[name]);
    if (unplaced.length > 0 && problems.length === 0) {
      problems.push(`no cgroup hierarchy of this process offers ${unplaced.join(' or ')}`);
    }
    // What kept cgroup v2 out does not matter once cgroup v1 covers every controller.
    const cgroups = new CommandCgroups(fs, placements, unplaced.length > 0 ? problems : []);
    await cgroups.reapOrphans();
    return cgroups;
  }

  /** The cgroup version bounding `controller`, or undefined. */
  version(controller: Controller): CgroupVersion | undefined {
    return this.placements[controller]?.version;
  }

  get active(): boolean {
    return Object.keys(this.placements).length > 0;
  }

  async create(limits: { maxProcesses: number; maxMemoryBytes: number }): Promise<CommandCgroup> {
    const fs = this.fs;
    const name = `cmd-${process.pid}-${randomBytes(6).toString('hex')}`;
    const { pids, memory } = this.placements;
    const parents = [...new Set([pids?.parent, memory?.parent].filter((dir) => dir !== undefined))];
    const dirs = parents.map((parent) => join(parent, name));
    const made: string[] = [];
    try {
      for (const dir of dirs) {
        await fs.mkdir(dir);
        made.push(dir);
      }
      if (pids) await fs.writeFile(join(pids.parent, name, 'pids.max'), String(limits.maxProcesses));
      if (memory) await setMemoryLimit(fs, join(memory.parent, name), memory.version, limits.maxMemoryBytes);
    } catch (error) {
      await Promise.all(made.map((dir) => fs.rmdir(dir).catch(() => undefined)));
      throw error;
    }
    const pidsEvents = pids ? join(pids.parent, name, 'pids.events') : undefined;
    const oomEvents = memory
      ? join(memory.parent, name, memory.version === 2 ? 'memory.events' : 'memory.oom_control')
      : undefined;
    return {
      procsFiles: dirs.map((dir) => join(dir, 'cgroup.procs')),
      bounds: { pids: pids !== undefined, memory: memory !== undefined },
      usage: async () => ({
        pidsLimitHits: pidsEvents ? await readCounter(fs, pidsEvents, 'max') : 0,
        oomKills: oomEvents ? await readCounter(fs, oomEvents, 'oom_kill') : 0,
      }),
      destroy: () => killAndRemove(fs, dirs),
    };
  }

  /** Groups left by a shipmate process that is gone (a crash): kill what is left in them, remove them. */
  private async reapOrphans(): Promise<void> {
    const parents = new Set(Object.values(this.placements).map((placement) => placement.parent));
    for (const parent of parents) {
      const names = await this.fs.readdir(parent).catch(() => [] as string[]);
      const orphans = names.filter((name) => {
        const owner = /^(?:cmd|probe)-(\d+)-/.exec(name)?.[1];
        return owner !== undefined && Number(owner) !== process.pid && !isAlive(Number(owner));
      });
      await Promise.all(orphans.map((name) => killAndRemove(this.fs, [join(parent, name)], 2_000)));
    }
  }
}

async function setMemoryLimit(
  fs: CgroupFs,
  dir: string,
  version: CgroupVersion,
  bytes: number,
): Promise<void> {
  if (version === 2) {
    await fs.writeFile(join(dir, 'memory.max'), String(bytes));
    // No swapping past the limit either (the file is absent when the kernel does not account swap).
    await ignoreMissing(fs.writeFile(join(dir, 'memory.swap.max'), '0'));
    return;
  }
  await fs.writeFile(join(dir, 'memory.limit_in_bytes'), String(bytes));
  // memory+swap equal to the memory limit: no swap at all.
  await ignoreMissing(fs.writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(bytes)));
}

async function ignoreMissing(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** `name N` from a flat keyed file (pids.events, memory.events, memory.oom_control). */
async function readCounter(fs: CgroupFs, path: string, name: string): Promise<number> {
  const text = await fs.readFile(path).catch(() => '');
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/**
 * Kills every task in `dirs` and removes them. cgroup v2 (5.14+) kills the whole group with
 * one write to `cgroup.kill`; otherwise SIGKILL each member until the groups are empty (the
 * pids limit keeps a fork bomb from outrunning the loop).
 */
async function killAndRemove(fs: CgroupFs, dirs: string[], deadlineMs = 5_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  await Promise.all(dirs.map((dir) => fs.writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined)));
  let left = [...dirs];
  // Poll fast at first: after a normal exit a group empties within a millisecond or two.
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    for (const dir of left) {
      const members = parsePids(await fs.readFile(join(dir, 'cgroup.procs')).catch(() => ''));
      for (const pid of members) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone between the read and the kill.
        }
      }
    }
    const removed = await Promise.all(
      left.map((dir) =>
        fs.rmdir(dir).then(
          () => true,
          (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
        ),
      ),
    );
    left = left.filter((_, index) => !removed[index]);
    if (left.length === 0) return;
    if (Date.now() > deadline) return; // Still busy: the kernel frees it once the last task exits.
    await delay(pause);
  }
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Detection

interface CgroupMount {
  version: CgroupVersion;
  mountPoint: string;
  /** The hierarchy path mounted there ("/" unless a subtree is bind-mounted). */
  root: string;
  /** cgroup v1: the controllers of this hierarchy. */
  controllers: string[];
}

interface Membership {
  /** Empty for cgroup v2 (`0::/path`). */
  controllers: string[];
  path: string;
}

/** The cgroup and cgroup2 mounts in /proc/self/mountinfo. */
export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(' ');
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    if (fsType !== 'cgroup2' && fsType !== 'cgroup') continue;
    mounts.push({
      version: fsType === 'cgroup2' ? 2 : 1,
      mountPoint: unescapeMount(mountPoint),
      root: unescapeMount(root),
      controllers: fsType === 'cgroup' ? superOptions.split(',') : [],
    });
  }
  return mounts;
}

/** /proc/self/cgroup: `id:controllers:path` per hierarchy. */
export function parseSelfCgroup(text: string): Membership[] {
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const first = line.indexOf(':');
      const second = line.indexOf(':', first + 1);
      if (first < 0 || second < 0) return [];
      const controllers = line.slice(first + 1, second);
      return [{ controllers: controllers ? controllers.split(',') : [], path: line.slice(second + 1) }];
    });
}

function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Our own cgroup's directory under `mount`, or undefined when it is not visible there. */
function ownDirectory(mount: CgroupMount, path: string): string | undefined {
  if (path.split('/').includes('..')) return undefined; // outside our cgroup namespace's view
  const under = (relative: string) => join(mount.mountPoint, relative).replace(/(.)\/+$/, '$1');
  if (mount.root === '/') return under(path);
  if (path === mount.root) return under('');
  if (path.startsWith(`${mount.root}/`)) return under(path.slice(mount.root.length));
  return undefined;
}

async function prepareV2(
  fs: CgroupFs,
  mounts: CgroupMount[],
  memberships: Membership[],
  sources: CgroupSources,
): Promise<{ parent?: string; controllers: Controller[]; problem?: string }> {
  const mount = mounts.find((candidate) => candidate.version === 2);
  const membership = memberships.find((entry) => entry.controllers.length === 0);
  if (!mount || !membership) return { controllers: [] };
  const base = ownDirectory(mount, membership.path);
  if (!base) {
    return {
      controllers: [],
      problem: `cgroup v2: our cgroup ${membership.path} is not under ${mount.mountPoint}`,
    };
  }
  try {
    const offered = words(await fs.readFile(join(base, 'cgroup.controllers')));
    const usable = wanted.filter((controller) => offered.includes(controller));
    if (usable.length === 0) {
      return {
        controllers: [],
        problem: `cgroup v2 at ${base} offers no pids or memory controller (it has: ${offered.join(' ') || 'none'})`,
      };
    }
    const parent = join(base, sandboxParent);
    await mkdirExisting(fs, parent);
    let delegated = words(await fs.readFile(join(parent, 'cgroup.controllers')));
    const missing = usable.filter((controller) => !delegated.includes(controller));
    if (missing.length > 0) {
      const problem = await enableControllers(fs, base, missing, sources);
      if (problem) return { controllers: [], problem };
      delegated = words(await fs.readFile(join(parent, 'cgroup.controllers')));
    }
    const controllers = usable.filter((controller) => delegated.includes(controller));
    // shipmate-sandbox holds no process, so it may pass the controllers on to each command's group.
    for (const controller of controllers)
      await fs.writeFile(join(parent, 'cgroup.subtree_control'), `+${controller}`);
    await probe(
      fs,
      parent,
      controllers.map((controller) => (controller === 'pids' ? 'pids.max' : 'memory.max')),
    );
    return { parent, controllers };
  } catch (error) {
    return { controllers: [], problem: `cgroup v2 at ${base} is not usable: ${errorText(error)}` };
  }
}

/**
 * Enables `controllers` for `base`'s children. cgroup v2 refuses (EBUSY) while `base` itself
 * holds processes, unless it is the root: then our own process tree moves into a leaf
 * (`shipmate-service`) first, and only when nothing else lives in `base`. Returns a problem, or
 * undefined once enabled.
 */
async function enableControllers(
  fs: CgroupFs,
  base: string,
  controllers: Controller[],
  sources: CgroupSources,
): Promise<string | undefined> {
  const enable = async () => {
    for (const controller of controllers)
      await fs.writeFile(join(base, 'cgroup.subtree_control'), `+${controller}`);
  };
  const attempt = () =>
    enable().then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error,
    );
  let failure = await attempt();
  if (!failure) return undefined;
  const movable =
    failure.code === 'EBUSY' ? await (sources.movable ?? (() => ownProcessTree(fs)))() : undefined;
  // Our own children may start and exit meanwhile; a few rounds settle it.
  for (let round = 0; movable && failure?.code === 'EBUSY' && round < 5; round += 1) {
    const members = parsePids(await fs.readFile(join(base, 'cgroup.procs')));
    const strangers = members.filter((pid) => !movable.has(pid));
    if (strangers.length > 0) {
      return (
        `cgroup v2 at ${base} holds processes other than shipmate's (${strangers.slice(0, 5).join(', ')}), so it cannot ` +
        'delegate controllers; run shipmate in a cgroup of its own (systemd Delegate=yes, or its own container)'
      );
    }
    const leaf = join(base, serviceLeaf);
    await mkdirExisting(fs, leaf);
    for (const pid of members) {
      await fs.writeFile(join(leaf, 'cgroup.procs'), String(pid)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ESRCH') throw error;
      });
    }
    failure = await attempt();
  }
  if (!failure) return undefined;
  return `cgroup v2 at ${base}: cannot enable ${controllers.join(', ')} for its children: ${errorText(failure)}`;
}

async function prepareV1(
  fs: CgroupFs,
  mounts: CgroupMount[],
  memberships: Membership[],
  controller: Controller,
): Promise<{ parent?: string; problem?: string }> {
  const mount = mounts.find(
    (candidate) => candidate.version === 1 && candidate.controllers.includes(controller),
  );
  const membership = memberships.find((entry) => entry.controllers.includes(controller));
  if (!mount || !membership) return {};
  const base = ownDirectory(mount, membership.path);
  if (!base)
    return {
      problem: `cgroup v1 ${controller}: our cgroup ${membership.path} is not under ${mount.mountPoint}`,
    };
  const parent = join(base, sandboxParent);
  try {
    await mkdirExisting(fs, parent);
    await probe(fs, parent, [controller === 'pids' ? 'pids.max' : 'memory.limit_in_bytes']);
    return { parent };
  } catch (error) {
    return { problem: `cgroup v1 ${controller} at ${base} is not writable: ${errorText(error)}` };
  }
}

async function mkdirExisting(fs: CgroupFs, path: string): Promise<void> {
  await fs.mkdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

/** A throwaway child of `parent` must show each of `files`, writable (written back unchanged). */
async function probe(fs: CgroupFs, parent: string, files: string[]): Promise<void> {
  const dir = join(parent, `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(dir);
  try {
    for (const file of files) {
      const current = (await fs.readFile(join(dir, file))).trim();
      await fs.writeFile(join(dir, file), current);
    }
  } finally {
    await fs.rmdir(dir).catch(() => undefined);
  }
}

/** Ourselves, our ancestors and our children: the processes a move into a leaf may take along. */
async function ownProcessTree(fs: CgroupFs): Promise<Set<number>> {
  const tree = new Set([process.pid]);
  for (let current = process.pid; current > 1; ) {
    const stat = await fs.readFile(`/proc/${current}/stat`).catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(parent) || parent <= 0 || tree.has(parent)) break;
    tree.add(parent);
    current = parent;
  }
  const children = await fs.readFile(`/proc/${process.pid}/task/${process.pid}/children`).catch(() => '');
  for (const child of children.split(' ').filter(Boolean)) tree.add(Number(child));
  return tree;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
