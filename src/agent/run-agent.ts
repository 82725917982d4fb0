import type {
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import { describeError } from '../errors.js';
import type { ToolContext } from '../jobs/tools.js';
import { type AgentTool, toOpenAiTool } from '../jobs/tools.js';
import type { ModelClient } from './model-client.js';

export interface AgentBudget {
  maxSteps: number;
  wallTimeMs: number;
  maxTokens: number;
}

export interface AgentUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface AgentRun {
  answer: string;
  steps: number;
  usage: AgentUsage;
  /** Set when a budget ran out before the model finished. */
  stoppedBy: 'steps' | 'time' | 'tokens' | undefined;
  toolCalls: Array<{ name: string; input: unknown }>;
}

export interface RunAgentOptions {
  model: ModelClient;
  system: string;
  messages: ChatCompletionMessageParam[];
  tools: AgentTool[];
  context: ToolContext;
  budget: AgentBudget;
  clock?: () => number;
}

/**
 * The loop: ask the model, run the tools it calls, feed the results back, until it answers
 * or a budget runs out; then one last call without tools asks for the best answer so far.
 */
export async function runAgent(options: RunAgentOptions): Promise<AgentRun> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const usage: AgentUsage = { promptTokens: 0, completionTokens: 0 };
  const toolCalls: AgentRun['toolCalls'] = [];
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: options.system },
    ...options.messages,
  ];
  const byName = new Map(options.tools.map((tool) => [tool.name, tool]));
  const tools = options.tools.map(toOpenAiTool);
  let stoppedBy: AgentRun['stoppedBy'];
  let steps = 0;

  while (!stoppedBy) {
    stoppedBy = budgetExhausted(options.budget, steps, clock() - started, usage);
    if (stoppedBy) break;
    steps += 1;
    options.context.progress(steps === 1 ? 'Reading the code…' : 'Thinking…');
    const completion = await options.model.complete(
      { messages, ...(tools.length > 0 ? { tools, tool_choice: 'auto' as const } : {}) },
      options.context.signal,
    );
    addUsage(usage, completion.usage);
    const message = completion.choices[0]?.message;
    if (!message) continue;
    const calls = (message.tool_calls ?? []).filter(
      (call): call is ChatCompletionMessageToolCall & { type: 'function' } => call.type === 'function',
    );
    if (calls.length === 0) {
      return { answer: message.content ?? '', steps, usage, stoppedBy: undefined, toolCalls };
    }
    messages.push({ role: 'assistant', content: message.content ?? null, tool_calls: calls });
    for (const call of calls) {
      const output = await runToolCall(byName, call, options.context, toolCalls);
      messages.push({ role: 'tool', tool_call_id: call.id, content: output });
    }
  }

  messages.push({
    role: 'user',
    content: `The ${stoppedBy} budget for this request ran out. Stop using tools and answer now with what you found, saying what is still unchecked.`,
  });
  const final = await options.model.complete({ messages }, options.context.signal);
  addUsage(usage, final.usage);
  return { answer: final.choices[0]?.message.content ?? '', steps, usage, stoppedBy, toolCalls };
}

async function runToolCall(
  byName: Map<string, AgentTool>,
  call: ChatCompletionMessageToolCall & { type: 'function' },
  context: ToolContext,
  record: AgentRun['toolCalls'],
): Promise<string> {
  const tool = byName.get(call.function.name);
  if (!tool)
    return `There is no tool named "${call.function.name}". Available: ${[...byName.keys()].join(', ')}.`;
  let raw: unknown;
  try {
    raw = JSON.parse(call.function.arguments || '{}');
  } catch {
    return `The arguments for ${tool.name} were not valid JSON; send a JSON object.`;
  }
  const parsed = tool.schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`,
    );
    return `Invalid arguments for ${tool.name}: ${problems.join('; ')}`;
  }
  record.push({ name: tool.name, input: parsed.data });
  context.progress(tool.progress(parsed.data));
  const started = Date.now();
  try {
    const output = await tool.run(parsed.data, context);
    context.log.debug({ tool: tool.name, durationMs: Date.now() - started }, 'tool-finished');
    return output;
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    context.log.warn({ tool: tool.name, err: error }, 'tool-failed');
    return `${tool.name} failed: ${describeError(error)}`;
  }
}

function budgetExhausted(
  budget: AgentBudget,
  steps: number,
  elapsedMs: number,
  usage: AgentUsage,
): AgentRun['stoppedBy'] {
  if (steps >= budget.maxSteps) return 'steps';
  if (elapsedMs >= budget.wallTimeMs) return 'time';
  if (usage.promptTokens + usage.completionTokens >= budget.maxTokens) return 'tokens';
  return undefined;
}

function addUsage(
  usage: AgentUsage,
  reported: { prompt_tokens?: number; completion_tokens?: number } | undefined,
): void {
  usage.promptTokens += reported?.prompt_tokens ?? 0;
  usage.completionTokens += reported?.completion_tokens ?? 0;
}
