import type { ChatCompletionRequestBody } from '../scripted-model.js';
import { type Admission, FamilyServer, type FamilyServerOptions, type HttpAnswer } from './family-server.js';
import {
  estimatePromptTokens,
  randomAlphanumeric,
  splitToolCallDeltas,
  type WireStyle,
} from './wire-format.js';

/**
 * An o-series / gpt-5 reasoning model on api.openai.com (Chat Completions).
 *
 * - `max_tokens` is refused: 400 `unsupported_parameter`, param `max_tokens`, "Use
 *   'max_completion_tokens' instead." Exact body as reported in openai/openai-python#2046 and
 *   FoundationAgents/MetaGPT#1709 (o1, o3-mini).
 * - `temperature` other than 1 is refused: 400 `unsupported_value`, param `temperature`, "Only the
 *   default (1) value is supported." Exact body in leafo/lua-openai#12 (o1-mini), cline/cline#341,
 *   owndev/Open-WebUI-Functions#98 (gpt-5), QwenLM/qwen-code#921 (gpt-5-mini: "does not support 0").
 * - `max_completion_tokens` and `reasoning_effort` are accepted (the documented replacements;
 *   platform.openai.com/docs/guides/reasoning "controlling costs", as cited in CherryHQ/cherry-studio#491).
 * - usage carries `completion_tokens_details.reasoning_tokens` (counted inside completion_tokens) and
 *   `prompt_tokens_details.cached_tokens`; the reasoning text itself is never returned.
 * - Over the context window: 400 `context_length_exceeded`, param `messages`, "This model's maximum
 *   context length is N tokens. However, your messages resulted in M tokens. Please reduce the length
 *   of the messages." (crewAIInc/crewAI-examples#121, AsyncFuncAI/deepwiki-open#144).
 * - Ids look real: `chatcmpl-` + 29 characters, tool calls `call_` + 24.
 */

export interface OpenAiReasoningOptions extends FamilyServerOptions {
  /** Prompt tokens (4 characters ≈ 1 token) above which the request is refused. Default 200,000 (o3, o4-mini). */
  contextWindow?: number;
}

export function openAiReasoningServer(options: OpenAiReasoningOptions = {}): FamilyServer {
  const contextWindow = options.contextWindow ?? 200_000;
  return new FamilyServer(
    {
      name: 'openai-reasoning',
      basePath: '/v1',
      wire: openAiWire,
      admit: (body) => admit(body, contextWindow),
      errorAnswer: (status, message) => openAiError(status, message, errorType(status), null, null),
      listModels: () => ({
        object: 'list',
        data: ['o3', 'o4-mini', 'gpt-5'].map((id) => ({
          id,
          object: 'model',
          created: 0,
          owned_by: 'system',
        })),
      }),
    },
    options,
  );
}

function admit(body: ChatCompletionRequestBody, contextWindow: number): Admission {
  if (body.max_tokens != null) {
    const message =
      "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.";
    return {
      reject: openAiError(400, message, 'invalid_request_error', 'max_tokens', 'unsupported_parameter'),
    };
  }
  if (body.temperature != null && body.temperature !== 1) {
    const message = `Unsupported value: 'temperature' does not support ${String(body.temperature)} with this model. Only the default (1) value is supported.`;
    return { reject: openAiError(400, message, 'invalid_request_error', 'temperature', 'unsupported_value') };
  }
  const promptTokens = estimatePromptTokens(body);
  if (promptTokens > contextWindow) {
    const message = `This model's maximum context length is ${contextWindow} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`;
    return {
      reject: openAiError(400, message, 'invalid_request_error', 'messages', 'context_length_exceeded'),
    };
  }
  return { seen: body };
}

export function openAiError(
  status: number,
  message: string,
  type: string,
  param: string | null,
  code: string | null,
): HttpAnswer {
  return { status, body: { error: { message, type, param, code } } };
}

function errorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** OpenAI's own chunk and message shapes, shared with nothing else on purpose. */
const openAiWire: WireStyle = {
  completionId: () => `chatcmpl-${randomAlphanumeric(29)}`,
  toolCallId: () => `call_${randomAlphanumeric(24)}`,
  rootFields: () => ({ service_tier: 'default', system_fingerprint: null }),
  message: (turn) => ({
    role: 'assistant',
    content: turn.content,
    refusal: null,
    annotations: [],
    ...(turn.toolCalls.length > 0
      ? {
          tool_calls: turn.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        }
      : {}),
  }),
  choiceFields: () => ({ logprobs: null }),
  usage: (turn) => ({
    prompt_tokens: turn.usage.promptTokens,
    completion_tokens: turn.usage.completionTokens,
    total_tokens: turn.usage.promptTokens + turn.usage.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: turn.usage.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  }),
  stream: {
    firstDelta: () => ({ role: 'assistant', content: '', refusal: null }),
    contentDelta: (text) => ({ content: text }),
    toolCallDeltas: splitToolCallDeltas,
    usageNullOnChunks: true,
  },
};
