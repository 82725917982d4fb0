import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CgroupFs, CommandCgroups } from '../../src/workspace/cgroups.js';
import {
  defaultResourceLimits,
  describeLimits,
  type Enforcement,
} from '../../src/workspace/resource-limits.js';

/**
 * Where per-command cgroups go on cgroup v2, v1, mixed and locked-down hosts, against an
 * in-memory cgroupfs that keeps the kernel's rules: a child gets the controllers its parent
 * enabled in cgroup.subtree_control; a non-root cgroup holding processes cannot enable any
 * ("no internal processes", EBUSY), nor take a process once it has; a busy group cannot be
 * removed. (The real kernel is exercised by sandbox-limits.test.ts on whatever this host has.)
 */

interface Node {
  version: 1 | 2;
  root: boolean;
  readOnly: boolean;
  controllers: Set<string>;
  subtree: Set<string>;
  procs: Set<number>;
  values: Map<string, string>;
}

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

class FakeCgroupFs implements CgroupFs {
  readonly nodes = new Map<string, Node>();
  readonly files = new Map<string, string>();
  readonly writes: string[] = [];

  addV2(
    path: string,
    options: { controllers: string[]; procs?: number[]; root?: boolean; readOnly?: boolean },
  ) {
    this.nodes.set(path, {
      version: 2,
      root: options.root ?? false,
      readOnly: options.readOnly ?? false,
      controllers: new Set(options.controllers),
      subtree: new Set(),
      procs: new Set(options.procs ?? []),
      values: new Map([['cgroup.kill', '']]),
    });
  }

  addV1(path: string, controller: string, procs: number[] = []) {
    this.nodes.set(path, {
      version: 1,
      root: false,
      readOnly: false,
      controllers: new Set([controller]),
      subtree: new Set(),
      procs: new Set(procs),
      values: v1Files(controller),
    });
  }

  async readFile(path: string): Promise<string> {
    const file = this.files.get(path);
    if (file !== undefined) return file;
    const node = this.nodeOf(path);
    const name = basename(path);
    if (name === 'cgroup.procs') return [...node.procs].map((pid) => `${pid}\n`).join('');
    if (node.version === 2 && name === 'cgroup.controllers')
      return `${[...this.controllersOf(path)].join(' ')}\n`;
    if (node.version === 2 && name === 'cgroup.subtree_control') return `${[...node.subtree].join(' ')}\n`;
    this.checkControllerFile(path);
    const value = node.values.get(name);
    if (value === undefined) throw errno('ENOENT', path);
    return value;
  }

  async writeFile(path: string, value: string): Promise<void> {
    const node = this.nodeOf(path);
    const name = basename(path);
    if (node.version === 2 && name === 'cgroup.subtree_control') {
      const controller = value.replace(/^\+/, '');
      if (!this.controllersOf(path).has(controller)) throw errno('ENOENT', path);
      if (!node.root && node.procs.size > 0) throw errno('EBUSY', path);
      node.subtree.add(controller);
    } else if (name === 'cgroup.procs') {
      if (node.version === 2 && !node.root && node.subtree.size > 0) throw errno('EBUSY', path);
      const pid = Number(value);
      for (const other of this.nodes.values()) if (other.version === node.version) other.procs.delete(pid);
      node.procs.add(pid);
    } else if (node.version === 2 && name === 'cgroup.kill') {
      node.procs.clear();
    } else {
      this.checkControllerFile(path);
      if (!node.values.has(name)) throw errno('ENOENT', path);
      node.values.set(name, value);
    }
    this.writes.push(`${path}=${value}`);
  }

  /** A v2 child has the controllers its parent enabled for its children, as they are now. */
  private controllersOf(file: string): Set<string> {
    const dir = dirname(file);
    const node = this.nodes.get(dir) as Node;
    if (node.version === 1 || node.root) return node.controllers;
    return new Set(this.nodes.get(dirname(dir))?.subtree ?? []);
  }

  /** pids.* and memory.* exist only while that controller is on for the group. */
  private checkControllerFile(file: string): void {
    const node = this.nodes.get(dirname(file)) as Node;
    const controller = /^(pids|memory)\./.exec(basename(file))?.[1];
    if (node.version === 2 && controller && !this.controllersOf(file).has(controller))
      throw errno('ENOENT', file);
  }

