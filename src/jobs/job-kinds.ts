import { z } from 'zod';

/**
 * What each kind of job stores in its JSON columns. The queue parses `payload` and `result`
 * with these schemas whenever it reads a row, so everything past the queue sees one typed
 * shape per kind; a row that does not fit becomes an `UnreadableJob` instead of a crash.
 * Adding a kind: a payload and a result schema here, one entry in `jobKinds`, and the
 * compiler then asks for its handler in main.ts.
 */

/**
 * A command word as it is stored with a command job. The parser lives in
 * src/handlers/command-words.ts; the shape lives here because the queue reads it back.
 */
export const commandWordSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('quiet') }),
  z.object({ name: z.literal('unquiet') }),
  z.object({ name: z.literal('help') }),
  z.object({ name: z.literal('cancel') }),
  z.object({ name: z.literal('permissions') }),
  z.object({ name: z.literal('scripts'), query: z.string() }),
  z.object({ name: z.literal('script'), script: z.string() }),
  z.object({ name: z.literal('run'), script: z.string(), args: z.string() }),
  z.object({ name: z.literal('delete-script'), script: z.string() }),
  z.object({ name: z.literal('propose-script'), script: z.string() }),
  z.object({ name: z.literal('digest'), args: z.string() }),
  z.object({ name: z.literal('budget'), tokens: z.number().optional() }),
]);
export type CommandWord = z.infer<typeof commandWordSchema>;

const channelType = z.enum(['channel', 'group', 'im', 'mpim']);
const domains = z.array(z.string());

/**
 * A file someone shared in the thread, as the Slack room describes it. Every field is the
 * sharer's (untrusted): the name is not a path, the size and type are claims.
 */
export const threadFileSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().max(1_000),
  mimetype: z.string().max(200).optional(),
  filetype: z.string().max(100).optional(),
  size: z.number().int().nonnegative().optional(),
  /** Where its bytes are; only src/slack/ fetches it (with the bot token, on Slack's file host only). */
  url: z.string().max(4_000).optional(),
});
export type ThreadFile = z.infer<typeof threadFileSchema>;

export const agentPayloadSchema = z.object({
  /** The message with the mention removed. */
  text: z.string(),
  /** Files on the message that asked (the thread's other files come with the thread). */
  files: z.array(threadFileSchema).max(50).optional(),
  channelType: channelType.optional(),
  /** Set by "Treat as a question / change request"; otherwise the request is classified. */
  mode: z.enum(['question', 'change']).optional(),
  /** Hosts the model asked for, each asked once. */
  asked: domains.optional(),
  /** "Allow once" answers. */
  grants: domains.optional(),
  /** "Deny" answers, and hosts refused on click. */
  denied: domains.optional(),
});
export type AgentPayload = z.infer<typeof agentPayloadSchema>;

const agentUsage = {
  repo: z.string(),
  steps: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  /** undefined price → null, so the column says "unknown" rather than 0. */
  cost: z.number().nullable(),
};

export const agentResultSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('question'), ...agentUsage }),
  z.object({ mode: z.literal('change'), ...agentUsage }),
  /** A large change request that produced only a plan and waits for "go". */
  z.object({ mode: z.literal('plan'), plan: z.string(), planFor: z.string(), ...agentUsage }),
]);
export type AgentResult = z.infer<typeof agentResultSchema>;

export const commandPayloadSchema = z.object({
  text: z.string().optional(),
  channelType: channelType.optional(),
  command: commandWordSchema,
});
export type CommandPayload = z.infer<typeof commandPayloadSchema>;

/** Only `run <script>` stores a result today. */
export const commandResultSchema = z.object({
  script: z.string(),
  exitCode: z.number().nullable(),
  durationMs: z.number(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;

export const jobKinds = {
  agent: { payload: agentPayloadSchema, result: agentResultSchema },
  command: { payload: commandPayloadSchema, result: commandResultSchema },
} as const;

export type JobKind = keyof typeof jobKinds;
export type PayloadOf<K extends JobKind> = z.infer<(typeof jobKinds)[K]['payload']>;
export type ResultOf<K extends JobKind> = z.infer<(typeof jobKinds)[K]['result']>;

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(jobKinds, kind);
}

export type JobStatus =
  | 'queued'
  | 'running'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'interrupted';

/** The columns every job has, whatever its kind. */
export interface JobColumns {
  id: string;
  seq: number;
  status: JobStatus;
  channel: string;
  threadTs: string;
  messageTs: string;
  userId: string;
  attempts: number;
  maxAttempts: number;
  statusTs: string | undefined;
  cancelRequested: boolean;
  waitUntil: number | undefined;
  errorCode: string | undefined;
  errorMessage: string | undefined;
  referenceId: string | undefined;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
}

interface JobRowOf<K extends JobKind> extends JobColumns {
  kind: K;
  payload: PayloadOf<K>;
  result: ResultOf<K> | undefined;
}

/** One kind's job; `JobOf` of a union of kinds is the union of their jobs. */
export type JobOf<K extends JobKind = JobKind> = { [P in K]: JobRowOf<P> }[K];

/** A job whose payload and result were read with its kind's schema. */
export type Job = JobOf;

/**
 * A row this version cannot read: an unknown kind, or JSON that does not fit the kind's
 * schema (written by another version, or edited by hand). It carries no payload or result;
 * the pool fails it with a plain sentence and everything else skips it.
 */
export interface UnreadableJob extends JobColumns {
  kind: 'unreadable';
  storedKind: string;
  /** For the log: which column did not fit, and why. */
  problem: string;
}

export type StoredJob = Job | UnreadableJob;

interface NewJobOf<K extends JobKind> {
  kind: K;
  channel: string;
  threadTs: string;
  messageTs: string;
  userId: string;
  payload: PayloadOf<K>;
  maxAttempts?: number;
}

export type NewJob<K extends JobKind = JobKind> = { [P in K]: NewJobOf<P> }[K];

/** A new job with the same kind and payload (Retry), keeping the kind and payload paired. */
export function copyOf<K extends JobKind>(
  job: JobOf<K>,
  changes: { userId?: string; payload?: PayloadOf<K> } = {},
): NewJob<K> {
  return {
    kind: job.kind,
    channel: job.channel,
    threadTs: job.threadTs,
    messageTs: job.messageTs,
    userId: changes.userId ?? job.userId,
    payload: changes.payload ?? job.payload,
    maxAttempts: job.maxAttempts,
  };
}

/** The sentence for the thread when a row cannot be read. */
export const unreadableJobMessage = 'This request was stored by an incompatible version; mention me again.';
