import type { ActionRoute, ViewRoute } from './actions.js';
import type { CommandRoute, CommandRoutes } from './command-job.js';
import type { JobKind } from './job-kinds.js';
import type { JobHandlers } from './ports.js';
import type { ToolSource } from './tools.js';

/**
 * A room: one concern (agent, forge, scripts, digests, permissions) with everything it
 * adds to the app. main.ts builds each room from services and ports and hands the rooms
 * to `gatherRooms`; nothing outside a room reaches into it.
 */
export type Room<K extends JobKind = never> = RoomParts &
  ([K] extends [never]
    ? { readonly jobs?: undefined }
    : {
        /** Handlers for the job kinds this room owns. */
        readonly jobs: Pick<JobHandlers, K>;
      });

export interface RoomParts {
  readonly name: string;
  /** Buttons, by action id, built with `defineAction(…).route`. */
  readonly actions?: Readonly<Record<string, ActionRoute>>;
  /** Modal submissions, by callback id. */
  readonly views?: Readonly<Record<string, ViewRoute>>;
  /** Command words this room answers (`@shipmate scripts`, `digest …`). */
  readonly commands?: CommandRoutes;
  /** Tools and starting context this room offers the agent. */
  readonly tools?: ToolSource;
  /** Called once the app takes events (schedulers, seeding). */
  start?(): void | Promise<void>;
  /** Called on shutdown, in reverse order, before jobs are drained. */
  stop?(): void | Promise<void>;
}

export interface GatheredRooms {
  actions: Record<string, ActionRoute>;
  views: Record<string, ViewRoute>;
  commands: CommandRoutes;
  tools: ToolSource[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Merges the rooms' tables; an id two rooms claim is a wiring mistake and stops start-up. */
export function gatherRooms(rooms: ReadonlyArray<RoomParts>): GatheredRooms {
  const actions: Record<string, ActionRoute> = {};
  const views: Record<string, ViewRoute> = {};
  const commands: Record<string, CommandRoute> = {};
  const owners = new Map<string, string>();
  const claim = <T>(
    table: Record<string, T>,
    kind: string,
    entries: Readonly<Record<string, T>> | undefined,
    room: string,
  ) => {
    for (const [id, value] of Object.entries(entries ?? {})) {
      const key = `${kind} ${id}`;
      const owner = owners.get(key);
      if (owner) throw new Error(`the ${key} is claimed by both the ${owner} and the ${room} room`);
      owners.set(key, room);
      table[id] = value;
    }
  };
  for (const room of rooms) {
    claim(actions, 'button', room.actions, room.name);
    claim(views, 'form', room.views, room.name);
    claim(commands, 'command', room.commands as Record<string, CommandRoute> | undefined, room.name);
  }
  return {
    actions,
    views,
    commands: commands as CommandRoutes,
    tools: rooms.flatMap((room) => (room.tools ? [room.tools] : [])),
    async start() {
      for (const room of rooms) await room.start?.();
    },
    async stop() {
      for (const room of [...rooms].reverse()) await room.stop?.();
    },
  };
}