  async mkdir(path: string): Promise<void> {
    if (this.nodes.has(path)) throw errno('EEXIST', path);
    const parent = this.nodes.get(dirname(path));
    if (!parent) throw errno('ENOENT', path);
    if (parent.readOnly) throw errno('EROFS', path);
    if (parent.version === 1) {
      this.addV1(path, [...parent.controllers][0] as string);
      return;
    }
    this.addV2(path, { controllers: [] });
    const node = this.nodes.get(path) as Node;
    for (const controller of ['pids', 'memory'])
      for (const [file, value] of v2Files(controller)) node.values.set(file, value);
  }

  async rmdir(path: string): Promise<void> {
    const node = this.nodes.get(path);
    if (!node) throw errno('ENOENT', path);
    const hasChildren = [...this.nodes.keys()].some((other) => dirname(other) === path);
    if (node.procs.size > 0 || hasChildren) throw errno('EBUSY', path);
    this.nodes.delete(path);
  }

  async readdir(path: string): Promise<string[]> {
    this.nodeOf(join(path, 'x'));
    return [...this.nodes.keys()].filter((other) => dirname(other) === path).map((other) => basename(other));
  }

  private nodeOf(path: string): Node {
    const node = this.nodes.get(dirname(path));
    if (!node) throw errno('ENOENT', path);
    return node;
  }
}

