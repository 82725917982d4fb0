import { execFile } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, sep } from 'node:path';
import { WorkspaceError } from '../errors.js';
import { isWithin } from './path-confinement.js';

/**
 * Size-capped private tmpfs mounts inside the sandbox: `/tmp` (private to the command),
 * `/dev/shm`, the command's `$HOME`, and a small cap on the empty tmpfs sandbox-runtime lays
 * over each denied directory; `/dev` itself is remounted read-only (device nodes still work).
 *
 * sandbox-runtime has no setting for extra mounts, and its bwrap command line is position
 * sensitive: the private /tmp must come right after the read-only root (`--ro-bind / /`), so
 * that sandbox-runtime's own mounts under /tmp (the worktree, the scratch dir and their denies,
 * when they live there) land on top of it, and `/dev/shm` after `--dev /dev`. Rather than
 * parse and re-quote the shell text it returns, shipmate hands sandbox-runtime a stand-in for
 * bwrap (`bwrapPath`): a constant script that sees bwrap's real argv, inserts the words this
 * module computes (passed in the environment, never in shell text), and execs bwrap. The same
 * stand-in serves commands with a network grant, whose `srt` process does its own wrapping.
 *
 * What the stand-in does, in argv order:
 * - it inlines an `--args FD` file (sandbox-runtime moves its mounts there when the command
 *   line is long; as separate argv words they fit again);
 * - after the first `--ro-bind / /`: SHIPMATE_BWRAP_AFTER_ROOT (the /tmp tmpfs, then the host's
 *   top-level /tmp directories that hold a path the policy reads, read-only, so shipmate's own
 *   trees keep their host view when they live under /tmp), then again every bind that came before the
 *   root and lands under SHIPMATE_BWRAP_REBIND_UNDER (sandbox-runtime's proxy sockets,
 *   `/tmp/claude-http-*.sock`, which the host view of /tmp used to show);
 * - `--size SHIPMATE_BWRAP_MASK_BYTES` before each of sandbox-runtime's own `--tmpfs`;
 * - after `--dev /dev`: SHIPMATE_BWRAP_AFTER_DEV (/dev/shm, `--remount-ro /dev`, $HOME);
 * - an unknown option, or no root bind or no `--dev /dev`, fails the command (exit 126).
 * Without SHIPMATE_BWRAP_AFTER_ROOT (sandbox-runtime's own start-up probes) and for a
 * whole-host `--dev-bind / /` (its user-namespace probe) it execs bwrap unchanged.
 */
export const bwrapStandInScript = `#!/bin/bash
set -u
real="\${0%/*}/real"
fail() { printf 'shipmate: %s\\n' "$1" >&2; exit 126; }
if [[ -z \${SHIPMATE_BWRAP_AFTER_ROOT+set} ]]; then exec "$real" "$@"; fi
after_root=() after_dev=()
[[ -n $SHIPMATE_BWRAP_AFTER_ROOT ]] && mapfile -t after_root <<<"$SHIPMATE_BWRAP_AFTER_ROOT"
[[ -n \${SHIPMATE_BWRAP_AFTER_DEV:-} ]] && mapfile -t after_dev <<<"$SHIPMATE_BWRAP_AFTER_DEV"
under=\${SHIPMATE_BWRAP_REBIND_UNDER:-}
mask=\${SHIPMATE_BWRAP_MASK_BYTES:-}
unset SHIPMATE_BWRAP_AFTER_ROOT SHIPMATE_BWRAP_AFTER_DEV SHIPMATE_BWRAP_REBIND_UNDER SHIPMATE_BWRAP_MASK_BYTES
args=("$@") out=() held=() root=0 dev=0 prev= i=0
while (( i < \${#args[@]} )); do
  opt=\${args[i]}
  case $opt in
    --) break ;;
    --args)
      (( i + 1 < \${#args[@]} )) || fail 'bwrap --args without a descriptor'
      fd=\${args[i+1]}
      [[ $fd =~ ^[0-9]+$ ]] || fail "bwrap --args $fd"
      spliced=()
      mapfile -d '' -t spliced <&"$fd" || fail "cannot read bwrap --args $fd"
      exec {fd}<&-
      args=("\${args[@]:0:i}" "\${spliced[@]}" "\${args[@]:i+2}")
      continue ;;
    --new-session|--die-with-parent|--as-pid-1|--clearenv|--share-net|--unshare-*|--disable-userns|--assert-userns-disabled) n=0 ;;
    --setenv|--bind|--bind-try|--dev-bind|--dev-bind-try|--ro-bind|--ro-bind-try|--bind-fd|--ro-bind-fd|--file|--bind-data|--ro-bind-data|--symlink|--chmod|--ro-overlay) n=2 ;;
    --overlay) n=3 ;;
    --unsetenv|--userns|--userns2|--pidns|--uid|--gid|--hostname|--chdir|--lock-file|--sync-fd|--remount-ro|--exec-label|--file-label|--proc|--dev|--tmpfs|--mqueue|--dir|--seccomp|--add-seccomp-fd|--block-fd|--userns-block-fd|--info-fd|--json-status-fd|--cap-add|--cap-drop|--perms|--size|--argv0|--overlay-src|--tmp-overlay|--level-prefix) n=1 ;;
    --*) fail "unknown bubblewrap option $opt" ;;
    *) break ;;
  esac
  (( i + n < \${#args[@]} )) || fail "bwrap $opt without its arguments"
  if [[ $opt == --dev-bind && \${args[i+1]} == / && \${args[i+2]} == / ]]; then exec "$real" "$@"; fi
  if [[ $opt == --tmpfs && $prev != --size && -n $mask ]]; then out+=(--size "$mask"); fi
  out+=("\${args[@]:i:n+1}")
  if (( ! root )) && [[ $opt == --ro-bind && \${args[i+1]} == / && \${args[i+2]} == / ]]; then
    root=1
    out+=("\${after_root[@]}" "\${held[@]}")
  elif (( ! root )) && [[ -n $under && ( $opt == --bind || $opt == --ro-bind || $opt == --dev-bind ) ]]; then
    dest=\${args[i+2]}
    if [[ $dest == "$under" || $dest == "$under"/* ]]; then held+=("$opt" "\${args[i+1]}" "$dest"); fi
  fi
  if (( ! dev )) && [[ $opt == --dev && \${args[i+1]} == /dev ]]; then
    dev=1
    out+=("\${after_dev[@]}")
  fi
  prev=$opt
  (( i += n + 1 ))
done
(( root )) || fail 'no --ro-bind / / among the bubblewrap arguments: cannot lay out the private /tmp'
(( dev )) || fail 'no --dev /dev among the bubblewrap arguments: cannot lay out the private /dev/shm'
exec "$real" "\${out[@]}" "\${args[@]:i}"
`;

