import { SandboxManager, type SandboxRuntimeConfig } from '@anthropic-ai/sandbox-runtime';
import { WorkspaceError } from '../errors.js';
import { deniedResolvedAddresses } from './network-address.js';

/**
 * sandbox-runtime's SandboxManager is one per process (module state: its proxies, its
 * config). The network policy lives there and the proxy reads it per request, so it cannot
 * differ per command; the filesystem policy is passed per command. This module shares one
 * initialized manager between SandboxRunners that agree on the network policy.
 */
export interface SessionSettings {
  allowedDomains: string[];
  bwrapPath?: string;
}

interface Session {
  key: string;
  users: number;
  ready: Promise<void>;
}

let current: Session | undefined;

/** Initializes (or joins) the process-wide manager; returns the release function. */
export async function joinSandboxSession(settings: SessionSettings): Promise<() => Promise<void>> {
  const key = sessionKey(settings);
  if (current && current.key !== key) {
    throw new WorkspaceError(
      'sandbox-config-conflict',
      'a sandbox with a different network allowlist is already running in this process',
      { fields: { active: current.key, requested: key } },
    );
  }
  const session = current ?? startSession(key, settings);
  session.users += 1;
  try {
    await session.ready;
  } catch (error) {
    await leave(session);
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await leave(session);
  };
}

function startSession(key: string, settings: SessionSettings): Session {
  const config: SandboxRuntimeConfig = {
    network: {
      allowedDomains: [...settings.allowedDomains],
      deniedDomains: [],
      // sandbox-runtime refuses loopback, link-local, metadata and this host's addresses when
      // an allowed name resolves to them at dial time; private ranges are opt-in (rebinding).
      deniedResolvedAddresses: [...deniedResolvedAddresses],
    },
    // Replaced per command (see sandbox-policy.ts); this default denies every write.
    filesystem: { denyRead: [], allowWrite: [], denyWrite: [] },
    // The "dangerous files" scan walks the host process's cwd (not the command's), on every
    // wrap; keep it shallow. The worktree's own protections are explicit per-command denies.
    mandatoryDenySearchDepth: 1,
    ...(settings.bwrapPath ? { bwrapPath: settings.bwrapPath } : {}),
  };
  const session: Session = { key, users: 0, ready: Promise.resolve() };
  session.ready = SandboxManager.initialize(config).catch(async (error: unknown) => {
    if (current === session) current = undefined;
    // initialize() keeps the config it was given even when it throws; clear it.
    await SandboxManager.reset();
    throw error;
  });
  current = session;
  return session;
}

async function leave(session: Session): Promise<void> {
  session.users -= 1;
  if (session.users > 0 || current !== session) return;
  current = undefined;
  await SandboxManager.reset();
}

function sessionKey(settings: SessionSettings): string {
  return JSON.stringify({
    domains: [...new Set(settings.allowedDomains)].sort(),
    bwrap: settings.bwrapPath ?? null,
  });
}
