import type { Config, RepoConfig } from '../config.js';
import { routeTable } from '../jobs/actions.js';
import { copyOf } from '../jobs/job-kinds.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { ThreadFiles, ThreadHistory } from '../jobs/ports.js';
import type { Room } from '../jobs/room.js';
import type { ThreadStore } from '../jobs/thread-store.js';
import type { ToolSource, WorkspaceProvider } from '../jobs/tools.js';
import type { WorkerPool } from '../jobs/worker-pool.js';
import type { Logger } from '../log.js';
import type { Database } from '../storage/database.js';
import { modeSwitchAction } from './agent-actions.js';
import { createAgentJob } from './agent-job.js';
import { createBudgetCommand } from './budget-command.js';
import type { ModelClient } from './model-client.js';
import type { AnswerActions, ChangeFlow, FileLinks, PermissionGate, RequestBriefing } from './ports.js';
import { SessionStore } from './session-store.js';
import { UsageStore } from './usage-store.js';

export interface AgentRoomDeps {
  config: Readonly<Config>;
  db: Database;
  queue: JobQueue;
  pool: WorkerPool;
  threads: ThreadStore;
  model: ModelClient | undefined;
  workspaces: WorkspaceProvider;
  history: ThreadHistory;
  resolveDefaultBranch: (repo: RepoConfig) => Promise<string>;
  /** Tool sources of the other rooms, in the order the model should see their tools. */
  toolSources: readonly ToolSource[];
  changeFlow?: ChangeFlow | undefined;
  permissions?: PermissionGate | undefined;
  answerActions?: AnswerActions | undefined;
  fileLinks?: FileLinks | undefined;
  briefing?: RequestBriefing | undefined;
  /** Files shared in the thread (src/slack/slack-files.ts). */
  threadFiles?: ThreadFiles | undefined;
  log: Logger;
}

/** The coding agent: the `agent` job, the question/change switch, and the channel budget. */
export function createAgentRoom(deps: AgentRoomDeps): Room<'agent'> {
  const { queue, pool } = deps;
  const usage = new UsageStore(deps.db);
  const sessions = new SessionStore(deps.db);
  const log = deps.log.child({ room: 'agent' });
  /** The plan proposed last in this thread, when the last agent job there was a plan. */
  const pendingPlan = async (channel: string, threadTs: string) => {
    const last = (await queue.inThread(channel, threadTs))
      .filter((job) => job.kind === 'agent' && job.status === 'succeeded')
      .at(-1);
    return last?.kind === 'agent' && last.result?.mode === 'plan'
      ? { request: last.result.planFor, plan: last.result.plan }
      : undefined;
  };
  return {
    name: 'agent',
    jobs: { agent: createAgentJob({ ...deps, usage, sessions, pendingPlan }) },
    commands: { budget: createBudgetCommand(deps.config, usage) },
    actions: routeTable(
      modeSwitchAction.route(async ({ jobId, mode }) => {
        const original = await queue.get(jobId, 'agent');
        if (!original) return;
        pool.cancel(original.id);
        const job = await queue.enqueue(copyOf(original, { payload: { ...original.payload, mode } }));
        log.info({ jobId: job.id, switchedFrom: original.id, mode }, 'job-mode-switched');
        pool.submit(job);
      }),
    ),
  };
}
