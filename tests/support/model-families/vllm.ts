import type { ChatCompletionRequestBody } from '../scripted-model.js';
import { type Admission, FamilyServer, type FamilyServerOptions, type HttpAnswer } from './family-server.js';
import { pythonJsonLoadsError } from './python-json.js';
import { estimatePromptTokens, randomHex, splitToolCallDeltas, type WireStyle } from './wire-format.js';

/**
 * vLLM's OpenAI-compatible server (`vllm serve`), checks in the order serving_chat.py runs them.
 *
 * - Errors are `{"error":{"message","type":"BadRequestError","param":null,"code":400}}`: ErrorInfo /
 *   ErrorResponse in vllm/entrypoints/openai/protocol.py (`code` is the HTTP status, an int). Releases
 *   before the ErrorInfo refactor answered the same fields flat, with `"object":"error"`.
 * - Unknown model: 404 NotFoundError "The model `x` does not exist." (serving_engine.py _check_model).
 * - `stream_options` without `stream: true` is refused (protocol.py validate_stream_options; vLLM wraps
 *   the pydantic text, paraphrased here to its sentence).
 * - `tools` without `tool_choice` means `"auto"` (protocol.py check_tool_usage), and "auto" without
 *   `--enable-auto-tool-choice --tool-call-parser` is a 400 with vLLM's sentence (serving_chat.py;
 *   docs/features/tool_calling.md; the exact body in gaoch6258/llm-srbench VLLM_TOOL_CALLING_FIX.md).
 *   "required" and a named tool work without the parser (guided decoding).
 * - Every echoed assistant tool call's `function.arguments` goes through `json.loads`
 *   (chat_utils.py _postprocess_messages; an empty string becomes {}); malformed JSON is a 400 whose
 *   message is Python's error text (vllm-project/vllm#43995, #48922).
 * - Over `--max-model-len`: "This model's maximum context length is N tokens. However, your request has
 *   M input tokens. Please reduce the length of the input messages." (renderer _create_tokens_prompt);
 *   with `max_tokens` past the room left: "'max_tokens' or 'max_completion_tokens' is too large: X. …"
 *   (serving_engine.py _validate_input, quoted in issue reports).
 * - `GET /v1/models` lists the served model with `max_model_len` (protocol.py ModelCard).
 * - Wire: ids `chatcmpl-<32 hex>`, tool calls `chatcmpl-tool-<32 hex>`, `tool_calls: []` on plain
 *   answers, `stop_reason` and `reasoning_content: null` on every choice.
 */

export interface VllmOptions extends FamilyServerOptions {
  /** Started with `--enable-auto-tool-choice --tool-call-parser hermes`. Default false. */
  toolParser?: boolean;
  /** `--max-model-len`. Default 32,768. */
  maxModelLen?: number;
  /** `--served-model-name`. Default 'Qwen/Qwen2.5-Coder-32B-Instruct'. */
  model?: string;
}

export function vllmServer(options: VllmOptions = {}): FamilyServer {
  const settings = {
    toolParser: options.toolParser ?? false,
    maxModelLen: options.maxModelLen ?? 32_768,
    model: options.model ?? 'Qwen/Qwen2.5-Coder-32B-Instruct',
  };
  return new FamilyServer(
    {
      name: 'vllm',
      basePath: '/v1',
      wire: vllmWire,
      admit: (body) => admit(body, settings),
      errorAnswer: (status, message) => vllmError(status, message),
      listModels: () => ({
        object: 'list',
        data: [
          {
            id: settings.model,
            object: 'model',
            created: Math.floor(Date.now() / 1000),
            owned_by: 'vllm',
            root: settings.model,
            parent: null,
            max_model_len: settings.maxModelLen,
            permission: [
              { id: `modelperm-${randomHex(32)}`, object: 'model_permission', allow_sampling: true },
            ],
          },
        ],
      }),
      // FastAPI's own answer for a route nobody registered.
      notFound: () => ({ status: 404, body: { detail: 'Not Found' } }),
    },
    options,
  );
}

interface VllmSettings {
  toolParser: boolean;
  maxModelLen: number;
  model: string;
}

function admit(body: ChatCompletionRequestBody, settings: VllmSettings): Admission {
  // Pydantic validation (protocol.py) runs before the handler, so this comes first.
  if (body.stream_options != null && body.stream !== true) {
    return { reject: vllmError(400, 'Stream options can only be defined when `stream=True`.') };
  }
  if (body.model !== settings.model) {
    return { reject: vllmError(404, `The model \`${String(body.model)}\` does not exist.`, 'NotFoundError') };
  }
  const toolChoice =
    body.tool_choice ?? (Array.isArray(body.tools) && body.tools.length > 0 ? 'auto' : 'none');
  if (toolChoice === 'auto' && !settings.toolParser) {
    return {
      reject: vllmError(
        400,
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
      ),
    };
  }
  for (const message of body.messages) {
    if (message.role !== 'assistant') continue;
    for (const call of message.tool_calls ?? []) {
      const args: unknown = call.function?.arguments;
      const problem = typeof args === 'string' && args !== '' ? pythonJsonLoadsError(args) : undefined;
      if (problem) return { reject: vllmError(400, problem) };
    }
  }
  return contextCheck(body, settings.maxModelLen);
}

function contextCheck(body: ChatCompletionRequestBody, maxModelLen: number): Admission {
  const inputTokens = estimatePromptTokens(body);
  if (inputTokens > maxModelLen) {
    const message = `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${inputTokens} input tokens. Please reduce the length of the input messages.`;
    return { reject: vllmError(400, message) };
  }
  const requested = body.max_completion_tokens ?? body.max_tokens;
  if (typeof requested === 'number' && requested > maxModelLen - inputTokens) {
    const message = `'max_tokens' or 'max_completion_tokens' is too large: ${requested}. This model's maximum context length is ${maxModelLen} tokens and your request has ${inputTokens} input tokens (${requested} > ${maxModelLen} - ${inputTokens}).`;
    return { reject: vllmError(400, message) };
  }
  return { seen: body };
}

export function vllmError(status: number, message: string, type?: string): HttpAnswer {
  const errorType =
    type ?? (status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError');
  return { status, body: { error: { message, type: errorType, param: null, code: status } } };
}

const vllmWire: WireStyle = {
  completionId: () => `chatcmpl-${randomHex(32)}`,
  toolCallId: () => `chatcmpl-tool-${randomHex(32)}`,
  rootFields: () => ({ service_tier: null, system_fingerprint: null, prompt_logprobs: null }),
  message: (turn) => ({
    role: 'assistant',
    content: turn.content,
    refusal: null,
    annotations: null,
    audio: null,
    function_call: null,
    tool_calls: turn.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    })),
    reasoning_content: null,
  }),
  choiceFields: () => ({ logprobs: null, stop_reason: null }),
  usage: (turn) => ({
    prompt_tokens: turn.usage.promptTokens,
    total_tokens: turn.usage.promptTokens + turn.usage.completionTokens,
    completion_tokens: turn.usage.completionTokens,
    prompt_tokens_details: null,
  }),
  stream: {
    firstDelta: () => ({ role: 'assistant', content: '' }),
    contentDelta: (text) => ({ content: text }),
    toolCallDeltas: splitToolCallDeltas,
  },
};
