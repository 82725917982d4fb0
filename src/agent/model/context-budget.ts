import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ChatMessage } from '../model-client.js';
import { estimateRequestTokens } from './tokens.js';

/**
 * Keeping every request inside the model's context window, with room for the answer.
 * Three tools, cheapest first: a large tool result keeps its head and tail (the whole of it
 * is saved where the model can read it, see run-agent.ts); when the window fills, older
 * turns are replaced by a summary the model writes; then older tool results of this turn
 * are cut down. Each is done once and far enough that the next requests share a prefix
 * again (what provider prompt caches bill at a tenth).
 */
export interface WindowPlan {
  /** The context window. */
  window: number;
  /** Kept free for the answer. */
  reserve: number;
}

/** Characters a single tool result may keep in the transcript. */
export function toolResultBudget(plan: WindowPlan): number {
  const tokens = Math.min(6_000, Math.max(500, Math.floor((plan.window - plan.reserve) / 10)));
  return Math.floor(tokens * 3.6);
}

export function requestTokens(
  system: string,
  messages: readonly ChatMessage[],
  tools: readonly ChatCompletionTool[],
): number {
  return estimateRequestTokens([{ role: 'system', content: system }, ...messages], tools);
}

export function fits(plan: WindowPlan, tokens: number): boolean {
  return tokens + plan.reserve <= plan.window;
}

/** Head and tail of a long text, with the cut said in words. */
export function headAndTail(text: string, budget: number, note: string): string {
  if (text.length <= budget) return text;
  const head = Math.floor(budget * 0.6);
  const tail = budget - head;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n… [${cut.toLocaleString('en-US')} characters cut: ${note}] …\n${text.slice(text.length - tail)}`;
}

/**
 * Tool results of this turn (after `from`) shortened oldest first, each to a tenth of its
 * budget, until the request fits or none is left to shorten. Returns how many were cut.
 */
export function shortenToolResults(
  messages: ChatMessage[],
  from: number,
  stillTooBig: () => boolean,
  budget: number,
): number {
  let cut = 0;
  const small = Math.max(400, Math.floor(budget / 10));
  for (let index = from; index < messages.length - 1 && stillTooBig(); index += 1) {
    const message = messages[index];
    if (message?.role !== 'tool' || typeof message.content !== 'string') continue;
    // Once only (a second cut would change the prompt prefix again for a few tokens), and
    // only where it saves something worth a changed prefix.
    if (message.content.includes(shortenedNote) || message.content.length <= small * 2) continue;
    const saved = /saved in (\S+?);/.exec(message.content)?.[1];
    messages[index] = {
      ...message,
      content: headAndTail(
        message.content,
        small,
        `${shortenedNote}; ${saved ? `the whole output is still in ${saved}` : 'run the command again if you need it'}`,
      ),
    };
    cut += 1;
  }
  return cut;
}

const shortenedNote = 'shortened to fit the context window';
