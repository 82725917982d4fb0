import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible Chat Completions server for tests. Replies are scripted
 * (FIFO queue first, then a fallback responder, then a plain default reply) so a
 * test fails on content rather than hanging.
 */

export interface ScriptedToolCall {
  name: string;
  /** An object is JSON-encoded; a string is sent as is (so malformed JSON can be scripted). */
  arguments: Record<string, unknown> | string;
  id?: string;
}

export interface ScriptedUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

interface ReplyTiming {
  /** Wait this long before answering (before the first byte when streaming). */
  delayMs?: number;
}

interface ReplyPace {
  /**
   * After `delayMs`, stream the content and tool-call arguments at about this many tokens per
   * second (4 characters ≈ 1 token); a non-streaming reply waits the same total time. Unset: at once.
   */
  tokensPerSecond?: number;
}

interface ReplyCommon extends ReplyTiming, ReplyPace {
  usage?: ScriptedUsage;
  /** Override finish_reason, e.g. 'length'. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
}

export interface ContentReply extends ReplyCommon {
  content: string;
}

export interface ToolCallReply extends ReplyCommon {
  toolCalls: ScriptedToolCall[];
  content?: string;
}

export interface ErrorReply extends ReplyTiming {
  status: number;
  /** Seconds, sent as the `retry-after` header. */
  retryAfter?: number;
  message?: string;
}

export interface HangReply {
  /** Never answer; the request stays open until `stop()` or the client gives up. */
  hang: true;
}

export type ScriptedReply = ContentReply | ToolCallReply | ErrorReply | HangReply;

export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
}

export interface ChatCompletionRequestBody {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: unknown[];
  [key: string]: unknown;
}

export interface RecordedRequest {
  body: ChatCompletionRequestBody;
  headers: IncomingHttpHeaders;
}

export type Responder = (request: RecordedRequest, index: number) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedModelOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  port?: number;
  /** Model ids listed by `GET /v1/models`. */
  models?: string[];
}

export const DEFAULT_REPLY_TEXT = '(no scripted reply)';

