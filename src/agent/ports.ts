import type { Logger } from '../log.js';
import type { Workspace } from '../workspace/types.js';

export type { Workspace };

/** One message of the Slack thread, as the agent sees it. */
export interface ThreadMessage {
  ts: string;
  userId: string | undefined;
  name: string;
  kind: 'person' | 'bot' | 'shipmate';
  text: string;
}

/** Reads the conversation so far. Implemented by src/slack/. */
export interface ThreadHistory {
  fetch(channel: string, threadTs: string): Promise<ThreadMessage[]>;
  displayName(userId: string): Promise<string>;
  permalink(channel: string, messageTs: string): Promise<string | undefined>;
}

/** What a tool gets: never the database or the Slack client. */
export interface ToolContext {
  workspace: Workspace;
  jobId: string;
  userId: string;
  signal: AbortSignal;
  log: Logger;
  progress(text: string): void;
  commandTimeoutMs: number;
  /** Extra environment for every command (install scripts off unless the repo allows them). */
  commandEnv?: Record<string, string>;
  /** Domains granted to this job's commands beyond the process-wide allowlist. */
  extraDomains?: string[];
  /** Called when the sandbox blocked a command, so the answer can say what was needed. */
  reportBlocked?: (sentence: string) => void;
}
