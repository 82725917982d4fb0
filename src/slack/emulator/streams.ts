import { randomBytes } from 'node:crypto';
import { checkMessageBlocks, MAX_MESSAGE_BLOCKS } from './block-kit-limits.js';
import { type TranslatedBlock, translateMarkdown, translateMarkdownBlocks } from './markdown-translation.js';

/**
 * Streamed messages as Slack keeps them: chat.startStream / chat.appendStream / chat.stopStream
 * (https://docs.slack.dev/reference/methods/chat.startStream, …/chat.appendStream, …/chat.stopStream,
 * https://docs.slack.dev/messaging/sending-and-scheduling-messages#text-streaming). This module
 * validates the chunks the way Slack refuses them, keeps every call's chunks in order, the text,
 * the task cards and the plan, and builds the blocks a finished message is stored with. The
 * emulator (slack-emulator.ts) resolves the channel and the message and answers the HTTP call.
 */

type Json = Record<string, unknown>;
type Args = Record<string, unknown>;

export type StreamMethod = 'chat.startStream' | 'chat.appendStream' | 'chat.stopStream';
export type TaskStatus = 'pending' | 'in_progress' | 'complete' | 'error';
export type TaskDisplayMode = 'timeline' | 'plan';
export interface UrlSource {
  type: 'url';
  url: string;
  text: string;
}

/** The four chunk types (@slack/types chunk.ts; blocks chunks from https://docs.slack.dev/changelog/2026/04/16/block-kit-new-blocks). */
export type StreamChunk =
  | { type: 'markdown_text'; text: string }
  | {
      type: 'task_update';
      id: string;
      title: string;
      status: TaskStatus;
      details?: string;
      output?: string;
      sources?: UrlSource[];
    }
  | { type: 'plan_update'; title: string }
  | { type: 'blocks'; blocks: TranslatedBlock[] };

export interface StreamCall {
  method: StreamMethod;
  /** What the call carried, in order; a `markdown_text` argument appears as a markdown_text chunk. */
  chunks: StreamChunk[];
  at: number;
}

export interface StreamTask {
  id: string;
  title: string;
  status: TaskStatus;
  details?: string;
  output?: string;
  sources?: UrlSource[];
  /** Every status the task was sent with, in order (repeats of the same status collapsed). */
  statusHistory: TaskStatus[];
}

/** Where each piece sits in the message, in the order it first arrived. */
export type StreamPart =
  | { kind: 'text'; text: string }
  | { kind: 'task'; id: string }
  | { kind: 'plan' }
  | { kind: 'blocks'; blocks: TranslatedBlock[] };

export interface StreamView {
  channel: string;
  ts: string;
  threadTs: string;
  state: 'in_progress' | 'completed';
  /** Who ended it: the app (chat.stopStream) or a person's click on the native Stop. */
  stoppedBy?: 'app' | 'user';
  taskDisplayMode: TaskDisplayMode;
  recipient?: { userId: string; teamId: string };
  calls: StreamCall[];
  /** The streamed markdown so far. */
  text: string;
  tasks: StreamTask[];
  plan?: { title: string };
  parts: StreamPart[];
  /** chat.stopStream's `blocks`, "rendered at the bottom of the finalized message". */
  finalBlocks: TranslatedBlock[];
}

export class ApiRefusal extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
    this.name = 'ApiRefusal';
  }
}

/** "Limit this field to 12,000 characters" (markdown_text on all three methods). */
export const STREAM_MARKDOWN_LIMIT = 12_000;
/**
 * What one streamed message holds. Undocumented; measured against the live API: once a stream's
 * text passes about 12,000 characters every further append answers `msg_too_long`
 * (CopilotKit/CopilotKit#6064, #6244; openclaw/openclaw#143882 measured it lower, in UTF-8 bytes).
 */
export const STREAM_TOTAL_LIMIT = 12_000;
const TASK_STATUSES: readonly string[] = ['pending', 'in_progress', 'complete', 'error'];

/**
 * The chunks of one call. `markdown_text` and `chunks` are exclusive: Slack answers
 * `cannot_provide_both_markdown_text_and_chunks` (NousResearch/hermes-agent#104173; vercel/chat#886
 * found it the only field combination a live appendStream refused). A malformed chunk answers
 * `invalid_chunks` ("Chunks submitted with this message are not valid", the methods' error tables).
 */
export function readStreamChunks(args: Args): StreamChunk[] {
  const markdown = typeof args.markdown_text === 'string' ? args.markdown_text : undefined;
  const hasChunks = args.chunks !== undefined && args.chunks !== '';
  if (markdown !== undefined && markdown !== '' && hasChunks)
    throw new ApiRefusal('cannot_provide_both_markdown_text_and_chunks');
  if (!hasChunks) return markdown ? [{ type: 'markdown_text', text: markdown }] : [];
  if (!Array.isArray(args.chunks)) throw new ApiRefusal('invalid_chunks');
  return args.chunks.map((chunk) => readChunk(chunk));
}

