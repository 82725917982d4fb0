/**
 * Token counts shipmate can make without the model's tokenizer: about four characters per
 * token for English and code (OpenAI's rule of thumb), rounded up, plus a few tokens of
 * framing per message. Used for budgets when a server reports no `usage`, and to fit every
 * request in the context window, where guessing high is the safe side.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3.6);
}

/** What a request's messages and tool schemas take, framing included. */
export function estimateRequestTokens(messages: readonly unknown[], tools: readonly unknown[] = []): number {
  return (
    messages.reduce<number>((sum, message) => sum + 4 + estimateTokens(JSON.stringify(message)), 0) +
    (tools.length > 0 ? estimateTokens(JSON.stringify(tools)) : 0)
  );
}