function v2Files(controller: string): [string, string][] {
  return controller === 'pids'
    ? [
        ['pids.max', 'max'],
        ['pids.events', 'max 0\n'],
      ]
    : [
        ['memory.max', 'max'],
        ['memory.swap.max', 'max'],
        ['memory.events', 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n'],
      ];
}

function v1Files(controller: string): Map<string, string> {
  return new Map(
    controller === 'pids'
      ? [
          ['pids.max', 'max'],
          ['pids.events', 'max 0\n'],
        ]
      : [
          ['memory.limit_in_bytes', '9223372036854771712'],
          ['memory.memsw.limit_in_bytes', '9223372036854771712'],
          ['memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n'],
        ],
  );
}

const v2Mount = '41 23 0:38 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n';
const hybridMounts =
  '39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n' +
  '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n' +
  '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n';
const shipmate = process.pid;
const npmParent = 2_000_000_001;
const stranger = 2_000_000_002;

interface Scenario {
  name: string;
  build(fs: FakeCgroupFs): void;
  movable?: number[];
  pids: 1 | 2 | undefined;
  memory: 1 | 2 | undefined;
  problem?: RegExp;
  after?: (fs: FakeCgroupFs) => void;
}

const scenarios: Scenario[] = [
  {
    name: 'cgroup v2, shipmate in the root cgroup (exempt from "no internal processes")',
    build: (fs) => {
      fs.files.set('/proc/self/mountinfo', v2Mount);
      fs.files.set('/proc/self/cgroup', '0::/\n');
      fs.addV2('/sys/fs/cgroup', {
        controllers: ['cpu', 'io', 'memory', 'pids'],
        procs: [1, shipmate],
        root: true,
      });
    },
    pids: 2,
    memory: 2,
  },
  {
    name: 'cgroup v2, a service cgroup holding only shipmate and its parent: they move to a leaf',
    build: (fs) => {
      fs.files.set('/proc/self/mountinfo', v2Mount);
      fs.files.set('/proc/self/cgroup', '0::/system.slice/shipmate.service\n');
      fs.addV2('/sys/fs/cgroup', { controllers: ['memory', 'pids'], root: true });
      fs.nodes.get('/sys/fs/cgroup')?.subtree.add('memory').add('pids');
      fs.addV2('/sys/fs/cgroup/system.slice', { controllers: ['memory', 'pids'] });
      fs.nodes.get('/sys/fs/cgroup/system.slice')?.subtree.add('memory').add('pids');
      fs.addV2('/sys/fs/cgroup/system.slice/shipmate.service', {
        controllers: ['memory', 'pids'],
        procs: [npmParent, shipmate],
      });
    },
    movable: [npmParent, shipmate],
    pids: 2,
    memory: 2,
    after: (fs) => {
      expect([...(fs.nodes.get('/sys/fs/cgroup/system.slice/shipmate.service')?.procs ?? [])]).toEqual([]);
      expect([
        ...(fs.nodes.get('/sys/fs/cgroup/system.slice/shipmate.service/shipmate-service')?.procs ?? []),
      ]).toEqual([npmParent, shipmate]);
    },
  },
  {
    name: 'cgroup v2 shared with a process that is not shipmate’s: left alone',
    build: (fs) => {
      fs.files.set('/proc/self/mountinfo', v2Mount);
      fs.files.set('/proc/self/cgroup', '0::/user.slice/session-1.scope\n');
      fs.addV2('/sys/fs/cgroup', { controllers: ['memory', 'pids'], root: true });
      fs.nodes.get('/sys/fs/cgroup')?.subtree.add('memory').add('pids');
      fs.addV2('/sys/fs/cgroup/user.slice', { controllers: ['memory', 'pids'] });
      fs.nodes.get('/sys/fs/cgroup/user.slice')?.subtree.add('memory').add('pids');
      fs.addV2('/sys/fs/cgroup/user.slice/session-1.scope', {
        controllers: ['memory', 'pids'],
        procs: [stranger, shipmate],
      });
    },
    movable: [shipmate],
    pids: undefined,
    memory: undefined,
    problem: new RegExp(`holds processes other than shipmate's \\(${stranger}\\)`),
    after: (fs) => {
      expect([...(fs.nodes.get('/sys/fs/cgroup/user.slice/session-1.scope')?.procs ?? [])]).toEqual([
        stranger,
        shipmate,
      ]);
    },
  },
  {
    name: 'hybrid host: cgroup v2 without pids or memory, cgroup v1 for both',
    build: (fs) => {
      fs.files.set('/proc/self/mountinfo', hybridMounts);
      fs.files.set('/proc/self/cgroup', '8:pids:/\n4:memory:/process_api/abc\n0::/\n');
      fs.addV2('/sys/fs/cgroup/unified', { controllers: ['hugetlb'], root: true });
      fs.addV1('/sys/fs/cgroup/pids', 'pids', [shipmate]);
      fs.addV1('/sys/fs/cgroup/memory', 'memory');
      fs.addV1('/sys/fs/cgroup/memory/process_api', 'memory');
      fs.addV1('/sys/fs/cgroup/memory/process_api/abc', 'memory', [shipmate]);
    },
    pids: 1,
    memory: 1,
  },
  {
    name: 'cgroup v2 delegating pids only, memory from cgroup v1',
    build: (fs) => {
      fs.files.set(
        '/proc/self/mountinfo',
        `${v2Mount}35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n`,
      );
      fs.files.set('/proc/self/cgroup', '0::/\n4:memory:/\n');
      fs.addV2('/sys/fs/cgroup', { controllers: ['pids'], root: true });
      fs.addV1('/sys/fs/cgroup/memory', 'memory');
    },
    pids: 2,
    memory: 1,
  },
  {
    name: 'a read-only cgroupfs (a container’s default): nothing, and why',
    build: (fs) => {
      fs.files.set('/proc/self/mountinfo', v2Mount);
      fs.files.set('/proc/self/cgroup', '0::/\n');
      fs.addV2('/sys/fs/cgroup', {
        controllers: ['memory', 'pids'],
        procs: [shipmate],
        root: true,
        readOnly: true,
      });
    },
    pids: undefined,
    memory: undefined,
    problem: /cgroup v2 at \/sys\/fs\/cgroup is not usable: EROFS/,
  },
];

describe('per-command cgroups', () => {
  it.each(scenarios)('$name', async (scenario) => {
    const fs = new FakeCgroupFs();
    scenario.build(fs);
    const cgroups = await CommandCgroups.detect({
      fs,
      ...(scenario.movable ? { movable: async () => new Set(scenario.movable) } : {}),
    });
    expect({ pids: cgroups.version('pids'), memory: cgroups.version('memory') }).toEqual({
      pids: scenario.pids,
      memory: scenario.memory,
    });
    if (scenario.problem) expect(cgroups.problems.join('\n')).toMatch(scenario.problem);
    else expect(cgroups.problems).toEqual([]);
    scenario.after?.(fs);
    if (!cgroups.active) return;

    const group = await cgroups.create({ maxProcesses: 64, maxMemoryBytes: 256 * 1024 * 1024 });
    const dirs = group.procsFiles.map((file) => dirname(file));
    expect(dirs.every((dir) => /\/shipmate-sandbox\/cmd-\d+-[0-9a-f]{12}$/.test(dir))).toBe(true);
    const written = (file: string) =>
      fs.writes
        .filter((write) => write.includes(`/cmd-`) && write.includes(`/${file}=`))
        .map((w) => w.split('=')[1]);
    expect(written('pids.max')).toEqual(scenario.pids ? ['64'] : []);
    if (scenario.memory === 2) {
      expect(written('memory.max')).toEqual(['268435456']);
      expect(written('memory.swap.max')).toEqual(['0']);
    }
    if (scenario.memory === 1) {
      expect(written('memory.limit_in_bytes')).toEqual(['268435456']);
      expect(written('memory.memsw.limit_in_bytes')).toEqual(['268435456']);
    }
    expect(group.bounds).toEqual({
      pids: scenario.pids !== undefined,
      memory: scenario.memory !== undefined,
    });

    // The kernel's counters come back as usage; then the groups are killed and removed.
    const pidsDir = dirs.find((dir) => fs.nodes.get(dir)?.values.has('pids.events'));
    const memoryDir = dirs.find((dir) =>
      fs.nodes.get(dir)?.values.has(scenario.memory === 2 ? 'memory.events' : 'memory.oom_control'),
    );
    fs.nodes.get(pidsDir ?? '')?.values.set('pids.events', 'max 3\n');
    const oomFile = scenario.memory === 2 ? 'memory.events' : 'memory.oom_control';
    fs.nodes.get(memoryDir ?? '')?.values.set(oomFile, 'oom 1\noom_kill 1\n');
    expect(await group.usage()).toEqual({ pidsLimitHits: 3, oomKills: 1 });
    // A member that only cgroup.kill can remove (a fake pid, never signalled: it is past pid_max).
    const killed = dirs.filter((dir) => fs.nodes.get(dir)?.version === 2);
    for (const dir of killed) fs.nodes.get(dir)?.procs.add(2_000_000_003);
    await group.destroy();
    expect(
      fs.writes.filter((write) => write.endsWith('/cgroup.kill=1')).map((write) => dirname(write)),
    ).toEqual(killed);
    for (const dir of dirs) expect(fs.nodes.has(dir)).toBe(false);
  });
});

describe('the limits in force, as /healthz and the log say them', () => {
  const sized: Enforcement = { pids: 'cgroup v2', memory: 'cgroup v2', tmpfs: 'sized' };
  it.each([
    {
      how: sized,
      weak: false,
      text: 'pids: cgroup v2 (512), memory: cgroup v2 (4 GiB), disk: 2 GiB per worktree (checked after each command), 1 GiB per file, /tmp: 512 MiB tmpfs, $HOME: 512 MiB tmpfs, /dev/shm: 64 MiB tmpfs',
    },
    {
      how: { ...sized, pids: 'cgroup v1', memory: 'cgroup v1' } as Enforcement,
      weak: false,
      text: /^pids: cgroup v1 \(512\), memory: cgroup v1 \(4 GiB\), /,
    },
    {
      how: { ...sized, pids: 'none', memory: 'ulimit' } as Enforcement,
      weak: true,
      text: /^pids: none \(root without a writable cgroup\) — a fork bomb can exhaust the host, memory: ulimit -v 8 GiB per process only/,
    },
    {
      how: { ...sized, pids: 'ulimit' } as Enforcement,
      weak: false,
      text: /^pids: ulimit -u 512 \(no writable pids cgroup/,
    },
    { how: { ...sized, tmpfs: 'unsized' } as Enforcement, weak: true, text: /without a size cap/ },
    { how: { ...sized, tmpfs: 'host' } as Enforcement, weak: true, text: /the host’s \(sandbox off\)/ },
  ])('$how → weak: $weak', ({ how, weak, text }) => {
    const described = describeLimits(defaultResourceLimits, how);
    expect(described.weak).toBe(weak);
    if (typeof text === 'string') expect(described.text).toBe(text);
    else expect(described.text).toMatch(text);
  });
});
