import type { PermissionGate } from '../agent/ports.js';
import type { Config } from '../config.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Notifier } from '../jobs/ports.js';
import type { Room } from '../jobs/room.js';
import type { ThreadStore } from '../jobs/thread-store.js';
import type { WorkerPool } from '../jobs/worker-pool.js';
import type { Logger } from '../log.js';
import type { Database } from '../storage/database.js';
import { refuseReason } from '../workspace/network-address.js';
import { GrantStore } from './grant-store.js';
import { createNetworkGate } from './network-access.js';
import { createPermissionActions } from './permission-actions.js';
import { createPermissionsCommand } from './permissions-command.js';
import { createRequestNetworkAccessTool, type RefuseHost } from './request-network-access.js';

export interface PermissionsRoomDeps {
  config: Readonly<Config>;
  db: Database;
  queue: JobQueue;
  pool: WorkerPool;
  threads: ThreadStore;
  notifier: Notifier;
  log: Logger;
  /** Why a host may never be granted; defaults to the DNS-backed check. */
  refuse?: RefuseHost;
}

export interface PermissionsRoom extends Room {
  /** The agent's port: what a job may reach, and how a question parks it. */
  gate: PermissionGate;
}

/**
 * What the sandbox may reach beyond its defaults: the model asks (request_network_access
 * through the tool context's `ask`), a writer answers with a button, the job resumes.
 */
export function createPermissionsRoom(deps: PermissionsRoomDeps): PermissionsRoom {
  const refuse = deps.refuse ?? ((domain: string) => refuseReason(domain));
  const grants = new GrantStore(deps.db);
  const tool = createRequestNetworkAccessTool(refuse);
  return {
    name: 'permissions',
    gate: createNetworkGate({ grants, refuse }),
    tools: { tools: () => [tool] },
    commands: { permissions: createPermissionsCommand(deps.config, grants) },
    actions: createPermissionActions({
      ...deps,
      grants,
      refuse,
      log: deps.log.child({ room: 'permissions' }),
    }),
  };
}
