import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import { CancelledError, ProviderError } from '../errors.js';

export interface ModelClientOptions {
  apiKey: string | undefined;
  baseUrl: string | undefined;
  model: string;
  maxRetries?: number;
  timeoutMs?: number;
}

/**
 * Chat Completions through the `openai` package, which works against OpenAI, Azure,
 * vLLM, Ollama, llama.cpp and OpenRouter alike. The SDK retries 429 and 5xx with backoff
 * (honouring Retry-After); what is left becomes a ProviderError with a plain sentence.
 */
export class ModelClient {
  private readonly client: OpenAI;
  readonly model: string;
  private readonly host: string;

  constructor(options: ModelClientOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey || 'not-needed',
      baseURL: options.baseUrl,
      maxRetries: options.maxRetries ?? 3,
      timeout: options.timeoutMs ?? 120_000,
    });
    this.model = options.model;
    this.host = safeHost(options.baseUrl);
  }

  async complete(
    request: Omit<ChatCompletionCreateParamsNonStreaming, 'model'>,
    signal: AbortSignal,
  ): Promise<ChatCompletion> {
    try {
      return await this.client.chat.completions.create({ ...request, model: this.model }, { signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
      throw this.explain(error);
    }
  }

  /** One call without tools (digest summaries); the text of the first choice, or '' when it has none. */
  async summarize(text: string, options: { maxTokens: number; timeoutMs: number }): Promise<string> {
    const answer = await this.complete(
      { messages: [{ role: 'user', content: text }], max_tokens: options.maxTokens },
      AbortSignal.timeout(options.timeoutMs),
    );
    return answer.choices[0]?.message.content ?? '';
  }

  private explain(error: unknown): ProviderError {
    const status = (error as { status?: number }).status;
    const reason =
      status === 401 || status === 403
        ? `it refused the credentials (HTTP ${status}); check OPENAI_API_KEY`
        : status === 404
          ? `it does not know the model "${this.model}" (HTTP 404); check SHIPMATE_MODEL`
          : status === 429
            ? 'it is rate limiting us (HTTP 429) even after retries'
            : status
              ? `it answered HTTP ${status} even after retries`
              : 'it could not be reached';
    return new ProviderError('model-unavailable', `model request failed: ${(error as Error).message}`, {
      cause: error,
      userMessage: `I could not get an answer from the model service at ${this.host}: ${reason}. Nothing was changed.`,
      fields: { status },
    });
  }
}

function safeHost(baseUrl: string | undefined): string {
  if (!baseUrl) return 'api.openai.com';
  try {
    return new URL(baseUrl).host;
  } catch {
    return 'the configured OPENAI_BASE_URL';
  }
}
