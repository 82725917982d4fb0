import { type DeepSeekOptions, deepSeekServer } from './deepseek.js';
import { FamilyServer } from './family-server.js';
import { type GatewayOptions, gatewayServer } from './gateway.js';
import { type LlamaCppOptions, llamaCppServer } from './llamacpp.js';
import { type OllamaOptions, ollamaServer } from './ollama.js';
import { type OpenAiReasoningOptions, openAiReasoningServer } from './openai-reasoning.js';
import { type TextToolsOptions, textToolsServer } from './text-tools.js';
import { type VllmOptions, vllmServer } from './vllm.js';

/**
 * One stand-in per model-server family, all with the generic scripted model's API. Loop over
 * `families` to run one test against every kind of server; `startFamily` starts one.
 */

export type {
  Admission,
  FamilyContentReply,
  FamilyProfile,
  FamilyRecordedRequest,
  FamilyReply,
  FamilyResponder,
  FamilyServerOptions,
  FamilyToolCallReply,
  GatewayErrorReply,
  HttpAnswer,
} from './family-profile.js';
export { pythonJsonDumps, pythonJsonLoadsError } from './python-json.js';
export type {
  DeepSeekOptions,
  GatewayOptions,
  LlamaCppOptions,
  OllamaOptions,
  OpenAiReasoningOptions,
  TextToolsOptions,
  VllmOptions,
};
export { FamilyServer };

export interface FamilyOptions {
  'openai-reasoning': OpenAiReasoningOptions;
  vllm: VllmOptions;
  ollama: OllamaOptions;
  llamacpp: LlamaCppOptions;
  deepseek: DeepSeekOptions;
  'text-tools': TextToolsOptions;
  gateway: GatewayOptions;
}

export type FamilyName = keyof FamilyOptions;

export interface FamilyEntry {
  name: FamilyName;
  /** A model id the family's server accepts with its default options. */
  model: string;
}

export const families: readonly FamilyEntry[] = [
  { name: 'openai-reasoning', model: 'o4-mini' },
  { name: 'vllm', model: 'Qwen/Qwen2.5-Coder-32B-Instruct' },
  { name: 'ollama', model: 'qwen2.5-coder:7b' },
  { name: 'llamacpp', model: 'qwen2.5-coder-7b-instruct-q4_k_m.gguf' },
  { name: 'deepseek', model: 'deepseek-v4-flash' },
  { name: 'text-tools', model: 'Qwen/Qwen2.5-7B-Instruct' },
  { name: 'gateway', model: 'qwen/qwen-2.5-coder-32b-instruct' },
];

/** The stand-in for `name`, not yet listening. */
export function createFamily<N extends FamilyName>(name: N, options: FamilyOptions[N] = {}): FamilyServer {
  const create = creators[name] as (options: FamilyOptions[N]) => FamilyServer;
  return create(options);
}

/** The stand-in for `name`, listening on a free port. Stop it with `stop()`. */
export function startFamily<N extends FamilyName>(
  name: N,
  options: FamilyOptions[N] = {},
): Promise<FamilyServer> {
  return createFamily(name, options).start();
}

const creators: { [N in FamilyName]: (options: FamilyOptions[N]) => FamilyServer } = {
  'openai-reasoning': openAiReasoningServer,
  vllm: vllmServer,
  ollama: ollamaServer,
  llamacpp: llamaCppServer,
  deepseek: deepSeekServer,
  'text-tools': textToolsServer,
  gateway: gatewayServer,
};
