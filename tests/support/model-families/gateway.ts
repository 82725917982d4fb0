import {
  FamilyServer,
  type FamilyServerOptions,
  type GatewayErrorReply,
  type HttpAnswer,
} from './family-server.js';
import {
  estimatePromptTokens,
  randomAlphanumeric,
  renderChunks,
  type StreamChunk,
  splitToolCallDeltas,
  sseData,
  type Turn,
  type TurnToolCall,
  type WireStyle,
} from './wire-format.js';

/**
 * An OpenRouter-like gateway in front of many providers (base URL `/api/v1`).
 *
 * - Errors are `{"error":{"code": <number>, "message", "metadata"?}}`; the HTTP status equals
 *   `error.code` only when the request itself is invalid or out of credits. "Otherwise, the returned
 *   HTTP response status will be 200 and any error occurred while the LLM is producing the output will
 *   be emitted in the response body or as an SSE data event." (openrouter.ai/docs/api/reference/
 *   errors-and-debugging). Script `{ gatewayError: { code, message, metadata } }` for that: HTTP 200
 *   with the error body, or, streaming, an SSE `data:` event carrying `error` and a choice with
 *   `finish_reason: "error"` ("errors that occur mid-generation still arrive as regular data: events
 *   with an error field", docs/api/reference/streaming). e.g. code 502, "Network connection lost.",
 *   metadata `{ error_type: 'provider_unavailable' }` (OpenRouterTeam/ai-sdk-provider#440).
 * - Streams open with the SSE comment `: OPENROUTER PROCESSING` (docs/api/reference/streaming).
 * - `GET /api/v1/models` answers `{ data: [{ id, name, context_length, architecture, pricing,
 *   top_provider: { context_length, max_completion_tokens, is_moderated }, supported_parameters, … }] }`
 *   (openrouter.ai/docs/models, "API Response Schema").
 * - Over an endpoint's context: 400 "This endpoint's maximum context length is N tokens. However, you
 *   requested about M tokens (P of text input, C in the output). Please reduce the length of either one,
 *   or use the "middle-out" transform …" — wording as quoted from real answers in a client's test table;
 *   the docs do not print it.
 * - Quirks some gateways show, as options: no `usage` at all (`omitUsage`), and tool-call `arguments`
 *   as a JSON object instead of a string (`objectArguments`).
 * - Ids `gen-<unix seconds>-<20 letters/digits>`; `provider` names the upstream; choices carry
 *   `native_finish_reason`.
 */

export interface GatewayOptions extends FamilyServerOptions {
  /** The endpoint's context length, also listed by /models. Default 131,072. */
  contextLength?: number;
  omitUsage?: boolean;
  objectArguments?: boolean;
  /** Model ids listed. Default ['qwen/qwen-2.5-coder-32b-instruct', 'openai/gpt-4o-mini']. */
  models?: string[];
}

export function gatewayServer(options: GatewayOptions = {}): FamilyServer {
  const contextLength = options.contextLength ?? 131_072;
  const models = options.models ?? ['qwen/qwen-2.5-coder-32b-instruct', 'openai/gpt-4o-mini'];
  const wire = gatewayWire(options.omitUsage ?? false, options.objectArguments ?? false);
  return new FamilyServer(
    {
      name: 'gateway',
      basePath: '/api/v1',
      wire,
      admit: (body) => {
        const input = estimatePromptTokens(body);
        const output = Number(body.max_tokens ?? body.max_completion_tokens ?? 0);
        if (input + output <= contextLength) return { seen: body };
        const message = `This endpoint's maximum context length is ${contextLength} tokens. However, you requested about ${input + output} tokens (${input} of text input, ${output} in the output). Please reduce the length of either one, or use the "middle-out" transform to compress your prompt automatically.`;
        return { reject: gatewayError(400, message) };
      },
      errorAnswer: (status, message) => gatewayError(status, message),
      listModels: () => ({ data: models.map((id) => modelEntry(id, contextLength)) }),
      gatewayError: (reply, turn, stream) => (stream ? failedStream(reply, turn, wire) : failedBody(reply)),
    },
    options,
  );
}

