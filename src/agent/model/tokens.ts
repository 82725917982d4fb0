/**
 * Token counts shipmate can make without the model's tokenizer: about four characters per
 * token for English and code (OpenAI's rule of thumb), rounded up, plus a few tokens of
 * framing per message. Used for budgets when a server reports no `usage`, and to fit every
 * request in the context window, where guessing high is the safe side.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3.6);
}

/**
 * What an image part costs, whatever its bytes: OpenAI counts images by their tiles (a
 * 1024×1024 image in high detail is 765 tokens, https://platform.openai.com/docs/guides/images-vision),
 * so a data URL's base64 is not text to count; this is the high side for a screenshot.
 */
export const imageTokens = 1_500;

/** What a request's messages and tool schemas take, framing included. */
export function estimateRequestTokens(messages: readonly unknown[], tools: readonly unknown[] = []): number {
  let images = 0;
  const withoutImageData = (key: string, value: unknown) => {
    if (key !== 'image_url' || typeof value !== 'object' || value === null) return value;
    images += 1;
    return {};
  };
  return (
    messages.reduce<number>(
      (sum, message) => sum + 4 + estimateTokens(JSON.stringify(message, withoutImageData)),
      0,
    ) +
    images * imageTokens +
    (tools.length > 0 ? estimateTokens(JSON.stringify(tools)) : 0)
  );
}
