import type { ChatCompletionRequestBody, ChatMessage } from '../scripted-model.js';
import { type Admission, FamilyServer, type FamilyServerOptions, type HttpAnswer } from './family-server.js';
import { estimatePromptTokens, randomAlphanumeric, type WireStyle } from './wire-format.js';

/**
 * Ollama through its OpenAI compatibility layer (`/v1`), plus the native routes clients probe.
 *
 * - The runtime window is `num_ctx`: 4096 by default on a machine with under 24 GiB of VRAM
 *   (docs/context-length.mdx), raised with OLLAMA_CONTEXT_LENGTH or a Modelfile `PARAMETER num_ctx`.
 *   `/v1` has no way to set it per request.
 * - Over the window it does not refuse: server/prompt.go chatPrompt "truncates any messages that exceed
 *   the context window of the model, making sure to always include 1) the latest message and
 *   2) system messages" — it drops messages from the front until the rendered prompt fits, keeping
 *   the system messages it skipped, and always keeps the last message even if that alone is too big.
 *   The recorded request's `body` is what the model saw; `raw` is what was sent.
 * - `POST /api/show` reports the model's trained `<arch>.context_length` in `model_info`; `parameters`
 *   lists `num_ctx` only when the Modelfile sets it (so a client reading model_info sees 32k while
 *   the server runs 4k). `GET /api/ps` shows the loaded `context_length`; `GET /api/tags` lists models.
 * - Unknown model: 404. The /v1 error envelope is openai.NewError (openai/openai.go): type
 *   `not_found_error` for 404, `param` and `code` always null, written by middleware/openai.go
 *   writeError with the upstream status; the message is routes.go's "model 'x' not found". Older
 *   releases said `model "x" not found, try pulling it first` with type `api_error`
 *   (netease-youdao/QAnything#555). Native routes answer `{"error": "<text>"}` (docs/api/errors.mdx).
 * - Wire: ids `chatcmpl-<0..998>`, tool calls `call_` + 8 lowercase letters or digits (routes.go
 *   toolCallId), `system_fingerprint: "fp_ollama"`, usage always present, `finish_reason: "tool_calls"`
 *   whenever there are tool calls, and each streamed tool call arrives whole in one chunk.
 */

export interface OllamaOptions extends FamilyServerOptions {
  /** The runtime context window. Default 4096. */
  numCtx?: number;
  /** Whether the Modelfile sets `num_ctx` (then /api/show lists it). Default false. */
  numCtxInModelfile?: boolean;
  /** The model's trained context length, reported by /api/show. Default 32,768. */
  contextLength?: number;
  /** Pulled models. Default ['qwen2.5-coder:7b']. */
  models?: string[];
}

export function ollamaServer(options: OllamaOptions = {}): FamilyServer {
  const settings: OllamaSettings = {
    numCtx: options.numCtx ?? 4096,
    numCtxInModelfile: options.numCtxInModelfile ?? false,
    contextLength: options.contextLength ?? 32_768,
    models: (options.models ?? ['qwen2.5-coder:7b']).map(withTag),
  };
  return new FamilyServer(
    {
      name: 'ollama',
      basePath: '/v1',
      wire: ollamaWire,
      admit: (body) => admit(body, settings),
      // openai/openai.go: finish_reason becomes "tool_calls" whenever the message has tool calls.
      shapeTurn: (turn) => (turn.toolCalls.length > 0 ? { ...turn, finishReason: 'tool_calls' } : turn),
      errorAnswer: (status, message) => openAiCompatError(status, message),
      listModels: () => ({
        object: 'list',
        data: settings.models.map((id) => ({
          id,
          object: 'model',
          created: 1_735_689_600,
          owned_by: 'library',
        })),
      }),
      route: (method, path, body) => nativeRoute(method, path, body, settings),
      // gin's default for an unknown route.
      notFound: () => ({ status: 404, body: '404 page not found' }),
    },
    options,
  );
}

interface OllamaSettings {
  numCtx: number;
  numCtxInModelfile: boolean;
  contextLength: number;
  models: string[];
}

function admit(body: ChatCompletionRequestBody, settings: OllamaSettings): Admission {
  if (typeof body.model !== 'string' || !settings.models.includes(withTag(body.model))) {
    return { reject: openAiCompatError(404, `model '${String(body.model)}' not found`) };
  }
  return { seen: { ...body, messages: truncate(body, settings.numCtx) } };
}