function gatewayError(status: number, message: string, metadata?: Record<string, unknown>): HttpAnswer {
  return { status, body: { error: { code: status, message, ...(metadata ? { metadata } : {}) } } };
}

/** The model started, so the status is 200 and the failure is in the body. */
function failedBody(reply: GatewayErrorReply): HttpAnswer {
  return { status: 200, body: { error: reply.gatewayError, user_id: 'user_scripted' } };
}

/** What was produced so far, then an error event instead of a finish; no `[DONE]` follows. */
function failedStream(reply: GatewayErrorReply, turn: Turn, wire: WireStyle): StreamChunk[] {
  const produced = renderChunks({ ...turn, toolCalls: [] }, wire, false).slice(0, -2);
  const event = {
    id: turn.id,
    object: 'chat.completion.chunk',
    created: turn.created,
    model: turn.model,
    provider: 'OpenAI',
    error: reply.gatewayError,
    choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error', native_finish_reason: 'error' }],
  };
  return [...produced, { text: sseData(event), chars: 0 }];
}

function modelEntry(id: string, contextLength: number) {
  return {
    id,
    canonical_slug: id,
    name: id,
    created: 1_735_689_600,
    description: `${id}, served by the scripted gateway.`,
    context_length: contextLength,
    architecture: {
      modality: 'text->text',
      input_modalities: ['text'],
      output_modalities: ['text'],
      tokenizer: 'Other',
      instruct_type: null,
    },
    pricing: { prompt: '0.0000001', completion: '0.0000002', request: '0', image: '0' },
    top_provider: { context_length: contextLength, max_completion_tokens: 16_384, is_moderated: false },
    per_request_limits: null,
    supported_parameters: ['max_tokens', 'temperature', 'tools', 'tool_choice', 'stop'],
  };
}

function gatewayWire(omitUsage: boolean, objectArguments: boolean): WireStyle {
  const args = (call: TurnToolCall): unknown => (objectArguments ? asObject(call) : call.arguments);
  return {
    completionId: () => `gen-${Math.floor(Date.now() / 1000)}-${randomAlphanumeric(20)}`,
    toolCallId: () => `call_${randomAlphanumeric(24)}`,
    rootFields: () => ({ provider: 'OpenAI' }),
    message: (turn) => ({
      role: 'assistant',
      content: turn.content,
      refusal: null,
      reasoning: null,
      ...(turn.toolCalls.length > 0
        ? {
            tool_calls: turn.toolCalls.map((call, index) => ({
              index,
              id: call.id,
              type: 'function',
              function: { name: call.name, arguments: args(call) },
            })),
          }
        : {}),
    }),
    choiceFields: (finishReason) => ({ logprobs: null, native_finish_reason: finishReason }),
    usage: (turn) =>
      omitUsage
        ? undefined
        : {
            prompt_tokens: turn.usage.promptTokens,
            completion_tokens: turn.usage.completionTokens,
            total_tokens: turn.usage.promptTokens + turn.usage.completionTokens,
            cost: 0,
          },
    stream: {
      comments: ['OPENROUTER PROCESSING'],
      firstDelta: () => ({ role: 'assistant', content: '' }),
      contentDelta: (text) => ({ role: 'assistant', content: text }),
      toolCallDeltas: (call, index) =>
        objectArguments
          ? [
              {
                tool_calls: [
                  {
                    index,
                    id: call.id,
                    type: 'function',
                    function: { name: call.name, arguments: asObject(call) },
                  },
                ],
              },
            ]
          : splitToolCallDeltas(call, index),
    },
  };
}

/** The scripted object; a scripted string is parsed when it can be, else sent as the string it is. */
function asObject(call: TurnToolCall): unknown {
  if (call.argumentsObject) return call.argumentsObject;
  try {
    return JSON.parse(call.arguments) as unknown;
  } catch {
    // Malformed on purpose in the script: the gateway forwards what it got.
    return call.arguments;
  }
}
