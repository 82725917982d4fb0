import { FamilyServer, type FamilyServerOptions } from './family-server.js';
import { pythonJsonDumps } from './python-json.js';
import { randomHex, type Turn, type WireStyle } from './wire-format.js';

/**
 * A Hermes/Qwen-style model on a server whose tool-call parser is off: the chat template still renders
 * the tools into the prompt, so the model answers in the template's own syntax and the server passes
 * that through as plain text.
 *
 * - Qwen2.5's template asks: "For each function call, return a json object with function name and
 *   arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>,
 *   "arguments": <args-json-object>}\n</tool_call>" (the rendered prompt is in g0t4/ask-openai.nvim
 *   lua/ask-openai/tools/vllm-qwen.md). The JSON is written the way Python's json.dumps writes it.
 * - No `tool_calls` field and `finish_reason: "stop"`: without `--tool-call-parser` nothing turns that
 *   text into calls (vLLM docs/features/tool_calling.md; vllm-project/vllm#30651 shows Devstral's raw
 *   `[TOOL_CALLS]create_file{…}` arriving as content when the parser is not enabled).
 * - With `thinkInContent`, chain of thought stays in the content as `<think>…</think>` before the
 *   answer, as it does when a Qwen3 / DeepSeek-R1 model is served without `--reasoning-parser`
 *   (vLLM docs/features/reasoning_outputs.md: the parser is what moves it to `reasoning_content`).
 * - Streams carry the tags as ordinary content deltas.
 */

export interface TextToolsOptions extends FamilyServerOptions {
  /** Put a reply's `reasoning` in the content as `<think>…</think>`. Default false. */
  thinkInContent?: boolean;
  /** Served model name. Default 'Qwen/Qwen2.5-7B-Instruct'. */
  model?: string;
}

export function textToolsServer(options: TextToolsOptions = {}): FamilyServer {
  const model = options.model ?? 'Qwen/Qwen2.5-7B-Instruct';
  const thinkInContent = options.thinkInContent ?? false;
  return new FamilyServer(
    {
      name: 'text-tools',
      basePath: '/v1',
      wire: textWire,
      admit: (body) => ({ seen: body }),
      shapeTurn: (turn) => asText(turn, thinkInContent),
      errorAnswer: (status, message) => ({
        status,
        body: {
          error: {
            message,
            type: status >= 500 ? 'InternalServerError' : 'BadRequestError',
            param: null,
            code: status,
          },
        },
      }),
      listModels: () => ({
        object: 'list',
        data: [{ id: model, object: 'model', created: 0, owned_by: 'vllm' }],
      }),
    },
    options,
  );
}

/** What the model wrote, as text: thinking, the answer, then one `<tool_call>` block per call. */
function asText(turn: Turn, thinkInContent: boolean): Turn {
  const parts: string[] = [];
  if (thinkInContent && turn.reasoning) parts.push(`<think>\n${turn.reasoning}\n</think>\n\n`);
  if (turn.content) parts.push(turn.content);
  const calls = turn.toolCalls.map((call) => {
    const args = call.argumentsObject ? pythonJsonDumps(call.argumentsObject) : call.arguments;
    return `<tool_call>\n{"name": ${pythonJsonDumps(call.name)}, "arguments": ${args}}\n</tool_call>`;
  });
  if (calls.length > 0) parts.push(`${turn.content ? '\n' : ''}${calls.join('\n')}`);
  const finishReason = turn.finishReason === 'length' ? 'length' : 'stop';
  // The chain of thought is in the content now, or the model never showed it.
  return { ...turn, content: parts.join(''), toolCalls: [], finishReason, reasoning: undefined };
}

const textWire: WireStyle = {
  completionId: () => `chatcmpl-${randomHex(32)}`,
  toolCallId: () => `chatcmpl-tool-${randomHex(32)}`,
  message: (turn) => ({ role: 'assistant', content: turn.content }),
  choiceFields: () => ({ logprobs: null, stop_reason: null }),
  usage: (turn) => ({
    prompt_tokens: turn.usage.promptTokens,
    total_tokens: turn.usage.promptTokens + turn.usage.completionTokens,
    completion_tokens: turn.usage.completionTokens,
  }),
  stream: {
    firstDelta: () => ({ role: 'assistant', content: '' }),
    contentDelta: (text) => ({ content: text }),
    toolCallDeltas: () => [],
  },
};
