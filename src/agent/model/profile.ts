import type { ModelSettings } from '../../config.js';

/**
 * What shipmate must know about a model to talk to it well: how big its context is, which
 * parameters its server accepts, and what it sends back. Config (`models: { <name>: … }`)
 * wins; otherwise the family defaults below, from each provider's documentation.
 */
export interface ModelProfile {
  /** The id sent as `model`. */
  name: string;
  family: ModelFamily;
  /** The context window in tokens, when config or the server says it (see `contextSource`). */
  contextTokens: number | undefined;
  contextSource: 'config' | 'server' | 'default';
  /** Tokens kept free for the answer in every request, and asked for as the output limit. */
  maxOutputTokens: number;
  /**
   * The request field that caps the answer. OpenAI's reasoning models reject `max_tokens`
   * (https://platform.openai.com/docs/guides/reasoning: "max_completion_tokens"); most
   * OpenAI-compatible servers know only `max_tokens`.
   */
  tokenLimitParameter: 'max_tokens' | 'max_completion_tokens' | 'none';
  /** Sent as is; `undefined` sends none (reasoning models reject any value but the default). */
  temperature: number | undefined;
  /** `reasoning_effort` for models that take it (OpenAI o-series and gpt-5, gpt-oss). */
  reasoningEffort: 'minimal' | 'low' | 'medium' | 'high' | undefined;
  /**
   * Echo the assistant's `reasoning_content` back with its tool calls. DeepSeek's thinking
   * mode and Kimi require it during tool use (https://api-docs.deepseek.com/guides/thinking_mode).
   */
  echoReasoning: boolean;
  /** The server accepts `tool_choice: "auto"` (vLLM only with --enable-auto-tool-choice). */
  toolChoice: boolean;
  /** Several tool calls in one answer. */
  parallelToolCalls: boolean;
  /** `stream: true` with an idle timeout; off for servers that do not stream tool calls. */
  streaming: boolean;
  /** Images may be sent as `image_url` parts. */
  vision: boolean;
  /** USD per million tokens, for the usage line. */
  price: { input: number; output: number } | undefined;
}

export type ModelFamily =
  | 'openai'
  | 'openai-reasoning'
  | 'deepseek'
  | 'qwen'
  | 'llama'
  | 'gpt-oss'
  | 'mistral'
  | 'other';

export type { ModelSettings };

/** When neither config nor the server says: a size every current tool-calling model has. */
export const defaultContextTokens = 32_768;

/** What shipmate's first request needs (system prompt, file list, docs, tool schemas) plus room to work. */
export const minimumContextTokens = 16_384;

export function familyOf(model: string): ModelFamily {
  const id = model.toLowerCase().split('/').at(-1) ?? '';
  if (/^(o\d|gpt-5)/.test(id)) return 'openai-reasoning';
  if (/gpt-oss/.test(id)) return 'gpt-oss';
  if (/^(gpt-|chatgpt)/.test(id)) return 'openai';
  if (/deepseek|kimi|moonshot/.test(id)) return 'deepseek';
  if (/qwen|qwq/.test(id)) return 'qwen';
  if (/llama/.test(id)) return 'llama';
  if (/mistral|mixtral|codestral|devstral/.test(id)) return 'mistral';
  return 'other';
}

const familyDefaults: Record<ModelFamily, ModelSettings> = {
  openai: { tokenLimitParameter: 'max_tokens', temperature: 0.2, vision: true },
  // https://platform.openai.com/docs/guides/reasoning — no temperature, max_completion_tokens.
  'openai-reasoning': {
    tokenLimitParameter: 'max_completion_tokens',
    temperature: null,
    reasoningEffort: 'medium',
    vision: true,
  },
  // https://api-docs.deepseek.com/guides/thinking_mode — reasoning_content goes back during tool use.
  deepseek: { echoReasoning: true, temperature: null },
  qwen: { temperature: 0.2 },
  llama: { temperature: 0.2, parallelToolCalls: false },
  'gpt-oss': { reasoningEffort: 'medium', temperature: null },
  mistral: { temperature: 0.2 },
  other: { temperature: 0.2 },
};

/** The profile for a model: its config settings over its family's defaults over the general ones. */
export function resolveProfile(
  name: string,
  settings: ModelSettings | undefined,
  discovered?: { contextTokens?: number | undefined },
): ModelProfile {
  const family = familyOf(name);
  const merged: ModelSettings = { ...familyDefaults[family], ...stripUndefined(settings ?? {}) };
  const contextTokens = merged.contextTokens ?? discovered?.contextTokens;
  const contextSource = merged.contextTokens ? 'config' : discovered?.contextTokens ? 'server' : 'default';
  const window = contextTokens ?? defaultContextTokens;
  return {
    name,
    family,
    contextTokens,
    contextSource,
    maxOutputTokens: merged.maxOutputTokens ?? Math.min(8_192, Math.floor(window / 4)),
    tokenLimitParameter: merged.tokenLimitParameter ?? 'max_tokens',
    // null: send none (reasoning models accept only their default).
    temperature: merged.temperature === null ? undefined : (merged.temperature ?? 0.2),
    reasoningEffort: merged.reasoningEffort,
    echoReasoning: merged.echoReasoning ?? false,
    toolChoice: merged.toolChoice ?? true,
    parallelToolCalls: merged.parallelToolCalls ?? true,
    streaming: merged.streaming ?? true,
    vision: merged.vision ?? false,
    price: merged.price,
  };
}

/** The window a request must fit in. */
export function contextWindow(profile: ModelProfile): number {
  return profile.contextTokens ?? defaultContextTokens;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