export class ScriptedModel {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: ScriptedReply[] = [];
  private responder: Responder | undefined;
  private server: Server | undefined;
  private port = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ScriptedModelOptions = {}) {}

  get baseUrl(): string {
    if (!this.server) throw new Error('ScriptedModel is not started; call start() first');
    return `http://127.0.0.1:${this.port}/v1`;
  }

  get apiKey(): string {
    return this.options.apiKey ?? 'test-key';
  }

  /** Scripted replies not yet consumed. */
  get pendingReplies(): number {
    return this.queue.length;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        sendError(response, 500, `stand-in failure: ${String(error)}`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Hanging and keep-alive connections would otherwise hold close() open.
    server.closeAllConnections();
    await closed;
  }

  enqueue(...replies: ScriptedReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  respondWith(responder: Responder | undefined): this {
    this.responder = responder;
    return this;
  }

  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
    this.responder = undefined;
  }

  async waitForRequests(count: number, timeoutMs = 5_000): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `expected ${count} model requests within ${timeoutMs} ms, got ${this.requests.length}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.requests.slice();
  }

  lastRequest(): RecordedRequest {
    const last = this.requests.at(-1);
    if (!last) throw new Error('the scripted model has received no requests');
    return last;
  }

  toolResultsIn(request: RecordedRequest = this.lastRequest()): ChatMessage[] {
    return toolResultsIn(request);
  }

  allMessagesText(request: RecordedRequest = this.lastRequest()): string {
    return allMessagesText(request);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (!this.isAuthorized(request)) {
      sendError(response, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
      return;
    }
    if (request.method === 'GET' && path === '/v1/models') {
      sendJson(response, 200, { object: 'list', data: this.listModels() });
      return;
    }
    if (request.method !== 'POST' || path !== '/v1/chat/completions') {
      sendError(response, 404, `Unknown request URL: ${request.method} ${path}`, 'invalid_request_error');
      return;
    }
    const body = parseBody(await readBody(request));
    if (!body) {
      sendError(response, 400, 'Request body must be JSON with model and messages.', 'invalid_request_error');
      return;
    }
    const recorded: RecordedRequest = { body, headers: request.headers };
    const index = this.requests.push(recorded) - 1;
    const reply = await this.nextReply(recorded, index);
    if ('hang' in reply) return;
    if (reply.delayMs) await this.delay(reply.delayMs);
    if (response.destroyed || !this.server) return;
    if ('status' in reply) {
      sendScriptedError(response, reply);
      return;
    }
    const completion = buildCompletion(body, reply);
    const pace = reply.tokensPerSecond !== undefined && reply.tokensPerSecond > 0 ? reply.tokensPerSecond : 0;
    if (body.stream) {
      const chunks = streamChunks(completion, body.stream_options?.include_usage === true);
      if (pace) await this.writePaced(response, chunks, pace);
      else writeStream(response, chunks);
      return;
    }
    if (pace) await this.delay(paceMs(completionChars(completion), pace));
    if (response.destroyed || !this.server) return;
    sendJson(response, 200, completion);
  }

  /** The stream's chunks, each written once the text before it is due at `tokensPerSecond`. */
  private async writePaced(
    response: ServerResponse,
    chunks: StreamChunk[],
    tokensPerSecond: number,
  ): Promise<void> {
    response.writeHead(200, streamHeaders);
    const started = performance.now();
    let chars = 0;
    for (const chunk of chunks) {
      chars += chunk.chars;
      const wait = paceMs(chars, tokensPerSecond) - (performance.now() - started);
      if (chunk.chars > 0 && wait >= 1) await this.delay(wait);
      if (response.destroyed || !this.server) return;
      response.write(chunk.text);
    }
    response.end();
  }

  private async nextReply(request: RecordedRequest, index: number): Promise<ScriptedReply> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.responder) return this.responder(request, index);
    return { content: DEFAULT_REPLY_TEXT };
  }

  private isAuthorized(request: IncomingMessage): boolean {
    if (this.options.apiKey === undefined) return true;
    return request.headers.authorization === `Bearer ${this.options.apiKey}`;
  }

  private listModels(): object[] {
    const ids = this.options.models ?? ['scripted-model'];
    return ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'shipmate-tests' }));
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/** A responder that answers every request at once; for benchmarks. */
export function instantResponder(content = 'ok'): Responder {
  return () => ({ content });
}

/** A started model that answers `content` to everything; for benchmarks. */
export async function instantModel(
  options: ScriptedModelOptions = {},
  content = 'ok',
): Promise<ScriptedModel> {
  const model = new ScriptedModel(options);
  model.respondWith(instantResponder(content));
  return model.start();
}

export function toolResultsIn(request: RecordedRequest): ChatMessage[] {
  return request.body.messages.filter((message) => message.role === 'tool');
}

/** Every message's text (and tool-call arguments), one per line, for `toContain` checks. */
export function allMessagesText(request: RecordedRequest): string {
  return request.body.messages.flatMap(messageTexts).join('\n');
}

function messageTexts(message: ChatMessage): string[] {
  const texts: string[] = [];
  if (typeof message.content === 'string') texts.push(message.content);
  if (Array.isArray(message.content)) {
    for (const part of message.content) if (typeof part.text === 'string') texts.push(part.text);
  }
  for (const call of message.tool_calls ?? []) texts.push(call.function.arguments);
  return texts;
}

interface Completion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: { role: 'assistant'; content: string | null; tool_calls?: WireToolCall[]; refusal: null };
    finish_reason: string;
    logprobs: null;
  }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

function buildCompletion(body: ChatCompletionRequestBody, reply: ContentReply | ToolCallReply): Completion {
  const toolCalls = 'toolCalls' in reply ? reply.toolCalls.map(toWireToolCall) : undefined;
  const content = reply.content ?? null;
  const usage = reply.usage ?? estimateUsage(body, content, toolCalls);
  const message: Completion['choices'][0]['message'] = { role: 'assistant', content, refusal: null };
  if (toolCalls) message.tool_calls = toolCalls;
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === 'string' ? body.model : 'scripted-model',
    choices: [
      {
        index: 0,
        message,
        finish_reason: reply.finishReason ?? (toolCalls ? 'tool_calls' : 'stop'),
        logprobs: null,
      },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

function toWireToolCall(call: ScriptedToolCall): WireToolCall {
  const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
  return {
    id: call.id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'function',
    function: { name: call.name, arguments: args },
  };
}

/** Roughly four characters per token, like OpenAI's rule of thumb. */
function estimateUsage(
  body: ChatCompletionRequestBody,
  content: string | null,
  toolCalls: WireToolCall[] | undefined,
): ScriptedUsage {
  const promptChars = JSON.stringify(body.messages ?? []).length + JSON.stringify(body.tools ?? []).length;
  const completionChars =
    (content?.length ?? 0) + (toolCalls ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0);
  return {
    prompt_tokens: Math.ceil(promptChars / 4),
    completion_tokens: Math.max(1, Math.ceil(completionChars / 4)),
  };
}

interface StreamChunk {
  /** The wire text (`data: …\n\n`). */
  text: string;
  /** Characters of content or arguments it carries, for pacing. */
  chars: number;
}

const streamHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

/** Milliseconds `chars` characters take at `tokensPerSecond` (4 characters ≈ 1 token). */
function paceMs(chars: number, tokensPerSecond: number): number {
  return (chars / 4 / tokensPerSecond) * 1000;
}

function completionChars(completion: Completion): number {
  const message = completion.choices[0]!.message;
  return (
    (message.content?.length ?? 0) +
    (message.tool_calls ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0)
  );
}

function writeStream(response: ServerResponse, chunks: StreamChunk[]): void {
  response.writeHead(200, streamHeaders);
  for (const chunk of chunks) response.write(chunk.text);
  response.end();
}

function streamChunks(completion: Completion, includeUsage: boolean): StreamChunk[] {
  const chunks: StreamChunk[] = [];
  const choice = completion.choices[0]!;
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  };
  const send = (delta: object, finishReason: string | null = null, chars = 0): void => {
    const chunk = { ...base, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] };
    chunks.push({
      text: `data: ${JSON.stringify(includeUsage ? { ...chunk, usage: null } : chunk)}\n\n`,
      chars,
    });
  };
  send({ role: 'assistant', content: '', refusal: null });
  for (const piece of splitWords(choice.message.content ?? '')) send({ content: piece }, null, piece.length);
  for (const [index, call] of (choice.message.tool_calls ?? []).entries()) {
    send({
      tool_calls: [
        { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
      ],
    });
    for (const piece of splitEvery(call.function.arguments, 8)) {
      send({ tool_calls: [{ index, function: { arguments: piece } }] }, null, piece.length);
    }
  }
  send({}, choice.finish_reason);
  if (includeUsage)
    chunks.push({
      text: `data: ${JSON.stringify({ ...base, choices: [], usage: completion.usage })}\n\n`,
      chars: 0,
    });
  chunks.push({ text: 'data: [DONE]\n\n', chars: 0 });
  return chunks;
}

function splitWords(text: string): string[] {
  return text.match(/\s*\S+\s*|\s+/g) ?? [];
}

function splitEvery(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

function sendScriptedError(response: ServerResponse, reply: ErrorReply): void {
  const headers: Record<string, string> = {};
  if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter);
  const [type, code, message] = describeStatus(reply.status);
  sendError(response, reply.status, reply.message ?? message, type, code, headers);
}

function describeStatus(status: number): [type: string, code: string | null, message: string] {
  if (status === 429)
    return ['requests', 'rate_limit_exceeded', 'Rate limit reached. Please try again later.'];
  if (status === 503) return ['server_error', 'service_unavailable', 'The server is overloaded.'];
  if (status >= 500) return ['server_error', null, 'The server had an error while processing your request.'];
  return ['invalid_request_error', null, `Request failed with status ${status}.`];
}

function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  type = 'server_error',
  code: string | null = null,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, status, { error: { message, type, param: null, code } }, headers);
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): ChatCompletionRequestBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const body = value as Partial<ChatCompletionRequestBody>;
    if (!Array.isArray(body.messages)) return undefined;
    return body as ChatCompletionRequestBody;
  } catch {
    // Malformed JSON is the client's problem; the caller answers 400.
    return undefined;
  }
}
