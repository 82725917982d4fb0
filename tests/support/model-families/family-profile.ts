import type {
  ChatCompletionRequestBody,
  ContentReply,
  ErrorReply,
  HangReply,
  RecordedRequest,
  ToolCallReply,
} from '../scripted-model.js';
import type { StreamChunk, Turn, WireStyle } from './wire-format.js';

/**
 * What a model-family stand-in is made of: the reply types a test scripts (the generic scripted
 * model's, plus a family's extras), what it records, and the profile a family gives the shared
 * server (family-server.ts): its checks, routes, error envelope and wire shapes.
 */

/** Chain of thought the model "had" this turn: DeepSeek's reasoning_content, a `<think>` block, reasoning tokens. */
export interface ReasoningExtras {
  reasoning?: string;
}
export interface FamilyContentReply extends ContentReply, ReasoningExtras {}
export interface FamilyToolCallReply extends ToolCallReply, ReasoningExtras {}

/** A gateway's failure after the upstream model started: HTTP 200 with an error body or SSE event. */
export interface GatewayErrorReply {
  gatewayError: { code: number; message: string; metadata?: Record<string, unknown> };
  /** Streamed before the error event (the model had started answering). */
  partialContent?: string;
}

export type FamilyReply =
  | FamilyContentReply
  | FamilyToolCallReply
  | ErrorReply
  | HangReply
  | GatewayErrorReply;

export interface FamilyRecordedRequest extends RecordedRequest {
  /** The body as the client sent it. `body` is what the model saw (Ollama drops old messages). */
  raw: ChatCompletionRequestBody;
  /** Set when the server refused the request before a model ran; no scripted reply was used. */
  rejected?: HttpAnswer;
}

export type FamilyResponder = (
  request: FamilyRecordedRequest,
  index: number,
) => FamilyReply | Promise<FamilyReply>;

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Admission = { seen: ChatCompletionRequestBody } | { reject: HttpAnswer };

export interface FamilyProfile {
  readonly name: string;
  /** Where the OpenAI-compatible routes live: `/v1`, or `/api/v1` for OpenRouter. */
  readonly basePath: string;
  readonly wire: WireStyle;
  /** The server's own refusals, in its order; otherwise the body the model sees. */
  admit(body: ChatCompletionRequestBody): Admission;
  /** What the model's output becomes on this server (text-tools moves tool calls into the text). */
  shapeTurn?(turn: Turn, body: ChatCompletionRequestBody): Turn;
  errorAnswer(status: number, message: string): HttpAnswer;
  listModels(): unknown;
  /** Routes beyond chat completions and the model list (GET /props, POST /api/show, …). */
  route?(method: string, path: string, body: unknown): HttpAnswer | undefined;
  notFound?(method: string, path: string): HttpAnswer;
  /** Only a gateway answers GatewayErrorReply. */
  gatewayError?(reply: GatewayErrorReply, turn: Turn, stream: boolean): HttpAnswer | StreamChunk[];
}

export interface FamilyServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  port?: number;
}
