import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { AppError, CancelledError } from '../errors.js';
import { explainModelError, type ServerInfo } from './model/explain.js';
import {
  type ModelTurn,
  normalizeMessage,
  type RawMessage,
  type ToolCallRequest,
  toolCall,
} from './model/normalize.js';
import { hostOf } from './model/probe.js';
import type { ModelProfile } from './model/profile.js';
import { estimateRequestTokens, estimateTokens } from './model/tokens.js';

export interface ModelClientOptions {
  apiKey: string | undefined;
  baseUrl: string | undefined;
  profile: ModelProfile;
  maxRetries?: number;
  /** A streamed answer that sends nothing for this long is given up (default 120 s). */
  idleTimeoutMs?: number;
  /** A request that is not streamed is given up after this long (default 600 s). */
  timeoutMs?: number;
}

/** A message as shipmate keeps it: Chat Completions' own, plus the reasoning some servers need back. */
export type ChatMessage = ChatCompletionMessageParam & { reasoning_content?: string };

export interface TurnRequest {
  messages: ChatMessage[];
  tools?: ChatCompletionTool[];
  /** Defaults to the profile's `maxOutputTokens`. */
  maxOutputTokens?: number;
  /** Answer text as it arrives (streaming only). */
  onText?: (delta: string) => void;
  /**
   * Each native tool call as soon as it has streamed whole (the next one began), so it can
   * start while the model is still writing; the turn's `toolCalls` carry the same ids.
   */
  onToolCall?: (call: ToolCallRequest) => void;
}

/**
 * Chat Completions through the `openai` package, which works against OpenAI, Azure, vLLM,
 * Ollama, llama.cpp and OpenRouter alike, shaped by the model's profile (which parameters
 * the server takes) and read back into one shape (see model/normalize.ts). The SDK retries
 * 429 and 5xx with backoff (honouring Retry-After); what is left becomes a ProviderError
 * with the server's own words and the likely fix.
 */
export class ModelClient {
  private readonly client: OpenAI;
  private readonly server: ServerInfo;
  private readonly idleTimeoutMs: number;
  profile: ModelProfile;
  /** Settles when what the server says about the model (its context window) is known. */
  private learned: Promise<void> = Promise.resolve();

