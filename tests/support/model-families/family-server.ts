import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  allMessagesText,
  type ChatCompletionRequestBody,
  type ChatMessage,
  DEFAULT_REPLY_TEXT,
  type ErrorReply,
  type RecordedRequest,
  toolResultsIn,
} from '../scripted-model.js';
import type {
  FamilyContentReply,
  FamilyProfile,
  FamilyRecordedRequest,
  FamilyReply,
  FamilyResponder,
  FamilyServerOptions,
  FamilyToolCallReply,
  HttpAnswer,
} from './family-profile.js';
import {
  estimatePromptTokens,
  estimateTokens,
  outputChars,
  renderChunks,
  renderCompletion,
  type StreamChunk,
  type Turn,
} from './wire-format.js';

/**
 * The HTTP server every model-family stand-in shares. It offers the generic ScriptedModel's
 * scripting API (enqueue, respondWith, requests, waitForRequests, lastRequest, …) with the same
 * reply types; a FamilyProfile (family-profile.ts) adds what one real server does on top: its
 * checks (in its order), its extra routes, its error envelope and its wire shapes.
 */

export type * from './family-profile.js';

export class FamilyServer {
  readonly requests: FamilyRecordedRequest[] = [];
  private readonly queue: FamilyReply[] = [];
  private responder: FamilyResponder | undefined;
  private server: Server | undefined;
  private port = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly profile: FamilyProfile,
    private readonly options: FamilyServerOptions = {},
  ) {}

  get name(): string {
    return this.profile.name;
  }

  /** The OpenAI-compatible base URL a client is configured with. */
  get baseUrl(): string {
    return `${this.origin}${this.profile.basePath}`;
  }

  /** Scheme, host and port, for the family's own routes (`/props`, `/api/show`). */
  get origin(): string {
    if (!this.server) throw new Error(`${this.profile.name} stand-in is not started; call start() first`);
    return `http://127.0.0.1:${this.port}`;
  }

  get apiKey(): string {
    return this.options.apiKey ?? 'test-key';
  }

  get pendingReplies(): number {
    return this.queue.length;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (response.headersSent) response.destroy();
        else send(response, { status: 500, body: { error: `stand-in failure: ${String(error)}` } });
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
    server.closeAllConnections();
    await closed;
  }

  enqueue(...replies: FamilyReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  respondWith(responder: FamilyResponder | undefined): this {
    this.responder = responder;
    return this;
  }

  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
    this.responder = undefined;
  }

  async waitForRequests(count: number, timeoutMs = 5_000): Promise<FamilyRecordedRequest[]> {
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

  lastRequest(): FamilyRecordedRequest {
    const last = this.requests.at(-1);
    if (!last) throw new Error(`the ${this.profile.name} stand-in has received no requests`);
    return last;
  }

  toolResultsIn(request: RecordedRequest = this.lastRequest()): ChatMessage[] {
    return toolResultsIn(request);
  }

  allMessagesText(request: RecordedRequest = this.lastRequest()): string {
    return allMessagesText(request);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const text = method === 'POST' ? await readBody(request) : '';
    if (!this.isAuthorized(request)) {
      send(response, this.profile.errorAnswer(401, 'Incorrect API key provided.'));
      return;
    }
    const json = text ? parseJson(text) : undefined;
    const routed = this.profile.route?.(method, path, json);
    if (routed) return send(response, routed);
    if (method === 'GET' && path === `${this.profile.basePath}/models`) {
      return send(response, { status: 200, body: this.profile.listModels() });
    }
    if (method !== 'POST' || path !== `${this.profile.basePath}/chat/completions`) {
      const missing = this.profile.notFound?.(method, path);
      return send(
        response,
        missing ?? this.profile.errorAnswer(404, `Unknown request URL: ${method} ${path}`),
      );
    }
    if (!isChatBody(json)) {
      return send(
        response,
        this.profile.errorAnswer(400, 'Request body must be JSON with model and messages.'),
      );
    }
    await this.complete(request, response, json);
  }

  private async complete(
    request: IncomingMessage,
    response: ServerResponse,
    raw: ChatCompletionRequestBody,
  ): Promise<void> {
    const admission = this.profile.admit(raw);
    const seen = 'seen' in admission ? admission.seen : raw;
    const recorded: FamilyRecordedRequest = { body: seen, raw, headers: request.headers };
    if ('reject' in admission) recorded.rejected = admission.reject;
    const index = this.requests.push(recorded) - 1;
    if ('reject' in admission) return send(response, admission.reject);

    const reply = await this.nextReply(recorded, index);
    if ('hang' in reply) return;
    if ('delayMs' in reply && reply.delayMs) await this.delay(reply.delayMs);
    if (response.destroyed || !this.server) return;
    if ('status' in reply) return send(response, this.scriptedError(reply));

    const turn = this.buildTurn(
      seen,
      'gatewayError' in reply ? { content: reply.partialContent ?? '' } : reply,
    );
    const stream = seen.stream === true;
    if ('gatewayError' in reply) {
      const failure = this.profile.gatewayError?.(reply, turn, stream);
      if (!failure) throw new Error(`the ${this.profile.name} stand-in cannot script a gateway error`);
      return Array.isArray(failure) ? this.writeStream(response, failure, 0) : send(response, failure);
    }
    const pace = reply.tokensPerSecond && reply.tokensPerSecond > 0 ? reply.tokensPerSecond : 0;
    if (stream) {
      const chunks = renderChunks(turn, this.profile.wire, seen.stream_options?.include_usage === true);
      return this.writeStream(response, chunks, pace);
    }
    if (pace) await this.delay(paceMs(outputChars(turn), pace));
    if (response.destroyed || !this.server) return;
    send(response, { status: 200, body: renderCompletion(turn, this.profile.wire) });
  }

  private buildTurn(body: ChatCompletionRequestBody, reply: FamilyContentReply | FamilyToolCallReply): Turn {
    const wire = this.profile.wire;
    const toolCalls = ('toolCalls' in reply ? reply.toolCalls : []).map((call, index) => ({
      id: call.id ?? wire.toolCallId(index),
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
      ...(typeof call.arguments === 'string' ? {} : { argumentsObject: call.arguments }),
    }));
    const drafted: Turn = {
      id: wire.completionId(),
      created: Math.floor(Date.now() / 1000),
      model: typeof body.model === 'string' ? body.model : 'unknown',
      content: reply.content ?? null,
      reasoning: reply.reasoning,
      toolCalls,
      finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage: { promptTokens: 0, completionTokens: 0, reasoningTokens: 0 },
    };
    const turn = this.profile.shapeTurn?.(drafted, body) ?? drafted;
    const reasoningTokens = turn.reasoning ? estimateTokens(turn.reasoning) : 0;
    turn.usage = {
      promptTokens: reply.usage?.prompt_tokens ?? estimatePromptTokens(body),
      completionTokens: reply.usage?.completion_tokens ?? Math.max(1, Math.ceil(outputChars(turn) / 4)),
      reasoningTokens,
    };
    return turn;
  }

  private scriptedError(reply: ErrorReply): HttpAnswer {
    const answer = this.profile.errorAnswer(reply.status, reply.message ?? defaultMessage(reply.status));
    if (reply.retryAfter === undefined) return answer;
    return { ...answer, headers: { ...answer.headers, 'retry-after': String(reply.retryAfter) } };
  }

  private async writeStream(response: ServerResponse, chunks: StreamChunk[], pace: number): Promise<void> {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const started = performance.now();
    let chars = 0;
    for (const chunk of chunks) {
      chars += chunk.chars;
      const wait = pace ? paceMs(chars, pace) - (performance.now() - started) : 0;
      if (chunk.chars > 0 && wait >= 1) await this.delay(wait);
      if (response.destroyed || !this.server) return;
      response.write(chunk.text);
    }
    response.end();
  }

  private async nextReply(request: FamilyRecordedRequest, index: number): Promise<FamilyReply> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.responder) return this.responder(request, index);
    return { content: DEFAULT_REPLY_TEXT };
  }

  private isAuthorized(request: IncomingMessage): boolean {
    if (this.options.apiKey === undefined) return true;
    return request.headers.authorization === `Bearer ${this.options.apiKey}`;
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

/** Milliseconds `chars` characters take at `tokensPerSecond` (4 characters ≈ 1 token). */
function paceMs(chars: number, tokensPerSecond: number): number {
  return (chars / 4 / tokensPerSecond) * 1000;
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached. Please try again later.';
  if (status >= 500) return 'The server had an error while processing your request.';
  return `Request failed with status ${status}.`;
}

function send(response: ServerResponse, answer: HttpAnswer): void {
  const isText = typeof answer.body === 'string';
  const text = isText ? (answer.body as string) : JSON.stringify(answer.body);
  const type = isText ? 'text/plain; charset=utf-8' : 'application/json';
  response.writeHead(answer.status, { 'content-type': type, ...answer.headers });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Malformed JSON is the client's problem; the caller answers 400 in the family's shape.
    return undefined;
  }
}

function isChatBody(value: unknown): value is ChatCompletionRequestBody {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { messages?: unknown }).messages)
  );
}
