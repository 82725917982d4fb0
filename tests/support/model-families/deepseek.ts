import { randomUUID } from 'node:crypto';
import type { ChatCompletionRequestBody } from '../scripted-model.js';
import { type Admission, FamilyServer, type FamilyServerOptions, type HttpAnswer } from './family-server.js';
import { randomAlphanumeric, splitToolCallDeltas, type WireStyle } from './wire-format.js';

/**
 * DeepSeek's API in thinking mode (api-docs.deepseek.com/guides/thinking_mode).
 *
 * - Thinking is on by default (`{"thinking": {"type": "disabled"}}` turns it off); every assistant
 *   message carries `reasoning_content` beside `content`, and streams send it as `reasoning_content`
 *   deltas before the answer (thinking_mode_api_example_streaming).
 * - Reasoning from turns without tool calls "will be ignored by the API". For turns that do call tools,
 *   "the reasoning_content must be fully passed back to the API in all subsequent requests … the API
 *   will return a 400 error." The answer, as reported against deepseek-v4 (earendil-works/pi#3636,
 *   JohnnyZ93/oai-compatible-copilot#215, anomalyco/opencode#24083):
 *   `{"error":{"message":"The \`reasoning_content\` in the thinking mode must be passed back to the
 *   API.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}`.
 *   deepseek-reasoner (V3.2) worded it "Missing `reasoning_content` field in the assistant message at
 *   message index N. …" (abhigyanpatwari/GitNexus#43). The server checks that the field is there, not
 *   that it matches; a tool-call turn whose reasoning was empty still needs the field
 *   (EverMind-AI/Raven#297, deepseek-ai/deepseek-harness#739) — script `reasoning: ''` to try it.
 * - `temperature`, `presence_penalty`, `frequency_penalty` are ignored in thinking mode, not refused.
 * - usage adds `completion_tokens_details.reasoning_tokens`, `prompt_cache_hit_tokens` and
 *   `prompt_cache_miss_tokens` (their sum is prompt_tokens). Completion ids are UUIDs.
 */

export interface DeepSeekOptions extends FamilyServerOptions {
  /** Reasoning given when a script names none. Default '(scripted reasoning)'. */
  defaultReasoning?: string;
}

const missingReasoning = 'The `reasoning_content` in the thinking mode must be passed back to the API.';

export function deepSeekServer(options: DeepSeekOptions = {}): FamilyServer {
  const defaultReasoning = options.defaultReasoning ?? '(scripted reasoning)';
  return new FamilyServer(
    {
      name: 'deepseek',
      basePath: '/v1',
      wire: deepSeekWire,
      admit,
      shapeTurn: (turn, body) =>
        thinking(body)
          ? { ...turn, reasoning: turn.reasoning ?? defaultReasoning }
          : { ...turn, reasoning: undefined },
      errorAnswer: (status, message) => deepSeekError(status, message),
      listModels: () => ({
        object: 'list',
        data: ['deepseek-v4-flash', 'deepseek-v4-pro', 'deepseek-chat', 'deepseek-reasoner'].map((id) => ({
          id,
          object: 'model',
          owned_by: 'deepseek',
        })),
      }),
    },
    options,
  );
}

function admit(body: ChatCompletionRequestBody): Admission {
  if (!thinking(body)) return { seen: body };
  for (const message of body.messages) {
    if (message.role !== 'assistant' || !message.tool_calls?.length) continue;
    const reasoning = (message as { reasoning_content?: unknown }).reasoning_content;
    if (typeof reasoning !== 'string') return { reject: deepSeekError(400, missingReasoning) };
  }
  return { seen: body };
}

/** deepseek-chat is the non-thinking alias; everything else thinks unless told not to. */
function thinking(body: ChatCompletionRequestBody): boolean {
  const toggle = (body.thinking as { type?: unknown } | undefined)?.type;
  if (toggle === 'disabled') return false;
  return toggle === 'enabled' || body.model !== 'deepseek-chat';
}

function deepSeekError(status: number, message: string): HttpAnswer {
  const type =
    status === 401 ? 'authentication_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  return { status, body: { error: { message, type, param: null, code: type } } };
}

const deepSeekWire: WireStyle = {
  completionId: () => randomUUID(),
  // Not checked against a real transcript: DeepSeek's ids are opaque `call_…` strings.
  toolCallId: (index) => `call_${String(index).padStart(2, '0')}_${randomAlphanumeric(24)}`,
  rootFields: () => ({ system_fingerprint: 'fp_deepseek_scripted' }),
  message: (turn) => ({
    role: 'assistant',
    content: turn.content ?? '',
    ...(turn.reasoning !== undefined ? { reasoning_content: turn.reasoning } : {}),
    ...(turn.toolCalls.length > 0
      ? {
          tool_calls: turn.toolCalls.map((call, index) => ({
            index,
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
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: turn.usage.reasoningTokens },
    prompt_cache_hit_tokens: 0,
    prompt_cache_miss_tokens: turn.usage.promptTokens,
  }),
  stream: {
    firstDelta: () => ({ role: 'assistant', content: null, reasoning_content: '' }),
    reasoningDelta: (text) => ({ content: null, reasoning_content: text }),
    contentDelta: (text) => ({ content: text, reasoning_content: null }),
    toolCallDeltas: splitToolCallDeltas,
  },
};
