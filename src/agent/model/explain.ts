import { ProviderError } from '../../errors.js';

/** Where the request went, for sentences that name the server and the fix. */
export interface ServerInfo {
  host: string;
  baseUrl: string | undefined;
  model: string;
}

/** What a failed request tells us, from the SDK's APIError or an HTTP 200 whose body was an error. */
interface Failure {
  status: number | undefined;
  code: string | undefined;
  message: string;
}

/**
 * A model failure as a sentence a team can act on: the server's own words, and the likely fix.
 * Context overflows get their own code, so the loop can compact and retry once.
 */
export function explainModelError(error: unknown, server: ServerInfo): ProviderError {
  const failure = readFailure(error);
  const said =
    failure.message && failure.code !== 'idle-timeout' ? ` It said: "${clip(failure.message)}".` : '';
  const make = (code: 'model-unavailable' | 'model-refused' | 'model-context-exceeded', sentence: string) =>
    new ProviderError(code, `model request failed: ${failure.status ?? 'no status'} ${failure.message}`, {
      cause: error,
      userMessage: `I could not get an answer from the model service at ${server.host}: ${sentence}${said} Nothing was changed.`,
      fields: { status: failure.status, serverCode: failure.code },
    });

  if (isContextOverflow(failure))
    return make(
      'model-context-exceeded',
      `the conversation no longer fits the context window of "${server.model}", even after shortening it. Give the model a larger context (for example \`models: { ${server.model}: { contextTokens: … } }\` in the config and the same on the server), or start a new thread.`,
    );
  const { status, code, message } = failure;
  if (status === 401 || status === 403)
    return make('model-refused', `it refused the credentials (HTTP ${status}); check \`OPENAI_API_KEY\`.`);
  if (
    code === 'insufficient_quota' ||
    status === 402 ||
    /insufficient.{0,20}(quota|credit|balance)/i.test(message)
  )
    return make(
      'model-refused',
      'the account is out of credit; add credit or raise the quota with the provider.',
    );
  if (/tool choice requires --enable-auto-tool-choice|--tool-call-parser/i.test(message))
    return make(
      'model-refused',
      `it is a vLLM server started without tool calling, which shipmate needs. Restart it with \`--enable-auto-tool-choice --tool-call-parser <parser>\` (for example \`hermes\` for Qwen, \`llama3_json\` for Llama).`,
    );
  if (status === 404) {
    if (/try pulling it|ollama pull/i.test(message))
      return make(
        'model-refused',
        `this Ollama does not have "${server.model}"; run \`ollama pull ${server.model}\` there.`,
      );
    if (server.baseUrl && !/\/v1\/?$/.test(server.baseUrl) && !/model/i.test(message))
      return make(
        'model-refused',
        `there is no Chat Completions endpoint at that address (HTTP 404); \`OPENAI_BASE_URL\` probably needs to end in \`/v1\`.`,
      );
    return make(
      'model-refused',
      `it does not know the model "${server.model}" (HTTP 404); check \`SHIPMATE_MODEL\`.`,
    );
  }
  if (status === 429)
    return make(
      'model-unavailable',
      'it is rate limiting us (HTTP 429) even after retries; try again in a minute.',
    );
  if (status !== undefined && status >= 400 && status < 500)
    return make(
      'model-refused',
      `it refused the request (HTTP ${status}). This is not a passing problem: the server or its settings for "${server.model}" need a change (see \`npm run doctor\`).`,
    );
  if (status !== undefined)
    return make('model-unavailable', `it answered HTTP ${status} even after retries; try again shortly.`);
  if (code === 'idle-timeout')
    return make(
      'model-unavailable',
      `it stopped sending (${message}); try again, or raise \`limits.modelIdleSeconds\` for a slow local model.`,
    );
  return make(
    'model-unavailable',
    `it could not be reached${failure.code ? ` (${failure.code})` : ''}; is it running?`,
  );
}

/** The error words servers use when a request is over the window (OpenAI, vLLM, llama.cpp, Ollama, OpenRouter). */
export function isContextOverflow(failure: { code?: string | undefined; message: string }): boolean {
  return (
    failure.code === 'context_length_exceeded' ||
    failure.code === 'exceed_context_size_error' ||
    /maximum context length|context length (?:is|exceeded)|exceeds? the (?:available )?context (?:size|window|length)|context_length_exceeded|prompt is too long|too many tokens/i.test(
      failure.message,
    )
  );
}

function readFailure(error: unknown): Failure {
  const value = error as {
    status?: unknown;
    code?: unknown;
    message?: unknown;
    error?: { message?: unknown; code?: unknown; type?: unknown };
    cause?: { code?: unknown };
  };
  const inner = value.error;
  // OpenRouter puts the HTTP-like status in error.code of a 200 body.
  const numericCode = typeof inner?.code === 'number' ? inner.code : undefined;
  const status = typeof value.status === 'number' ? value.status : numericCode;
  const code =
    typeof inner?.code === 'string'
      ? inner.code
      : typeof value.code === 'string'
        ? value.code
        : typeof value.cause?.code === 'string'
          ? value.cause.code
          : typeof inner?.type === 'string'
            ? inner.type
            : undefined;
  const message =
    typeof inner?.message === 'string'
      ? inner.message
      : typeof value.message === 'string'
        ? value.message.replace(/^\d{3}\s+/, '')
        : String(error);
  return { status, code, message };
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
