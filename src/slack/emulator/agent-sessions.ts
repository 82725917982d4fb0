/**
 * Agent sessions as Slack keeps them (https://docs.slack.dev/ai/agent-sessions): "thread-based
 * and scoped to a single thread in a conversation", with a status ("processing", "active",
 * "suspended", or "closed"), a title for recall, and a native Stop button "while the agent is
 * working". agents.sessions.setStatus "creates the session if it doesn't exist and updates its
 * status if it does" (https://docs.slack.dev/reference/methods/agents.sessions.setStatus).
 */

export type AgentSessionStatus = 'active' | 'processing' | 'suspended' | 'closed';
export const AGENT_SESSION_STATUSES: readonly AgentSessionStatus[] = [
  'active',
  'processing',
  'suspended',
  'closed',
];
/** "Title for the agent session (max 200 characters)". */
export const SESSION_TITLE_LIMIT = 200;

export interface AgentSessionView {
  channel: string;
  threadTs: string;
  status: AgentSessionStatus;
  title?: string;
  initiatorUserId?: string;
  /** Every status set, in order, the first being the one the session was created with. */
  statusHistory: AgentSessionStatus[];
  /** What set each status: agents.sessions.setStatus or chat.stopStream's session_status. */
  changes: Array<{
    status: AgentSessionStatus;
    by: 'agents.sessions.setStatus' | 'chat.stopStream';
    at: number;
  }>;
}

/** The refusals an app must survive: see SlackEmulatorOptions.agentRefusal. */
export type AgentRefusal =
  /** A workspace without the methods: "unknown_method — This method is currently not available." */
  | { kind: 'older-workspace' }
  /** "feature_disabled — The agent tasks feature is not enabled for this workspace." (setStatus; streams still work) */
  | { kind: 'feature-disabled' }
  /** Any error Slack lists for these methods (`not_allowed_token_type`, `channel_type_not_supported`, `access_denied`, …). */
  | { kind: 'error'; error: string; methods?: readonly string[] };

export const STREAM_METHODS = ['chat.startStream', 'chat.appendStream', 'chat.stopStream'] as const;
export const SESSION_METHODS = ['agents.sessions.setStatus'] as const;

/** The error a refusal answers for `method`, or undefined when the method works. */
export function refusalError(refusal: AgentRefusal | undefined, method: string): string | undefined {
  if (!refusal) return undefined;
  const agentMethods: readonly string[] = [...STREAM_METHODS, ...SESSION_METHODS];
  if (refusal.kind === 'older-workspace') return agentMethods.includes(method) ? 'unknown_method' : undefined;
  if (refusal.kind === 'feature-disabled')
    return (SESSION_METHODS as readonly string[]).includes(method) ? 'feature_disabled' : undefined;
  return (refusal.methods ?? agentMethods).includes(method) ? refusal.error : undefined;
}

export class AgentSessions {
  private readonly sessions = new Map<string, AgentSessionView>();

  get(channel: string, threadTs: string): AgentSessionView | undefined {
    const session = this.sessions.get(key(channel, threadTs));
    return session && structuredClone(session);
  }

  inChannel(channel: string): AgentSessionView[] {
    return structuredClone([...this.sessions.values()].filter((session) => session.channel === channel));
  }

  /** Create (title and initiator used on creation only) or update; answers the session after. */
  set(input: {
    channel: string;
    threadTs: string;
    status: AgentSessionStatus;
    title?: string;
    initiatorUserId?: string;
    by: AgentSessionView['changes'][number]['by'];
    at: number;
  }): AgentSessionView {
    const existing = this.sessions.get(key(input.channel, input.threadTs));
    const session: AgentSessionView = existing ?? {
      channel: input.channel,
      threadTs: input.threadTs,
      status: input.status,
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.initiatorUserId !== undefined ? { initiatorUserId: input.initiatorUserId } : {}),
      statusHistory: [],
      changes: [],
    };
    session.status = input.status;
    session.statusHistory.push(input.status);
    session.changes.push({ status: input.status, by: input.by, at: input.at });
    this.sessions.set(key(input.channel, input.threadTs), session);
    return structuredClone(session);
  }
}

function key(channel: string, threadTs: string): string {
  return `${channel}:${threadTs}`;
}