function readChunk(chunk: unknown): StreamChunk {
  if (!isRecord(chunk)) throw new ApiRefusal('invalid_chunks');
  switch (chunk.type) {
    case 'markdown_text':
      if (typeof chunk.text !== 'string') throw new ApiRefusal('invalid_chunks');
      return { type: 'markdown_text', text: chunk.text };
    case 'plan_update':
      if (typeof chunk.title !== 'string') throw new ApiRefusal('invalid_chunks');
      return { type: 'plan_update', title: chunk.title };
    case 'task_update':
      return readTaskUpdate(chunk);
    case 'blocks':
      return { type: 'blocks', blocks: readBlocksChunk(chunk.blocks) };
    default:
      throw new ApiRefusal('invalid_chunks');
  }
}

/** `{ id, title, status: pending|in_progress|complete|error, details?, output?, sources? }` (chat.appendStream, "task_update chunks"). */
function readTaskUpdate(chunk: Json): StreamChunk {
  const { id, title, status, details, output, sources } = chunk;
  const optionalText = (value: unknown) => value === undefined || typeof value === 'string';
  if (typeof id !== 'string' || id === '' || typeof title !== 'string' || title === '')
    throw new ApiRefusal('invalid_chunks');
  if (typeof status !== 'string' || !TASK_STATUSES.includes(status)) throw new ApiRefusal('invalid_chunks');
  if (!optionalText(details) || !optionalText(output)) throw new ApiRefusal('invalid_chunks');
  if (sources !== undefined && !(Array.isArray(sources) && sources.every(isUrlSource)))
    throw new ApiRefusal('invalid_chunks');
  return {
    type: 'task_update',
    id,
    title,
    status: status as TaskStatus,
    ...(typeof details === 'string' ? { details } : {}),
    ...(typeof output === 'string' ? { output } : {}),
    ...(sources ? { sources: structuredClone(sources) as UrlSource[] } : {}),
  };
}

/** A blocks chunk holds "a maximum of 50 blocks" (@slack/types BlocksChunk), each under the usual Block Kit rules. */
function readBlocksChunk(blocks: unknown): TranslatedBlock[] {
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > MAX_MESSAGE_BLOCKS)
    throw new ApiRefusal('invalid_chunks');
  const problem = checkMessageBlocks(blocks);
  if (problem)
    throw new ApiRefusal(
      problem.error,
      problem.messages.length > 0 ? { response_metadata: { messages: problem.messages } } : {},
    );
  return structuredClone(blocks) as TranslatedBlock[];
}

/** The markdown a call carries, refused past 12,000 characters like the `markdown_text` field. */
export function checkCallText(chunks: readonly StreamChunk[]): void {
  const length = chunks.reduce(
    (sum, chunk) => sum + (chunk.type === 'markdown_text' ? chunk.text.length : 0),
    0,
  );
  if (length > STREAM_MARKDOWN_LIMIT) throw new ApiRefusal('msg_too_long');
}

/** One streamed message: its calls, text, tasks and plan, and the blocks Slack stores for it. */
export class StreamRecord {
  state: 'in_progress' | 'completed' = 'in_progress';
  stoppedBy: 'app' | 'user' | undefined;
  readonly calls: StreamCall[] = [];
  readonly parts: StreamPart[] = [];
  readonly tasks = new Map<string, StreamTask>();
  text = '';
  plan: { title: string } | undefined;
  finalBlocks: TranslatedBlock[] = [];
  /** Which of markdown_text / chunks the stream was started in (see `streaming_mode_mismatch`). */
  mode: 'markdown_text' | 'chunks' | undefined;
  private stored: { version: number; blocks: TranslatedBlock[] } | undefined;
  private version = 0;

  constructor(
    readonly channel: string,
    readonly ts: string,
    readonly threadTs: string,
    readonly taskDisplayMode: TaskDisplayMode,
    readonly recipient?: { userId: string; teamId: string },
  ) {}

  /**
   * Apply one call. Checked before anything changes, so a refused call leaves the message as it
   * was. A stream keeps the input mode it started with: switching between `markdown_text` and
   * `chunks` mid-stream answers `streaming_mode_mismatch` (NousResearch/hermes-agent#104173).
   */
  apply(method: StreamMethod, args: Args, chunks: StreamChunk[], at: number): void {
    const mode = chunks.length === 0 ? undefined : args.chunks !== undefined ? 'chunks' : 'markdown_text';
    if (mode && this.mode && mode !== this.mode) throw new ApiRefusal('streaming_mode_mismatch');
    const added = chunks.reduce(
      (sum, chunk) => sum + (chunk.type === 'markdown_text' ? chunk.text.length : 0),
      0,
    );
    if (this.text.length + added > STREAM_TOTAL_LIMIT) throw new ApiRefusal('msg_too_long');
    this.mode ??= mode;
    this.calls.push({ method, chunks: structuredClone(chunks), at });
    for (const chunk of chunks) this.applyChunk(chunk);
    this.version += 1;
  }

