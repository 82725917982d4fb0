import OpenAI from 'openai';
import { familyOf } from './profile.js';

/** How the server handled one tool call: the thing shipmate cannot work without. */
export type ToolCalling =
  /** A `shell` tool call came back as a tool call. */
  | 'works'
  /** The model wrote the call as text (`<tool_call>…`): the server does not parse its tool calls. */
  | 'text-only'
  /** The server refused the request because of the tools (its own message says why). */
  | 'refused'
  /** The model answered in words and called nothing. */
  | 'not-called'
  /** The request failed before tools were in question (auth, model, path, connection). */
  | 'untested'
  /** Not tried: the start-up check only asks the server for its models (no completion spent). */
  | 'skipped';

export type ServerKind = 'openai' | 'vllm' | 'ollama' | 'llama.cpp' | 'unknown';

export interface ModelProbe {
  /** An HTTP answer came back (any status). */
  reachable: boolean;
  toolCalling: ToolCalling;
  /** The HTTP status of a failed request. */
  status?: number;
  /** The server's own words when it failed (or what it wrote instead of a call). */
  serverMessage?: string;
  /** One sentence saying what to change, for the common failures. */
  fix?: string;
  /** What kind of server this looks like, from its URL and its words. */
  server: ServerKind;
}

export interface ProbeModelInput {
  baseUrl: string | undefined;
  model: string;
  apiKey: string | undefined;
  signal?: AbortSignal;
  /** A local server may load the model first; default 90 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const shellTool: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'shell',
    description: 'Runs a shell command and returns its output.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string', description: 'The command line to run.' } },
      required: ['command'],
    },
  },
};

/** Markers of a tool call written as text (Hermes/Qwen, Llama 3, Mistral, DeepSeek, Qwen3-coder XML). */
const textToolCall =
  /<tool_call>|<\|python_tag\|>|\[TOOL_CALLS\]|<\|tool▁call|<function[=>]|"name"\s*:\s*"shell"|\bshell\s*\(\s*(command\s*=|")/i;

/**
 * One tiny Chat Completions request with one tool (`shell`, `tool_choice: "auto"`), asking the
 * model to run `echo ok`: is the server there, does the key work, is the model served, and do
 * tool calls come back as tool calls. Never throws; nothing it returns contains the API key.
 */
export async function probeModel(input: ProbeModelInput): Promise<ModelProbe> {
  const seen: { body?: string; cause?: unknown } = {};
  const realFetch = input.fetch ?? fetch;
  const client = new OpenAI({
    ...(input.baseUrl ? { baseURL: input.baseUrl } : {}),
    apiKey: input.apiKey || 'not-needed',
    maxRetries: 0,
    timeout: input.timeoutMs ?? 90_000,
    // The SDK keeps only `error.message` of a failed response; vLLM's older shape (a top-level
    // `message`) and FastAPI's `detail` would be lost, so the body is kept here too.
    fetch: async (url, init) => {
      try {
        const response = await realFetch(url, init);
        if (!response.ok) seen.body = await response.clone().text();
        return response;
      } catch (error) {
        seen.cause = error;
        throw error;
      }
    },
  });
  const scrub = (text: string) => (input.apiKey ? text.replaceAll(input.apiKey, '***') : text);
  const limit = familyOf(input.model) === 'openai-reasoning' ? 4096 : 1024;
  try {
    const completion = await client.chat.completions.create(
      {
        model: input.model,
        messages: [
          {
            role: 'user',
            content: 'Call the shell tool with the command `echo ok`. Do not answer in words.',
          },
        ],
        tools: [shellTool],
        tool_choice: 'auto',
        // OpenAI's reasoning models refuse `max_tokens` (https://platform.openai.com/docs/guides/reasoning);
        // most other servers know only it. No temperature: reasoning models refuse any but the default.
        ...(familyOf(input.model) === 'openai-reasoning'
          ? { max_completion_tokens: limit }
          : { max_tokens: limit }),
      },
      input.signal ? { signal: input.signal } : {},
    );
    if (!Array.isArray((completion as { choices?: unknown }).choices)) {
      // A web page or another API answered 200: not a Chat Completions endpoint.
      return {
        reachable: true,
        toolCalling: 'untested',
        serverMessage: 'the answer is not a Chat Completions response',
        fix: `${hostOf(input.baseUrl)} is not an OpenAI-compatible API: check OPENAI_BASE_URL (it usually ends in /v1)`,
        server: serverKind(input.baseUrl, ''),
      };
    }
    const choice = completion.choices[0];
    const message = choice?.message;
    const called = (message?.tool_calls ?? []).some(
      (call) => call.type === 'function' && call.function.name === 'shell',
    );
    const server = serverKind(input.baseUrl, '');
    if (called) return { reachable: true, toolCalling: 'works', server };
    const content = scrub(message?.content ?? '').trim();
    if (textToolCall.test(content)) {
      return {
        reachable: true,
        toolCalling: 'text-only',
        serverMessage: clip(content),
        fix: textOnlyFix(server, input.model),
        server,
      };
    }
    return {
      reachable: true,
      toolCalling: 'not-called',
      ...(content ? { serverMessage: clip(content) } : {}),
      fix:
        choice?.finish_reason === 'length'
          ? 'the model ran out of tokens before calling the tool (a reasoning model thinking at length?); try again or pick a model trained for tool calls'
          : 'the model answered without calling the tool: shipmate needs a model trained for tool calls',
      server,
    };
  } catch (error) {
    return describeFailure(error, seen, input, scrub);
  }
}

function describeFailure(
  error: unknown,
  seen: { body?: string; cause?: unknown },
  input: ProbeModelInput,
  scrub: (text: string) => string,
): ModelProbe {
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    const status = error.status;
    const message = scrub(serverWords(seen.body, error));
    const server = serverKind(input.baseUrl, message);
    const base = { reachable: true, status, serverMessage: clip(message), server } as const;
    const code = typeof error.code === 'string' ? error.code : undefined;
    if (status === 401 || status === 403) {
      return {
        ...base,
        toolCalling: 'untested',
        fix: input.apiKey
          ? 'the server refused the key: check OPENAI_API_KEY'
          : 'the server wants a key: set OPENAI_API_KEY',
      };
    }
    if (status === 429 && (code === 'insufficient_quota' || /quota|credit|billing/i.test(message))) {
      return {
        ...base,
        toolCalling: 'untested',
        fix: "the account is out of credit (insufficient_quota): add credit on the provider's billing page",
      };
    }
    if (status === 429) {
      return { ...base, toolCalling: 'untested', fix: 'rate limited right now: try again in a minute' };
    }
    if (status === 404) return { ...base, toolCalling: 'untested', fix: notFoundFix(input, message, server) };
    if ((status === 400 || status === 500 || status === 422) && /tool/i.test(message)) {
      return { ...base, toolCalling: 'refused', fix: refusedFix(server, input.model, message) };
    }
    return { ...base, toolCalling: 'untested' };
  }
  const where = hostOf(input.baseUrl);
  const code = errorCode(seen.cause ?? error);
  const server = serverKind(input.baseUrl, '');
  if (
    error instanceof OpenAI.APIConnectionTimeoutError ||
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return {
      reachable: false,
      toolCalling: 'untested',
      serverMessage: 'no answer in time',
      fix: `no answer from ${where} in time: is the server up, and the model loaded?`,
      server,
    };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return {
      reachable: false,
      toolCalling: 'untested',
      serverMessage: `cannot resolve ${where} (${code})`,
      fix: `cannot resolve ${where}: check OPENAI_BASE_URL`,
      server,
    };
  }
  return {
    reachable: false,
    toolCalling: 'untested',
    serverMessage: scrub(code ?? rootMessage(seen.cause ?? error)),
    fix:
      code === 'ECONNREFUSED'
        ? `connection refused: is the model server running at ${where}?`
        : `could not reach ${where}: is the server running, and is OPENAI_BASE_URL right?`,
    server,
  };
}

/** The server's own message: `error.message`, `error` (Ollama), `message` (older vLLM), `detail` (FastAPI). */
function serverWords(body: string | undefined, error: InstanceType<typeof OpenAI.APIError>): string {
  if (body) {
    try {
      const json = JSON.parse(body) as Record<string, unknown>;
      const inner = json.error;
      if (inner && typeof inner === 'object' && typeof (inner as { message?: unknown }).message === 'string')
        return (inner as { message: string }).message;
      if (typeof inner === 'string') return inner;
      if (typeof json.message === 'string') return json.message;
      if (typeof json.detail === 'string') return json.detail;
    } catch {
      // Not JSON: the text itself is the server's answer.
      if (body.trim()) return body.trim();
    }
  }
  return error.message.replace(/^\d{3}\s+/, '');
}

function notFoundFix(input: ProbeModelInput, message: string, server: ServerKind): string {
  const base = withoutCredentials(input.baseUrl)?.replace(/\/+$/, '');
  const aboutModel = message.includes(input.model) || /\bmodel\b/i.test(message);
  if (!aboutModel && base && !/\/v1$/.test(base)) {
    return `OPENAI_BASE_URL probably needs /v1 (try ${base}/v1)`;
  }
  if (aboutModel && server === 'ollama') return `the model is not pulled: run \`ollama pull ${input.model}\``;
  if (aboutModel) return `the server does not serve "${input.model}": check SHIPMATE_MODEL`;
  return `the server has no ${base ?? 'https://api.openai.com/v1'}/chat/completions: check OPENAI_BASE_URL`;
}

function refusedFix(server: ServerKind, model: string, message: string): string {
  if (/enable-auto-tool-choice|tool-call-parser/.test(message)) {
    return `start vLLM with --enable-auto-tool-choice --tool-call-parser ${vllmParser(model)}`;
  }
  if (/--jinja/.test(message)) return 'start llama-server with --jinja (tool calls need the chat template)';
  if (server === 'ollama' || /does not support tools/.test(message)) {
    return `this model has no tool support in Ollama: pick one that lists "tools" (\`ollama show ${model}\`)`;
  }
  return 'the server refused the tool definitions: use a model and server that support tool calls';
}

function textOnlyFix(server: ServerKind, model: string): string {
  if (server === 'vllm')
    return `start vLLM with --enable-auto-tool-choice --tool-call-parser ${vllmParser(model)}`;
  if (server === 'llama.cpp') return 'start llama-server with --jinja so it parses tool calls';
  if (server === 'ollama')
    return `the model wrote its call as text: pick an Ollama model that lists "tools" (\`ollama show ${model}\`)`;
  return `the server returned the call as text, not as a tool call: vLLM needs --enable-auto-tool-choice --tool-call-parser ${vllmParser(model)}, llama-server needs --jinja`;
}

/** The parser vLLM's tool-calling docs name for a family (https://docs.vllm.ai/en/latest/features/tool_calling/). */
function vllmParser(model: string): string {
  const family = familyOf(model);
  if (family === 'qwen') return 'hermes';
  if (family === 'llama') return 'llama3_json';
  if (family === 'mistral') return 'mistral';
  return '<parser for this model, see https://docs.vllm.ai/en/latest/features/tool_calling/>';
}

function serverKind(baseUrl: string | undefined, message: string): ServerKind {
  if (/enable-auto-tool-choice|tool-call-parser/.test(message)) return 'vllm';
  if (/--jinja/.test(message)) return 'llama.cpp';
  if (/try pulling it first|ollama/i.test(message)) return 'ollama';
  if (!baseUrl) return 'openai';
  try {
    const url = new URL(baseUrl);
    if (url.hostname === 'api.openai.com') return 'openai';
    // Ollama's own port; vLLM (8000) and llama.cpp (8080) use ports too common to tell by.
    if (url.port === '11434') return 'ollama';
  } catch {
    // An unparsable URL fails on connect; the kind does not matter then.
  }
  return 'unknown';
}

/** host:port of the base URL, never its user or password. */
export function hostOf(baseUrl: string | undefined): string {
  if (!baseUrl) return 'api.openai.com';
  try {
    return new URL(baseUrl).host;
  } catch {
    return 'the configured OPENAI_BASE_URL';
  }
}

/** The base URL as it may be shown: no user or password in it. */
function withoutCredentials(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  try {
    const url = new URL(baseUrl);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost error's message ("fetch failed" says less than its cause). */
function rootMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    message = current.message || message;
    current = current.cause;
  }
  return message;
}

function clip(text: string, max = 300): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * The start-up check: `GET {base}/models` only, so starting shipmate spends no completion and
 * a scripted or metered server sees no request it did not ask for. Tool calling is the doctor's.
 */
export async function reachModel(input: ProbeModelInput): Promise<ModelProbe> {
  const base = (input.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const server = serverKind(input.baseUrl, '');
  try {
    const response = await (input.fetch ?? fetch)(`${base}/models`, {
      headers: input.apiKey ? { authorization: `Bearer ${input.apiKey}` } : {},
      redirect: 'manual',
      signal: input.signal ?? AbortSignal.timeout(input.timeoutMs ?? 10_000),
    });
    if (response.status === 401 || response.status === 403)
      return {
        reachable: true,
        toolCalling: 'untested',
        status: response.status,
        fix: 'check OPENAI_API_KEY',
        server,
      };
    const listing = (await response.json().catch(() => undefined)) as
      | { data?: Array<{ id?: unknown }> }
      | undefined;
    const ids = Array.isArray(listing?.data) ? listing.data.map((entry) => entry.id) : [];
    if (response.ok && ids.length > 0 && !ids.includes(input.model))
      return {
        reachable: true,
        toolCalling: 'skipped',
        serverMessage: `"${input.model}" is not among the models it serves`,
        fix: server === 'ollama' ? `ollama pull ${input.model}` : 'check SHIPMATE_MODEL',
        server,
      };
    return { reachable: true, toolCalling: 'skipped', server };
  } catch (error) {
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    return {
      reachable: false,
      toolCalling: 'untested',
      serverMessage: typeof code === 'string' ? code : error instanceof Error ? error.message : String(error),
      fix: `is the model server running at ${hostOf(input.baseUrl)}?`,
      server,
    };
  }
}
