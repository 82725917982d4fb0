import { type DiscoveredContext, discoverContextWindow } from '../agent/model/discover-context.js';
import { hostOf, type ModelProbe, probeModel } from '../agent/model/probe.js';
import { defaultContextTokens, minimumContextTokens } from '../agent/model/profile.js';
import type { Config } from '../config.js';
import { type CheckResult, type CheckStatus, worst } from './types.js';

export interface ModelCheckDeps {
  probeModel?: typeof probeModel;
  discoverContextWindow?: typeof discoverContextWindow;
  signal?: AbortSignal;
}

/**
 * The model server: reachable, the key accepted, the model served, tool calls coming back as
 * tool calls (one tiny request), and how large a context it really gives the model.
 */
export async function checkModel(
  config: Pick<Readonly<Config>, 'model'>,
  deps: ModelCheckDeps = {},
): Promise<CheckResult> {
  const { apiKey, baseUrl, name } = config.model;
  if (!config.model.configured) {
    return {
      name: 'model',
      status: 'fail',
      detail: 'no model server configured',
      fix:
        'set OPENAI_API_KEY (OpenAI), or OPENAI_BASE_URL for your own server (vLLM, Ollama: http://localhost:11434/v1, ' +
        'llama.cpp), and SHIPMATE_MODEL',
    };
  }
  const input = { baseUrl, model: name, apiKey, ...(deps.signal ? { signal: deps.signal } : {}) };
  const configured = config.model.settings[name]?.contextTokens;
  const [probe, context] = await Promise.all([
    (deps.probeModel ?? probeModel)(input),
    configured
      ? Promise.resolve({ tokens: configured, source: 'models: in the config' })
      : (deps.discoverContextWindow ?? discoverContextWindow)(input).catch(() => undefined),
  ]);
  const where = `${name} at ${hostOf(baseUrl)}`;
  const fromProbe = describeProbe(probe);
  const fromContext = describeContext(context, probe);
  const fixes = [fromProbe.fix, fromContext.fix].filter((fix): fix is string => Boolean(fix));
  return {
    name: 'model',
    status: worst(fromProbe.status, fromContext.status),
    detail: `${where}: ${fromProbe.detail}; ${fromContext.detail}`,
    ...(fixes.length > 0 ? { fix: fixes.join('; ') } : {}),
  };
}

function describeProbe(probe: ModelProbe): { status: CheckStatus; detail: string; fix?: string } {
  const said = probe.serverMessage ? `: ${probe.serverMessage}` : '';
  const fix = probe.fix ? { fix: probe.fix } : {};
  switch (probe.toolCalling) {
    case 'works':
      return { status: 'ok', detail: 'tool calls work' };
    case 'skipped':
      return probe.serverMessage
        ? { status: 'warn', detail: `reachable, but ${probe.serverMessage}`, ...fix }
        : { status: 'ok', detail: 'reachable (npm run doctor also tries a tool call)' };
    case 'text-only':
      // shipmate reads the common text formats (Hermes/Qwen, Mistral), so this works, less reliably.
      return {
        status: 'warn',
        detail: `the tool call came back as text (shipmate reads it, but the server's own tool parser is more reliable)${said}`,
        ...fix,
      };
    case 'refused':
      return { status: 'fail', detail: `tool calls refused (HTTP ${probe.status ?? '?'}${said})`, ...fix };
    case 'not-called':
      return { status: 'warn', detail: `the model did not call the tool${said}`, ...fix };
    case 'untested': {
      if (!probe.reachable) return { status: 'fail', detail: `unreachable${said}`, ...fix };
      // Rate limited is a moment, not a setup problem; out of credit is.
      const transient = probe.status === 429 && !/credit/.test(probe.fix ?? '');
      return {
        status: transient ? 'warn' : 'fail',
        detail: probe.status ? `HTTP ${probe.status}${said}` : (probe.serverMessage ?? 'the request failed'),
        ...fix,
      };
    }
  }
}

function describeContext(
  context: DiscoveredContext | undefined,
  probe: ModelProbe,
): { status: CheckStatus; detail: string; fix?: string } {
  if (!context) return { status: 'ok', detail: `context window unknown, assuming ${defaultContextTokens}` };
  const detail = `context window ${context.tokens} tokens (${context.source})`;
  if (context.tokens >= minimumContextTokens) return { status: 'ok', detail };
  const need = `shipmate needs at least ${minimumContextTokens} tokens`;
  const how = /Ollama/.test(context.source)
    ? 'start Ollama with OLLAMA_CONTEXT_LENGTH=32768 (or set PARAMETER num_ctx in a Modelfile)'
    : /llama\.cpp/.test(context.source)
      ? 'start llama-server with -c 32768 --parallel 1 (the context is split across slots)'
      : /vLLM/.test(context.source) || probe.server === 'vllm'
        ? 'start vLLM with --max-model-len 32768'
        : 'use a model with a larger context window';
  return { status: 'warn', detail: `${detail}, below the minimum`, fix: `${need}: ${how}` };
}