  finish(stoppedBy: 'app' | 'user', finalBlocks: TranslatedBlock[] = []): void {
    this.state = 'completed';
    this.stoppedBy = stoppedBy;
    this.finalBlocks = structuredClone(finalBlocks);
    this.version += 1;
  }

  /**
   * The blocks conversations.history / conversations.replies return: "timeline task updates
   * render as individual task cards interleaved with streamed text. plan task updates render
   * together in a plan block", "with the first task's placement determining the placement of the
   * rest" (chat.startStream, task_display_mode); task_update chunks become `task_card` blocks
   * (https://docs.slack.dev/reference/block-kit/blocks/task-card-block, details and output as one
   * rich_text each), the plan a `plan` block (…/blocks/plan-block), text the blocks its markdown
   * translates to, and stopStream's blocks come last. Kept per version, so block_ids hold between reads.
   */
  storedBlocks(): TranslatedBlock[] {
    if (this.stored?.version === this.version) return structuredClone(this.stored.blocks);
    const blocks = this.parts.flatMap((part) => this.partBlocks(part));
    blocks.push(...translateMarkdownBlocks(this.finalBlocks));
    this.stored = { version: this.version, blocks };
    return structuredClone(blocks);
  }

  view(): StreamView {
    return structuredClone({
      channel: this.channel,
      ts: this.ts,
      threadTs: this.threadTs,
      state: this.state,
      ...(this.stoppedBy ? { stoppedBy: this.stoppedBy } : {}),
      taskDisplayMode: this.taskDisplayMode,
      ...(this.recipient ? { recipient: this.recipient } : {}),
      calls: this.calls,
      text: this.text,
      tasks: [...this.tasks.values()],
      ...(this.plan ? { plan: this.plan } : {}),
      parts: this.parts,
      finalBlocks: this.finalBlocks,
    });
  }

  private applyChunk(chunk: StreamChunk): void {
    if (chunk.type === 'markdown_text') {
      this.text += chunk.text;
      const last = this.parts.at(-1);
      if (last?.kind === 'text') last.text += chunk.text;
      else if (chunk.text) this.parts.push({ kind: 'text', text: chunk.text });
    } else if (chunk.type === 'plan_update') {
      this.plan = { title: chunk.title };
      if (this.taskDisplayMode === 'plan') this.placePlan();
    } else if (chunk.type === 'blocks') {
      this.parts.push({ kind: 'blocks', blocks: structuredClone(chunk.blocks) });
    } else {
      this.applyTask(chunk);
    }
  }

  private applyTask(chunk: Extract<StreamChunk, { type: 'task_update' }>): void {
    const existing = this.tasks.get(chunk.id);
    const { type, ...fields } = chunk;
    const history = existing?.statusHistory ?? [];
    if (history.at(-1) !== chunk.status) history.push(chunk.status);
    this.tasks.set(chunk.id, { ...existing, ...fields, statusHistory: history });
    if (this.taskDisplayMode === 'plan') this.placePlan();
    else if (!existing) this.parts.push({ kind: 'task', id: chunk.id });
  }

  private placePlan(): void {
    if (!this.parts.some((part) => part.kind === 'plan')) this.parts.push({ kind: 'plan' });
  }

  private partBlocks(part: StreamPart): TranslatedBlock[] {
    if (part.kind === 'text') return translateMarkdown(part.text);
    if (part.kind === 'blocks') return translateMarkdownBlocks(part.blocks);
    if (part.kind === 'task') {
      const task = this.tasks.get(part.id);
      return task ? [{ ...taskCard(task), block_id: newBlockId() }] : [];
    }
    const tasks = [...this.tasks.values()].map(taskCard);
    return [{ type: 'plan', block_id: newBlockId(), title: this.plan?.title ?? '', tasks }];
  }
}

function taskCard(task: StreamTask): TranslatedBlock {
  return {
    type: 'task_card',
    task_id: task.id,
    title: task.title,
    status: task.status,
    ...(task.details !== undefined ? { details: richText(task.details) } : {}),
    ...(task.output !== undefined ? { output: richText(task.output) } : {}),
    ...(task.sources ? { sources: structuredClone(task.sources) } : {}),
  };
}

function richText(text: string): Json {
  return {
    type: 'rich_text',
    block_id: newBlockId(),
    elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }],
  };
}

function isUrlSource(value: unknown): boolean {
  return (
    isRecord(value) && value.type === 'url' && typeof value.url === 'string' && typeof value.text === 'string'
  );
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function newBlockId(): string {
  return randomBytes(3).toString('base64url');
}
