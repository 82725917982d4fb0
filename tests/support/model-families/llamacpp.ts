import { FamilyServer, type FamilyServerOptions, type HttpAnswer } from './family-server.js';
import {
  estimatePromptTokens,
  randomAlphanumeric,
  splitToolCallDeltas,
  type Turn,
  type WireStyle,
} from './wire-format.js';

/**
 * llama.cpp's `llama-server` (tools/server/: server-context.cpp, server-common.cpp, server-task.cpp).
 *
 * - Errors are `{"error":{"code":400,"message","type"}}` (format_error_response; the README: "returns
 *   errors in the same format as OAI", with llama.cpp's own types and a numeric code).
 * - A prompt of n_ctx tokens or more is refused on prompt tokens alone (`>=`, n_predict not counted):
 *   400 `exceed_context_size_error`, "request (M tokens) exceeds the available context size (N tokens),
 *   try increasing it", plus `n_prompt_tokens` and `n_ctx` in the error object.
 * - `GET /props`: `default_generation_settings: { params, n_ctx }` (n_ctx per slot), `total_slots`,
 *   `model_alias`, `model_path`, `modalities`, `chat_template`, `build_info`, …
 * - `GET /v1/models` (and `/models`): both an Ollama-style `models[]` and OpenAI-style `data[]`, each
 *   `data[]` entry with `owned_by: "llamacpp"` and `meta: { n_ctx, n_ctx_train, … }`. `GET /health`.
 * - Single-model mode answers whatever `model` a request names, echoing it back.
 * - Wire: `chatcmpl-` + 32 letters/digits, tool call ids 32 letters/digits, `system_fingerprint`
 *   = build info, `timings` beside usage, first stream delta `{role, content: null}`.
 */

export interface LlamaCppOptions extends FamilyServerOptions {
  /** Context per slot (`-c` divided by `-np`). Default 4096 (older builds' default `-c`). */
  nCtx?: number;
  /** The GGUF's trained context. Default 32,768. */
  nCtxTrain?: number;
  /** `-a` alias. Default 'qwen2.5-coder-7b-instruct-q4_k_m.gguf' (the file name). */
  alias?: string;
}

const buildInfo = 'b6890-0d2b6d2a';

export function llamaCppServer(options: LlamaCppOptions = {}): FamilyServer {
  const nCtx = options.nCtx ?? 4096;
  const nCtxTrain = options.nCtxTrain ?? 32_768;
  const alias = options.alias ?? 'qwen2.5-coder-7b-instruct-q4_k_m.gguf';
  const models = () => modelsBody(alias, nCtx, nCtxTrain);
  return new FamilyServer(
    {
      name: 'llamacpp',
      basePath: '/v1',
      wire: llamaWire,
      admit: (body) => {
        const promptTokens = estimatePromptTokens(body);
        if (promptTokens < nCtx) return { seen: body };
        const message = `request (${promptTokens} tokens) exceeds the available context size (${nCtx} tokens), try increasing it`;
        const error = {
          code: 400,
          message,
          type: 'exceed_context_size_error',
          n_prompt_tokens: promptTokens,
          n_ctx: nCtx,
        };
        return { reject: { status: 400, body: { error } } };
      },
      errorAnswer: llamaError,
      listModels: models,
      route: (method, path) => {
        if (method !== 'GET') return undefined;
        if (path === '/health' || path === '/v1/health') return { status: 200, body: { status: 'ok' } };
        if (path === '/models') return { status: 200, body: models() };
        if (path === '/props') return { status: 200, body: props(alias, nCtx) };
        return undefined;
      },
      notFound: () => llamaError(404, 'File Not Found'),
    },
    options,
  );
}

function props(alias: string, nCtx: number) {
  return {
    default_generation_settings: {
      params: { n_predict: -1, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, seed: 4294967295 },
      n_ctx: nCtx,
    },
    total_slots: 1,
    model_alias: alias,
    model_path: `/models/${alias}`,
    modalities: { vision: false, audio: false },
    endpoint_slots: true,
    endpoint_props: false,
    endpoint_metrics: false,
    chat_template: '{%- for message in messages %}…{%- endfor %}',
    bos_token: '<|endoftext|>',
    eos_token: '<|im_end|>',
    build_info: buildInfo,
  };
}

function modelsBody(alias: string, nCtx: number, nCtxTrain: number) {
  return {
    models: [
      {
        name: alias,
        model: alias,
        modified_at: '',
        size: '',
        digest: '',
        type: 'model',
        description: '',
        tags: [''],
        capabilities: ['completion'],
        parameters: '',
        details: {
          parent_model: '',
          format: 'gguf',
          family: '',
          families: [''],
          parameter_size: '',
          quantization_level: '',
        },
      },
    ],
    object: 'list',
    data: [
      {
        id: alias,
        aliases: [alias],
        tags: [],
        object: 'model',
        created: Math.floor(Date.now() / 1000),
        owned_by: 'llamacpp',
        meta: {
          vocab_type: 2,
          n_vocab: 151_936,
          n_ctx: nCtx,
          n_ctx_train: nCtxTrain,
          n_embd: 3584,
          n_params: 7_615_616_512,
          size: 4_677_120_000,
        },
      },
    ],
  };
}

function llamaError(status: number, message: string): HttpAnswer {
  const types: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    403: 'permission_error',
    404: 'not_found_error',
    501: 'not_supported_error',
    503: 'unavailable_error',
  };
  return { status, body: { error: { code: status, message, type: types[status] ?? 'server_error' } } };
}

function timings(turn: Turn) {
  return {
    prompt_n: turn.usage.promptTokens,
    prompt_ms: 120.5,
    prompt_per_token_ms: 120.5 / Math.max(1, turn.usage.promptTokens),
    prompt_per_second: (turn.usage.promptTokens / 120.5) * 1000,
    predicted_n: turn.usage.completionTokens,
    predicted_ms: 240.25,
    predicted_per_token_ms: 240.25 / Math.max(1, turn.usage.completionTokens),
    predicted_per_second: (turn.usage.completionTokens / 240.25) * 1000,
  };
}

const llamaWire: WireStyle = {
  completionId: () => `chatcmpl-${randomAlphanumeric(32)}`,
  toolCallId: () => randomAlphanumeric(32),
  rootFields: () => ({ system_fingerprint: buildInfo }),
  completionFields: (turn) => ({ timings: timings(turn) }),
  message: (turn) => ({
    role: 'assistant',
    content: turn.content,
    ...(turn.reasoning ? { reasoning_content: turn.reasoning } : {}),
    ...(turn.toolCalls.length > 0
      ? {
          tool_calls: turn.toolCalls.map((call) => ({
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
            id: call.id,
          })),
        }
      : {}),
  }),
  usage: (turn) => ({
    completion_tokens: turn.usage.completionTokens,
    prompt_tokens: turn.usage.promptTokens,
    total_tokens: turn.usage.promptTokens + turn.usage.completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
  }),
  stream: {
    firstDelta: () => ({ role: 'assistant', content: null }),
    contentDelta: (text) => ({ content: text }),
    reasoningDelta: (text) => ({ reasoning_content: text }),
    toolCallDeltas: splitToolCallDeltas,
    usageChunkFields: (turn) => ({ timings: timings(turn) }),
  },
};