  constructor(options: ModelClientOptions) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.client = new OpenAI({
      apiKey: options.apiKey || 'not-needed',
      baseURL: options.baseUrl,
      maxRetries: options.maxRetries ?? 3,
      timeout: options.timeoutMs ?? 600_000,
    });
    this.profile = options.profile;
    this.server = { host: hostOf(options.baseUrl), baseUrl: options.baseUrl, model: options.profile.name };
  }

  get model(): string {
    return this.profile.name;
  }

  /**
   * Requests wait for `learning` (asking the server for its context window at start), so the
   * first job after a start is fitted to the real window, not the default.
   */
  learnFrom(learning: Promise<unknown>): void {
    this.learned = learning.then(
      () => undefined,
      () => undefined,
    );
  }

  /** One request: the model's answer, its tool calls and what it cost. */
  async turn(request: TurnRequest, signal: AbortSignal): Promise<ModelTurn> {
    await this.learned;
    const body = this.body(request);
    const toolsOffered = (request.tools ?? []).flatMap((tool) =>
      tool.type === 'function' ? [tool.function.name] : [],
    );
    try {
      const read = this.profile.streaming
        ? await this.streamed(body, signal, request)
        : await this.whole(body, signal);
      const turn = normalizeMessage(read.message, { toolsOffered });
      const usage = read.usage
        ? {
            promptTokens: read.usage.prompt_tokens ?? 0,
            completionTokens: read.usage.completion_tokens ?? 0,
            estimated: false,
          }
        : {
            // No usage from the server (some gateways, older llama.cpp): counted here, and said so.
            promptTokens: estimateRequestTokens(request.messages, request.tools),
            completionTokens: estimateTokens(
              `${turn.content}${turn.reasoning ?? ''}${turn.toolCalls.map((call) => call.argumentsJson).join('')}`,
            ),
            estimated: true,
          };
      return { ...turn, finishReason: read.finishReason, usage };
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
      if (error instanceof AppError) throw error;
      throw explainModelError(error, this.server);
    }
  }

  /** One call without tools (digest summaries, reviews); the answer's text, or '' when it has none. */
  async summarize(
    text: string,
    options: { maxTokens: number; timeoutMs: number; system?: string },
  ): Promise<{ text: string; usage: ModelTurn['usage'] }> {
    const turn = await this.turn(
      {
        messages: [
          ...(options.system ? [{ role: 'system' as const, content: options.system }] : []),
          { role: 'user', content: text },
        ],
        maxOutputTokens: options.maxTokens,
      },
      AbortSignal.timeout(options.timeoutMs),
    );
    return { text: turn.content, usage: turn.usage };
  }

  private body(request: TurnRequest): ChatCompletionCreateParams {
    const profile = this.profile;
    const limit = request.maxOutputTokens ?? profile.maxOutputTokens;
    const tools = request.tools ?? [];
    return {
      model: profile.name,
      messages: request.messages.map((message) => this.forServer(message)) as ChatCompletionMessageParam[],
      ...(tools.length > 0
        ? {
            tools,
            ...(profile.toolChoice ? { tool_choice: 'auto' as const } : {}),
            ...(profile.parallelToolCalls ? {} : { parallel_tool_calls: false }),
          }
        : {}),
      ...(profile.tokenLimitParameter === 'max_tokens' ? { max_tokens: limit } : {}),
      ...(profile.tokenLimitParameter === 'max_completion_tokens' ? { max_completion_tokens: limit } : {}),
      ...(profile.temperature !== undefined ? { temperature: profile.temperature } : {}),
      ...(profile.reasoningEffort ? { reasoning_effort: profile.reasoningEffort } : {}),
    } as ChatCompletionCreateParams;
  }

  /** Reasoning goes back only to servers that require it (DeepSeek, Kimi), and only with tool calls. */
  private forServer(message: ChatMessage): ChatCompletionMessageParam {
    if (message.role !== 'assistant') return message;
    const { reasoning_content, ...rest } = message;
    // DeepSeek refuses an assistant turn with tool calls that lacks the key, even when empty.
    return this.profile.echoReasoning && rest.tool_calls?.length
      ? ({ ...rest, reasoning_content: reasoning_content ?? '' } as ChatCompletionMessageParam)
      : rest;
  }

  private async whole(body: ChatCompletionCreateParams, signal: AbortSignal): Promise<Read> {
    const completion = (await this.client.chat.completions.create(
      { ...body, stream: false },
      { signal },
    )) as ChatCompletion & { error?: unknown };
    // OpenRouter and some gateways answer HTTP 200 with an error body.
    if (completion.error || !Array.isArray(completion.choices))
      throw { error: completion.error ?? { message: 'the answer had no choices' } };
    const choice = completion.choices[0];
    return {
      message: (choice?.message ?? {}) as RawMessage,
      finishReason: choice?.finish_reason ?? undefined,
      usage: completion.usage,
    };
  }

  private async streamed(
    body: ChatCompletionCreateParams,
    signal: AbortSignal,
    { onText, onToolCall }: Pick<TurnRequest, 'onText' | 'onToolCall'>,
  ): Promise<Read> {
    const idle = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const seconds = this.idleTimeoutMs / 1000;
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => idle.abort({ code: 'idle-timeout', message: `no token for ${seconds} s` }),
        this.idleTimeoutMs,
      );
    };
    touch();
    const both = AbortSignal.any([signal, idle.signal]);
    try {
      const stream = await this.client.chat.completions.create(
        { ...body, stream: true, stream_options: { include_usage: true } },
        // The SDK's timeout covers only the wait for headers: ours (idle) speaks first.
        { signal: both, timeout: this.idleTimeoutMs + 5_000 },
      );
      let content = '';
      let reasoning = '';
      let finishReason: string | undefined;
      // Qwen3 and DeepSeek-R1 templates may open the thinking themselves: the content then
      // starts with reasoning and only a bare </think> shows where it ends. Until that, or a
      // separate reasoning field (the server split it off), nothing is handed on as answer text.
      let gated =
        (this.profile.family === 'qwen' || this.profile.family === 'deepseek') &&
        /qwen3|qwq|r1\b|reason|think/i.test(this.profile.name);
      let handed = 0;
      const handOn = () => {
        if (!onText) return;
        if (gated) {
          const close = /<\/think(?:ing)?>/i.exec(content);
          if (!close) return;
          gated = false;
          handed = close.index;
        }
        if (content.length > handed) onText(content.slice(handed));
        handed = content.length;
      };
      let usage: Read['usage'];
      const calls: Array<{ id: string; name: string; arguments: string; object?: unknown }> = [];
      let announced = 0;
      /** Every call before `index` is whole: hand those on. */
      const announceBefore = (index: number) => {
        for (; announced < Math.min(index, calls.length); announced += 1) {
          const call = calls[announced];
          if (call?.name) onToolCall?.(toolCall(call.id, call.name, call.object ?? call.arguments));
        }
      };
      for await (const chunk of stream as AsyncIterable<ChatCompletionChunk & { error?: unknown }>) {
        touch();
        if (chunk.error) throw { error: chunk.error };
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        if (choice.finish_reason) finishReason = choice.finish_reason;
        const delta = choice.delta as ChatCompletionChunk.Choice.Delta & {
          reasoning_content?: unknown;
          reasoning?: unknown;
        };
        const thought = delta.reasoning_content ?? delta.reasoning;
        if (typeof thought === 'string' && thought) {
          reasoning += thought;
          gated = false;
        }
        if (typeof delta.content === 'string' && delta.content) {
          content += delta.content;
          handOn();
        }
        for (const part of delta.tool_calls ?? []) {
          const at = part.index ?? calls.length;
          announceBefore(at);
          // The id is fixed when the call begins, so the early hand-on and the turn agree.
          const slot = calls[at] ?? {
            id: part.id || `call_${randomBytes(12).toString('hex')}`,
            name: '',
            arguments: '',
          };
          calls[at] = slot;
          if (part.function?.name) slot.name += part.function.name;
          const args: unknown = part.function?.arguments;
          if (typeof args === 'string') slot.arguments += args;
          else if (args && typeof args === 'object') slot.object = args;
        }
      }
      return {
        message: {
          content,
          reasoning_content: reasoning || undefined,
          tool_calls: calls.filter(Boolean).map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.object ?? call.arguments },
          })),
        },
        finishReason,
        usage,
      };
    } catch (error) {
      if (idle.signal.aborted && !signal.aborted) throw explainModelError(idle.signal.reason, this.server);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

interface Read {
  message: RawMessage;
  finishReason: string | undefined;
  usage: { prompt_tokens?: number; completion_tokens?: number } | undefined | null;
}
