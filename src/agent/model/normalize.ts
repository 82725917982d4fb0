import { randomBytes } from 'node:crypto';

/**
 * What servers send back, made into one shape. Each quirk is a real server's:
 * - reasoning as `reasoning_content` (DeepSeek, Kimi, vLLM's reasoning parsers) or
 *   `reasoning` (Ollama, OpenRouter), or inline as `<think>…</think>` (Qwen3, DeepSeek-R1
 *   distills served without a reasoning parser);
 * - tool calls written as text when the server's tool parser is off: Hermes/Qwen
 *   `<tool_call>{"name":…,"arguments":…}</tool_call>`, Mistral `[TOOL_CALLS][…]`;
 * - arguments as a JSON object instead of a string (some gateways), or malformed JSON.
 */
export interface ToolCallRequest {
  id: string;
  name: string;
  /** Arguments as JSON text, safe to echo to any server (malformed input becomes "{}"). */
  argumentsJson: string;
  /** The parsed arguments, or why they could not be parsed. */
  input: { ok: true; value: unknown } | { ok: false; problem: string; excerpt: string };
}

export interface ModelTurn {
  /** The answer text, with thinking removed. */
  content: string;
  /** Chain of thought the server returned; never shown, echoed back where the profile says. */
  reasoning: string | undefined;
  toolCalls: ToolCallRequest[];
  finishReason: string | undefined;
  usage: { promptTokens: number; completionTokens: number; estimated: boolean };
}

export interface RawMessage {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: Array<{ id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }>;
}

export function normalizeMessage(
  raw: RawMessage,
  options: { toolsOffered: readonly string[] },
): Pick<ModelTurn, 'content' | 'reasoning' | 'toolCalls'> {
  const thinking = splitThinking(typeof raw.content === 'string' ? raw.content : '');
  const reasoning = [textOf(raw.reasoning_content) ?? textOf(raw.reasoning), thinking.thought]
    .filter(Boolean)
    .join('\n');
  let content = thinking.answer;
  let toolCalls = (raw.tool_calls ?? [])
    .filter((call) => call.function && typeof call.function.name === 'string')
    .map((call) =>
      toolCall(
        typeof call.id === 'string' && call.id ? call.id : undefined,
        call.function?.name as string,
        call.function?.arguments,
      ),
    );
  if (toolCalls.length === 0 && options.toolsOffered.length > 0) {
    const recovered = recoverTextToolCalls(content, options.toolsOffered);
    if (recovered.calls.length > 0) {
      toolCalls = recovered.calls;
      content = recovered.rest;
    }
  }
  return { content: content.trim(), reasoning: reasoning || undefined, toolCalls };
}

/** `<think>…</think>` out of the answer; an unopened `</think>` ends thinking the template opened. */
export function splitThinking(text: string): { answer: string; thought: string } {
  const thoughts: string[] = [];
  let answer = text.replace(/<think(?:ing)?>([\s\S]*?)<\/think(?:ing)?>/gi, (_, thought: string) => {
    thoughts.push(thought.trim());
    return '';
  });
  const close = /<\/think(?:ing)?>/i.exec(answer);
  if (close) {
    thoughts.push(answer.slice(0, close.index).trim());
    answer = answer.slice(close.index + close[0].length);
  }
  const open = /<think(?:ing)?>/i.exec(answer);
  if (open) {
    // Thinking that never closed (the output limit hit mid-thought): none of it is an answer.
    thoughts.push(answer.slice(open.index + open[0].length).trim());
    answer = answer.slice(0, open.index);
  }
  return { answer, thought: thoughts.filter(Boolean).join('\n') };
}

/** Tool calls a server without a tool parser left in the text, for tools that were offered. */
export function recoverTextToolCalls(
  text: string,
  offered: readonly string[],
): { calls: ToolCallRequest[]; rest: string } {
  const calls: ToolCallRequest[] = [];
  const take = (json: string): boolean => {
    const value = parseJson(json.trim());
    const items = Array.isArray(value) ? value : [value];
    const found = items.filter(
      (item): item is { name: string; arguments?: unknown; parameters?: unknown } =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as { name?: unknown }).name === 'string' &&
        offered.includes((item as { name: string }).name),
    );
    for (const item of found)
      calls.push(toolCall(undefined, item.name, item.arguments ?? item.parameters ?? {}));
    return found.length > 0;
  };
  let rest = text.replace(/<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g, (whole, json: string) =>
    take(json) ? '' : whole,
  );
  rest = rest.replace(/\[TOOL_CALLS\]\s*(\[[\s\S]*\])/, (whole, json: string) => (take(json) ? '' : whole));
  return { calls, rest };
}

/** One tool call as the loop runs it: arguments parsed (a string or an object), an id given. */
export function toolCall(id: string | undefined, name: string, args: unknown): ToolCallRequest {
  const callId = id ?? `call_${randomBytes(12).toString('hex')}`;
  if (args !== null && typeof args === 'object') {
    return { id: callId, name, argumentsJson: JSON.stringify(args), input: { ok: true, value: args } };
  }
  const text = typeof args === 'string' ? args.trim() : '';
  if (text === '') return { id: callId, name, argumentsJson: '{}', input: { ok: true, value: {} } };
  try {
    const value: unknown = JSON.parse(text);
    // A string holding JSON again (double-encoded) is unwrapped once.
    const inner = typeof value === 'string' ? parseJson(value) : value;
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner))
      return { id: callId, name, argumentsJson: JSON.stringify(inner), input: { ok: true, value: inner } };
    return {
      id: callId,
      name,
      argumentsJson: '{}',
      input: bad('the arguments must be one JSON object', text),
    };
  } catch (error) {
    // Never echoed: vLLM json.loads every echoed argument string and would refuse every later request.
    return { id: callId, name, argumentsJson: '{}', input: bad((error as Error).message, text) };
  }
}

function bad(problem: string, text: string): ToolCallRequest['input'] {
  return { ok: false, problem, excerpt: text.length > 200 ? `${text.slice(0, 200)}…` : text };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}

/**
 * The part of an answer still streaming in that may be shown: thinking removed (an unclosed
 * `<think>` hides the rest), and nothing from where a tool call written as text begins, nor a
 * partial marker at the very end (`<tool_c`, `[TOOL_`).
 */
export function visibleSoFar(text: string): string {
  let shown = splitThinking(text).answer;
  const marker = /<tool_call>|\[TOOL_CALLS\]|<think(?:ing)?>/i.exec(shown);
  if (marker) shown = shown.slice(0, marker.index);
  return shown.replace(/(?:<[a-z_]{0,10}|\[[A-Z_]{0,11})$/i, '');
}
