import { z } from 'zod';

/** A context window the server reported, and where it came from (a short phrase for people). */
export interface DiscoveredContext {
  tokens: number;
  source: string;
}

export interface DiscoverContextInput {
  /** OPENAI_BASE_URL; without one (OpenAI itself) there is nothing to ask: its API does not say. */
  baseUrl: string | undefined;
  model: string;
  apiKey: string | undefined;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Per request; a server that does not answer one endpoint quickly is asked the next. */
  timeoutMs?: number;
}

/** What Ollama uses when neither the Modelfile nor the server sets a context, on a GPU under 24 GiB. */
export const ollamaDefaultContextTokens = 4096;

/** Past this a reply is not a model list or a props document (OpenRouter's full list is about 1 MiB). */
const maxResponseBytes = 8 * 1024 * 1024;

const positiveInt = z.number().int().positive();

// vLLM: GET /v1/models lists a ModelCard per served model with `max_model_len` (LoRA adapters carry
// `parent` and no length): vllm/entrypoints/openai/models/serving.py, `show_available_models`.
// OpenRouter: GET /api/v1/models, each model's `context_length`
// (https://openrouter.ai/docs/api-reference/list-available-models).
const modelListSchema = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      max_model_len: positiveInt.optional().catch(undefined),
      context_length: positiveInt.optional().catch(undefined),
      parent: z.string().nullish().catch(undefined),
    }),
  ),
});

// llama.cpp: GET /props → `default_generation_settings.n_ctx`, the context of one slot, which is what
// a request gets (https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md, "GET /props").
const llamaPropsSchema = z.object({
  default_generation_settings: z.object({ n_ctx: positiveInt }),
});

