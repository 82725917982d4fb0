import { randomBytes, randomUUID } from 'node:crypto';
import type { ChatCompletionRequestBody } from '../scripted-model.js';

/**
 * One model turn in a neutral shape, and the pieces every family's wire format is built from.
 * Each family (see the sibling files) says how a turn looks on its wire: ids, extra fields,
 * usage, and how a stream is cut into chunks.
 */

export interface TurnToolCall {
  id: string;
  name: string;
  /** The arguments text as the model produced it (may be malformed when scripted so). */
  arguments: string;
  /** The scripted object, when the script gave one (a gateway may send it as an object). */
  argumentsObject?: Record<string, unknown>;
}

export interface TurnUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

export interface Turn {
  id: string;
  created: number;
  model: string;
  content: string | null;
  reasoning: string | undefined;
  toolCalls: TurnToolCall[];
  finishReason: string;
  usage: TurnUsage;
}

export interface StreamStyle {
  /** The first chunk's delta (the role, usually). */
  firstDelta(turn: Turn): Record<string, unknown>;
  contentDelta(text: string): Record<string, unknown>;
  /** Present when the family streams chain of thought in its own field. */
  reasoningDelta?(text: string): Record<string, unknown>;
  /** The deltas that carry one tool call, in order. */
  toolCallDeltas(call: TurnToolCall, index: number): Record<string, unknown>[];
  /** OpenAI adds `"usage": null` to every chunk when `include_usage` is on. */
  usageNullOnChunks?: boolean;
  /** SSE comment lines sent before the first chunk. */
  comments?: string[];
  /** Extra fields on the usage chunk (llama.cpp's timings). */
  usageChunkFields?(turn: Turn): Record<string, unknown>;
}

export interface WireStyle {
  completionId(): string;
  toolCallId(index: number): string;
  rootFields?(turn: Turn): Record<string, unknown>;
  /** Fields only a non-streaming completion carries (llama.cpp's timings). */
  completionFields?(turn: Turn): Record<string, unknown>;
  message(turn: Turn): Record<string, unknown>;
  /** Extra choice fields; `finishReason` is null on every chunk but the last. */
  choiceFields?(finishReason: string | null): Record<string, unknown>;
  /** Undefined: the family sends no usage. */
  usage(turn: Turn): Record<string, unknown> | undefined;
  stream: StreamStyle;
}

/** A chunk of a stream: the wire text and how many characters of output it carries (for pacing). */
export interface StreamChunk {
  text: string;
  chars: number;
}

export function renderCompletion(turn: Turn, wire: WireStyle): Record<string, unknown> {
  const usage = wire.usage(turn);
  return {
    id: turn.id,
    object: 'chat.completion',
    created: turn.created,
    model: turn.model,
    ...wire.rootFields?.(turn),
    choices: [
      {
        index: 0,
        message: wire.message(turn),
        ...wire.choiceFields?.(turn.finishReason),
        finish_reason: turn.finishReason,
      },
    ],
    ...(usage ? { usage } : {}),
    ...wire.completionFields?.(turn),
  };
}

export function renderChunks(turn: Turn, wire: WireStyle, includeUsage: boolean): StreamChunk[] {
  const style = wire.stream;
  const usage = wire.usage(turn);
  const base = {
    id: turn.id,
    object: 'chat.completion.chunk',
    created: turn.created,
    model: turn.model,
    ...wire.rootFields?.(turn),
  };
  const chunks: StreamChunk[] = (style.comments ?? []).map((comment) => ({
    text: `: ${comment}\n\n`,
    chars: 0,
  }));
  const send = (delta: Record<string, unknown>, finishReason: string | null = null, chars = 0): void => {
    const choice = { index: 0, delta, ...wire.choiceFields?.(finishReason), finish_reason: finishReason };
    const chunk = {
      ...base,
      choices: [choice],
      ...(includeUsage && style.usageNullOnChunks ? { usage: null } : {}),
    };
    chunks.push({ text: sseData(chunk), chars });
  };
  send(style.firstDelta(turn));
  if (style.reasoningDelta && turn.reasoning) {
    for (const piece of splitWords(turn.reasoning)) send(style.reasoningDelta(piece), null, piece.length);
  }
  for (const piece of splitWords(turn.content ?? '')) send(style.contentDelta(piece), null, piece.length);
  for (const [index, call] of turn.toolCalls.entries()) {
    for (const delta of style.toolCallDeltas(call, index)) send(delta, null, deltaChars(delta));
  }
  send({}, turn.finishReason);
  if (includeUsage && usage) {
    const fields = style.usageChunkFields?.(turn) ?? {};
    chunks.push({ text: sseData({ ...base, choices: [], usage, ...fields }), chars: 0 });
  }
  chunks.push({ text: 'data: [DONE]\n\n', chars: 0 });
  return chunks;
}

/** OpenAI's way: the id, type and name first, then the arguments in pieces. */
export function splitToolCallDeltas(call: TurnToolCall, index: number): Record<string, unknown>[] {
  const head = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
  const pieces = splitEvery(call.arguments, 8).map((piece) => ({
    tool_calls: [{ index, function: { arguments: piece } }],
  }));
  return [{ tool_calls: [head] }, ...pieces];
}

export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** Roughly four characters per token, the same rule as the generic scripted model. */
export function estimatePromptTokens(body: Pick<ChatCompletionRequestBody, 'messages' | 'tools'>): number {
  const chars = JSON.stringify(body.messages ?? []).length + JSON.stringify(body.tools ?? []).length;
  return Math.ceil(chars / 4);
}

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function outputChars(turn: Turn): number {
  return (
    (turn.content?.length ?? 0) +
    (turn.reasoning?.length ?? 0) +
    turn.toolCalls.reduce((sum, call) => sum + call.arguments.length, 0)
  );
}

export function randomAlphanumeric(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

export function randomHex(length: number): string {
  return randomUUID().replaceAll('-', '').padEnd(length, '0').slice(0, length);
}

function deltaChars(delta: Record<string, unknown>): number {
  const calls = delta.tool_calls as Array<{ function?: { arguments?: unknown } }> | undefined;
  const args = calls?.[0]?.function?.arguments;
  if (typeof args === 'string') return args.length;
  return args === undefined ? 0 : JSON.stringify(args).length;
}

function splitWords(text: string): string[] {
  return text.match(/\s*\S+\s*|\s+/g) ?? [];
}

function splitEvery(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}