/** server/prompt.go chatPrompt: remove from the front until it fits, keeping skipped system messages. */
function truncate(body: ChatCompletionRequestBody, numCtx: number): ChatMessage[] {
  const messages = body.messages;
  const last = messages.length - 1;
  for (let start = 0; start <= last; start += 1) {
    const system = messages.slice(0, start).filter((message) => message.role === 'system');
    const candidate = [...system, ...messages.slice(start)];
    if (estimatePromptTokens({ messages: candidate, tools: body.tools }) <= numCtx || start === last) {
      return candidate;
    }
  }
  return messages;
}

function nativeRoute(
  method: string,
  path: string,
  body: unknown,
  settings: OllamaSettings,
): HttpAnswer | undefined {
  if (method === 'GET' && path === '/') return { status: 200, body: 'Ollama is running' };
  if (method === 'GET' && path === '/api/tags') {
    return { status: 200, body: { models: settings.models.map((name) => ({ ...modelEntry(name) })) } };
  }
  if (method === 'GET' && path === '/api/ps') {
    const models = settings.models.slice(0, 1).map((name) => ({
      ...modelEntry(name),
      expires_at: new Date(Date.now() + 300_000).toISOString(),
      size_vram: 4_683_087_332,
      context_length: settings.numCtx,
    }));
    return { status: 200, body: { models } };
  }
  if (method === 'POST' && path === '/api/show') return show(body, settings);
  return undefined;
}

function show(body: unknown, settings: OllamaSettings): HttpAnswer {
  const request = (body ?? {}) as { model?: unknown; name?: unknown };
  const name = String(request.model ?? request.name ?? '');
  if (!settings.models.includes(withTag(name)))
    return { status: 404, body: { error: `model '${name}' not found` } };
  const parameters = [
    ...(settings.numCtxInModelfile ? [['num_ctx', String(settings.numCtx)]] : []),
    ['stop', '"<|im_start|>"'],
    ['stop', '"<|im_end|>"'],
  ].map(([key, value]) => `${key!.padEnd(30)} ${value}`);
  return {
    status: 200,
    body: {
      modelfile: `# Modelfile generated by "ollama show"\nFROM ${name}\n`,
      parameters: parameters.join('\n'),
      template: '{{- if .Messages }}…{{ end }}',
      details: modelEntry(name).details,
      model_info: {
        'general.architecture': 'qwen2',
        'general.parameter_count': 7_615_616_512,
        'qwen2.block_count': 28,
        'qwen2.context_length': settings.contextLength,
        'qwen2.embedding_length': 3584,
      },
      capabilities: ['completion', 'tools', 'insert'],
      modified_at: '2025-01-01T00:00:00Z',
    },
  };
}

function modelEntry(name: string) {
  return {
    name,
    model: name,
    modified_at: '2025-01-01T00:00:00Z',
    size: 4_683_087_332,
    digest: '2b0496514337a3d5901f1d253d01726c890b721e891335a56d6e08cedf3e2cb0',
    details: {
      parent_model: '',
      format: 'gguf',
      family: 'qwen2',
      families: ['qwen2'],
      parameter_size: '7.6B',
      quantization_level: 'Q4_K_M',
    },
  };
}

/** Ollama resolves a name without a tag to `:latest`. */
function withTag(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

function openAiCompatError(status: number, message: string): HttpAnswer {
  const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
  return { status, body: { error: { message, type, param: null, code: null } } };
}

const ollamaWire: WireStyle = {
  completionId: () => `chatcmpl-${Math.floor(Math.random() * 999)}`,
  toolCallId: () => `call_${randomAlphanumeric(8).toLowerCase()}`,
  rootFields: () => ({ system_fingerprint: 'fp_ollama' }),
  message: (turn) => ({
    role: 'assistant',
    content: turn.content ?? '',
    ...(turn.reasoning ? { reasoning: turn.reasoning } : {}),
    ...(turn.toolCalls.length > 0 ? { tool_calls: turn.toolCalls.map(wholeCall) } : {}),
  }),
  usage: (turn) => ({
    prompt_tokens: turn.usage.promptTokens,
    completion_tokens: turn.usage.completionTokens,
    total_tokens: turn.usage.promptTokens + turn.usage.completionTokens,
  }),
  stream: {
    firstDelta: () => ({ role: 'assistant', content: '' }),
    contentDelta: (text) => ({ role: 'assistant', content: text }),
    reasoningDelta: (text) => ({ role: 'assistant', content: '', reasoning: text }),
    toolCallDeltas: (call, index) => [
      { role: 'assistant', content: '', tool_calls: [wholeCall(call, index)] },
    ],
  },
};

function wholeCall(call: { id: string; name: string; arguments: string }, index: number) {
  return { id: call.id, index, type: 'function', function: { name: call.name, arguments: call.arguments } };
}