// Ollama: POST /api/show {model} → `parameters` (Modelfile lines such as "num_ctx 2048") and
// `model_info` ("<arch>.context_length" is the model's maximum, not what Ollama allocates)
// (https://docs.ollama.com/api-reference/show-model-details).
// Every answer has `details` and `model_info`; one with neither is not Ollama's.
const ollamaShowSchema = z
  .object({
    parameters: z.string().optional(),
    model_info: z.record(z.string(), z.unknown()).optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((show) => show.model_info !== undefined || show.details !== undefined);

// Ollama: GET /api/ps → the loaded models, each with the `context_length` it was allocated
// (https://docs.ollama.com/api/ps).
const ollamaPsSchema = z.object({
  models: z.array(
    z.object({
      name: z.string().optional(),
      model: z.string().optional(),
      context_length: positiveInt.optional().catch(undefined),
    }),
  ),
});

/**
 * Asks the model server how large the model's context window is, trying vLLM's and
 * OpenRouter's model list, llama.cpp's /props and Ollama's /api/ps and /api/show in turn.
 * The first answer wins; a server that answers none of them gives `undefined` (every error
 * is swallowed: this is a hint, never a reason to fail). The API key goes only to the
 * base URL's own origin, and redirects are not followed.
 */
export async function discoverContextWindow(
  input: DiscoverContextInput,
): Promise<DiscoveredContext | undefined> {
  if (!input.baseUrl) return undefined;
  let base: URL;
  try {
    base = new URL(input.baseUrl);
  } catch {
    return undefined;
  }
  const baseText = input.baseUrl.replace(/\/+$/, '');
  const client: Client = {
    baseText,
    origin: baseText.replace(/\/v1$/, ''),
    allowedOrigin: base.origin,
    apiKey: input.apiKey,
    fetch: input.fetch ?? ((url, init) => fetch(url, init)),
    timeoutMs: input.timeoutMs ?? 5_000,
    ...(input.signal ? { signal: input.signal } : {}),
  };
  const probes = [fromModelList, fromLlamaCppProps, fromOllama];
  for (const probe of probes) {
    if (input.signal?.aborted) return undefined;
    const found = await probe(client, input.model).catch(() => undefined);
    if (found) return found;
  }
  return undefined;
}

interface Client {
  baseText: string;
  /** The base URL without a trailing `/v1`: where llama.cpp and Ollama serve their own APIs. */
  origin: string;
  allowedOrigin: string;
  apiKey: string | undefined;
  fetch: typeof fetch;
  timeoutMs: number;
  signal?: AbortSignal;
}

async function fromModelList(client: Client, model: string): Promise<DiscoveredContext | undefined> {
  const list = modelListSchema.safeParse(await getJson(client, `${client.baseText}/models`));
  if (!list.success) return undefined;
  const card = list.data.data.find((entry) => entry.id === model);
  if (!card) return undefined;
  const parent = card.parent ? list.data.data.find((entry) => entry.id === card.parent) : undefined;
  const maxModelLen = card.max_model_len ?? parent?.max_model_len;
  if (maxModelLen) return { tokens: maxModelLen, source: 'vLLM /v1/models max_model_len' };
  if (card.context_length) return { tokens: card.context_length, source: '/models context_length' };
  return undefined;
}

async function fromLlamaCppProps(client: Client): Promise<DiscoveredContext | undefined> {
  const props = llamaPropsSchema.safeParse(await getJson(client, `${client.origin}/props`));
  if (!props.success) return undefined;
  return {
    tokens: props.data.default_generation_settings.n_ctx,
    source: 'llama.cpp /props default_generation_settings.n_ctx',
  };
}

/**
 * Ollama truncates a prompt longer than its context without a word, so what counts is what it
 * allocates, not the model's maximum: the loaded model's `context_length` (/api/ps), else the
 * Modelfile's `num_ctx`, else the server's default. That default is 4096 below 24 GiB of VRAM
 * (32k up to 48 GiB, 256k beyond) unless OLLAMA_CONTEXT_LENGTH sets it
 * (https://docs.ollama.com/context-length); the smallest is assumed, as a warning is better
 * than a silently cut prompt. Each is capped by the model's own maximum.
 */
async function fromOllama(client: Client, model: string): Promise<DiscoveredContext | undefined> {
  const show = ollamaShowSchema.safeParse(await postJson(client, `${client.origin}/api/show`, { model }));
  if (!show.success) return undefined;
  const maximum = modelMaximum(show.data.model_info);
  const cap = (tokens: number) => (maximum ? Math.min(tokens, maximum) : tokens);

  const ps = ollamaPsSchema.safeParse(
    await getJson(client, `${client.origin}/api/ps`).catch(() => undefined),
  );
  const loaded = ps.success
    ? ps.data.models.find((entry) => sameOllamaModel(entry.name ?? entry.model ?? '', model))
    : undefined;
  if (loaded?.context_length) {
    return { tokens: loaded.context_length, source: 'Ollama /api/ps context_length (the loaded model)' };
  }
  const numCtx = /^num_ctx\s+(\d+)\s*$/m.exec(show.data.parameters ?? '')?.[1];
  if (numCtx && Number(numCtx) > 0) {
    return { tokens: cap(Number(numCtx)), source: 'Ollama /api/show num_ctx' };
  }
  return {
    tokens: cap(ollamaDefaultContextTokens),
    source:
      "Ollama's default context (4096 below 24 GiB of VRAM unless OLLAMA_CONTEXT_LENGTH is set), not the model's maximum",
  };
}

function modelMaximum(info: Record<string, unknown> | undefined): number | undefined {
  if (!info) return undefined;
  const architecture = info['general.architecture'];
  const named = typeof architecture === 'string' ? info[`${architecture}.context_length`] : undefined;
  const value = named ?? Object.entries(info).find(([key]) => key.endsWith('.context_length'))?.[1];
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** `llama3` and `llama3:latest` are one model to Ollama. */
function sameOllamaModel(a: string, b: string): boolean {
  const tagged = (name: string) => (name.includes(':') ? name : `${name}:latest`);
  return tagged(a) === tagged(b);
}

function getJson(client: Client, url: string): Promise<unknown> {
  return requestJson(client, url, { method: 'GET' });
}

function postJson(client: Client, url: string, body: unknown): Promise<unknown> {
  return requestJson(client, url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

async function requestJson(
  client: Client,
  url: string,
  init: { method: string; body?: string; headers?: Record<string, string> },
): Promise<unknown> {
  const target = new URL(url);
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  // Same origin as OPENAI_BASE_URL only: the key is the model server's, no one else's.
  if (client.apiKey && target.origin === client.allowedOrigin)
    headers.authorization = `Bearer ${client.apiKey}`;
  const timeout = AbortSignal.timeout(client.timeoutMs);
  const signal = client.signal ? AbortSignal.any([client.signal, timeout]) : timeout;
  const response = await client.fetch(target, {
    method: init.method,
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    // A redirect could lead anywhere, with the key: none is followed.
    redirect: 'manual',
    signal,
  });
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  return JSON.parse(await readCapped(response));
}

async function readCapped(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > maxResponseBytes) throw new Error('response too large');
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxResponseBytes) throw new Error('response too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