/** What one command gets: sizes, and the host paths the policy needs visible under /tmp. */
export interface PrivateMountPlan {
  /** Sizes in bytes, or undefined where this bwrap has no `--size` (the tmpfs is then unsized). */
  tmpBytes: number | undefined;
  shmBytes: number | undefined;
  homeBytes: number | undefined;
  maskBytes: number | undefined;
  /** The command's `$HOME` (inside its scratch dir), mounted as its own tmpfs. */
  home: string;
  /**
   * Paths the command reads (worktree, scratch, git dir, object stores). When one lives under
   * /tmp, the host's top-level /tmp directory holding it stays visible, read-only: sandbox-runtime's
   * binds and denies then apply inside it as they would without the private /tmp, so a write
   * next to the worktree is refused (and reported) rather than landing in a throwaway tmpfs.
   */
  readable: string[];
}

/** Where the stand-in looks for its plan. */
export function privateMountEnvironment(plan: PrivateMountPlan): Record<string, string> {
  const sized = (bytes: number | undefined) => (bytes === undefined ? [] : ['--size', String(bytes)]);
  const underTmp = [
    ...new Set(
      plan.readable
        .filter((path) => isWithin('/tmp', path) && path !== '/tmp')
        .map((path) => join('/tmp', relative('/tmp', path).split(sep)[0] as string)),
    ),
  ];
  const afterRoot = [
    ...sized(plan.tmpBytes),
    '--tmpfs',
    '/tmp',
    ...underTmp.flatMap((path) => ['--ro-bind-try', path, path]),
  ];
  const afterDev = [
    ...sized(plan.shmBytes),
    '--tmpfs',
    '/dev/shm',
    '--remount-ro',
    '/dev',
    ...sized(plan.homeBytes),
    '--tmpfs',
    plan.home,
  ];
  for (const word of [...afterRoot, ...afterDev]) {
    if (word.includes('\n') || word === '') {
      throw new WorkspaceError(
        'sandbox-path-invalid',
        `a sandbox path cannot hold a newline: ${JSON.stringify(word)}`,
      );
    }
  }
  return {
    SHIPMATE_BWRAP_AFTER_ROOT: afterRoot.join('\n'),
    SHIPMATE_BWRAP_AFTER_DEV: afterDev.join('\n'),
    SHIPMATE_BWRAP_REBIND_UNDER: '/tmp',
    ...(plan.maskBytes === undefined ? {} : { SHIPMATE_BWRAP_MASK_BYTES: String(plan.maskBytes) }),
  };
}

export interface BwrapStandIn {
  /** The stand-in's path: what sandbox-runtime is told bwrap is. */
  path: string;
  /** The real binary. */
  real: string;
  /** Whether the real bwrap takes `--size` (tmpfs sizes). */
  sized: boolean;
}

/**
 * One stand-in per real bwrap, per process, in a private directory removed at exit. It is
 * process-wide for the same reason the sandbox-runtime session is (see sandbox-session.ts): that
 * session is keyed by the bwrap path, so every runner in the process must name the same one.
 */
const standIns = new Map<string, Promise<BwrapStandIn>>();

export function bwrapStandIn(configured: string | undefined, searchPath: string): Promise<BwrapStandIn> {
  const key = configured ?? `PATH=${searchPath}`;
  let standIn = standIns.get(key);
  if (!standIn) {
    standIn = install(configured, searchPath);
    standIn.catch(() => standIns.delete(key));
    standIns.set(key, standIn);
  }
  return standIn;
}

async function install(configured: string | undefined, searchPath: string): Promise<BwrapStandIn> {
  const real = configured ?? (await findOnPath('bwrap', searchPath));
  if (!real) throw new Error('bubblewrap (bwrap) not installed');
  if (
    !(await access(real, constants.X_OK).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(`bubblewrap (bwrap) not executable at ${real}`);
  }
  const help = await new Promise<string>((resolve) =>
    execFile(
      real,
      ['--help'],
      { timeout: 10_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } },
      (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
    ),
  );
  const dir = await mkdtemp(join(tmpdir(), 'shipmate-bwrap-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  await symlink(real, join(dir, 'real'));
  await writeFile(join(dir, 'bwrap'), bwrapStandInScript, { mode: 0o700 });
  return { path: join(dir, 'bwrap'), real, sized: /--size\b/.test(help) };
}

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}
