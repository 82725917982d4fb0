import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createFamily,
  type FamilyServer,
  families,
  pythonJsonDumps,
  pythonJsonLoadsError,
  startFamily,
} from '../support/model-families/index.js';

/** Each model-server family's stand-in, driven with plain fetch: what a real server of that kind does. */

// biome-ignore lint/suspicious/noExplicitAny: server answers are read loosely; each test asserts the shape it reads.
type Loose = any;

interface Posted {
  status: number;
  headers: Headers;
  json: Record<string, Loose>;
}

async function post(server: FamilyServer, body: Record<string, unknown>): Promise<Posted> {
  const response = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, Loose>,
  };
}

interface Streamed {
  status: number;
  text: string;
  comments: string[];
  events: Array<Record<string, Loose>>;
  done: boolean;
  content: string;
  reasoning: string;
}

async function stream(server: FamilyServer, body: Record<string, unknown>): Promise<Streamed> {
  const response = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  const text = await response.text();
  const blocks = text.split('\n\n').filter(Boolean);
  const data = blocks.filter((block) => block.startsWith('data: ')).map((block) => block.slice(6));
  const events = data
    .filter((line) => line !== '[DONE]')
    .map((line) => JSON.parse(line) as Record<string, Loose>);
  const deltas = events.flatMap((event) => (event.choices ?? []).map((choice: Loose) => choice.delta ?? {}));
  return {
    status: response.status,
    text,
    comments: blocks.filter((block) => block.startsWith(':')),
    events,
    done: data.includes('[DONE]'),
    content: deltas.map((delta) => delta.content ?? '').join(''),
    reasoning: deltas.map((delta) => delta.reasoning_content ?? '').join(''),
  };
}

async function getJson(url: string, init?: RequestInit): Promise<Record<string, Loose>> {
  const response = await fetch(url, init);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, Loose>;
}

const user = (content: string) => ({ role: 'user', content });
const shellTool = {
  type: 'function',
  function: { name: 'shell', description: 'Run a command', parameters: { type: 'object', properties: {} } },
};
const echoedCall = (args: string) => ({
  role: 'assistant',
  content: null,
  tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'shell', arguments: args } }],
});

describe.each(families)('the $name stand-in', ({ name, model }) => {
  let server: FamilyServer;
  beforeAll(async () => {
    server = await startFamily(name);
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  it('answers queued replies, then the responder, and records what it was sent', async () => {
    server.enqueue({ content: 'first answer' });
    server.respondWith((_request, index) => ({ content: `fallback ${index}` }));

    const first = await post(server, { model, messages: [user('hello')] });
    const second = await post(server, { model, messages: [user('again')] });

    expect(first.status).toBe(200);
    expect(first.json.choices[0].message.content).toContain('first answer');
    expect(second.json.choices[0].message.content).toContain('fallback 1');
    expect(await server.waitForRequests(2, 1_000)).toHaveLength(2);
    expect(server.allMessagesText()).toContain('again');
    expect(server.lastRequest().raw.messages).toEqual([user('again')]);
  });

  it('streams the same answer as SSE chunks, with usage when asked', async () => {
    server.enqueue({ content: 'streamed words here' });

    const streamed = await stream(server, { model, messages: [user('hi')] });

    expect(streamed.status).toBe(200);
    expect(streamed.content).toContain('streamed words here');
    expect(streamed.done).toBe(true);
    expect(streamed.events.every((event) => event.object === 'chat.completion.chunk')).toBe(true);
    expect(streamed.events.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('answers a scripted error in its own envelope, with retry-after', async () => {
    server.enqueue({ status: 429, retryAfter: 3, message: 'slow down' });

    const answer = await post(server, { model, messages: [user('hi')] });

    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('3');
    expect(answer.json.error.message).toBe('slow down');
  });

  it('lists models', async () => {
    const list = await getJson(`${server.baseUrl}/models`);
    expect(list.data.length).toBeGreaterThan(0);
  });
});

describe('openai-reasoning', () => {
  let server: FamilyServer;
  beforeAll(async () => {
    server = await startFamily('openai-reasoning', { contextWindow: 50 });
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  it('refuses max_tokens and says to use max_completion_tokens, without using a scripted reply', async () => {
    server.enqueue({ content: 'never sent' });

    const answer = await post(server, { model: 'o4-mini', messages: [user('hi')], max_tokens: 100 });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      error: {
        message:
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: 'unsupported_parameter',
      },
    });
    expect(server.pendingReplies).toBe(1);
    expect(server.lastRequest().rejected?.status).toBe(400);
  });

  it('refuses a temperature other than 1 and accepts the reasoning parameters', async () => {
    const cold = await post(server, { model: 'o4-mini', messages: [user('hi')], temperature: 0.2 });
    expect(cold.status).toBe(400);
    expect(cold.json.error).toMatchObject({ param: 'temperature', code: 'unsupported_value' });
    expect(cold.json.error.message).toBe(
      "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
    );

    server.enqueue({
      toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }],
      reasoning: 'think '.repeat(20),
    });
    const fine = await post(server, {
      model: 'o4-mini',
      messages: [user('hi')],
      temperature: 1,
      max_completion_tokens: 1000,
      reasoning_effort: 'low',
    });
    expect(fine.status).toBe(200);
    expect(fine.json.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    expect(fine.json.choices[0].message.tool_calls[0].id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(fine.json.choices[0].message).not.toHaveProperty('reasoning');
    expect(fine.json.usage.completion_tokens_details.reasoning_tokens).toBe(30);
    expect(fine.json.usage.completion_tokens).toBeGreaterThan(30);
  });

  it('refuses a prompt over the context window with context_length_exceeded', async () => {
    const answer = await post(server, { model: 'o4-mini', messages: [user('x'.repeat(400))] });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect(answer.json.error.message).toMatch(
      /^This model's maximum context length is 50 tokens\. However, your messages resulted in \d+ tokens\./,
    );
  });
});

describe('vllm', () => {
  let plain: FamilyServer;
  let parser: FamilyServer;
  const model = 'Qwen/Qwen2.5-Coder-32B-Instruct';
  beforeAll(async () => {
    plain = await startFamily('vllm', { maxModelLen: 200 });
    parser = await startFamily('vllm', { toolParser: true });
  });
  afterEach(() => {
    plain.reset();
    parser.reset();
  });
  afterAll(async () => {
    await plain.stop();
    await parser.stop();
  });

  it('refuses "auto" tool choice, explicit or implied by tools, without the tool parser', async () => {
    const implied = await post(plain, { model, messages: [user('ls')], tools: [shellTool] });
    const explicit = await post(plain, {
      model,
      messages: [user('ls')],
      tools: [shellTool],
      tool_choice: 'auto',
    });
    const required = await post(plain, {
      model,
      messages: [user('ls')],
      tools: [shellTool],
      tool_choice: 'required',
    });

    const refusal = {
      error: {
        message: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    };
    expect([implied.status, explicit.status]).toEqual([400, 400]);
    expect(implied.json).toEqual(refusal);
    expect(explicit.json).toEqual(refusal);
    expect(required.status).toBe(200);
  });

  it('answers tool calls with vLLM ids when started with the parser', async () => {
    parser.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] });
    const answer = await post(parser, {
      model,
      messages: [user('ls')],
      tools: [shellTool],
      tool_choice: 'auto',
    });
    expect(answer.status).toBe(200);
    expect(answer.json.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(answer.json.choices[0].message.tool_calls[0].id).toMatch(/^chatcmpl-tool-[0-9a-f]{32}$/);
    expect(answer.json.choices[0]).toMatchObject({ finish_reason: 'tool_calls', stop_reason: null });

    parser.enqueue({ content: 'plain' });
    const plainAnswer = await post(parser, { model, messages: [user('hi')] });
    expect(plainAnswer.json.choices[0].message.tool_calls).toEqual([]);
  });

  it('refuses an echoed tool call whose arguments are not JSON, with Python’s error text', async () => {
    const broken =
      '{"filePath": "/tmp/test.txt", "newString": "He said "hello" and left", "oldString": "old content"}';
    const answer = await post(parser, {
      model,
      messages: [user('edit'), echoedCall(broken), { role: 'tool', tool_call_id: 'call_1', content: 'ok' }],
      tools: [shellTool],
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      error: {
        message: "Expecting ',' delimiter: line 1 column 54 (char 53)",
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    });

    const empty = await post(parser, { model, messages: [user('edit'), echoedCall(''), user('go on')] });
    expect(empty.status).toBe(200);
  });

  it('refuses what does not fit --max-model-len, in vLLM’s words', async () => {
    const long = await post(plain, { model, messages: [user('x'.repeat(1000))] });
    expect(long.status).toBe(400);
    expect(long.json.error.message).toMatch(
      /^This model's maximum context length is 200 tokens\. However, your request has \d+ input tokens\. Please reduce the length of the input messages\.$/,
    );

    const greedy = await post(plain, { model, messages: [user('hi')], max_tokens: 500 });
    expect(greedy.status).toBe(400);
    expect(greedy.json.error.message).toMatch(/^'max_tokens' or 'max_completion_tokens' is too large: 500\./);
  });

  it('checks the model name and stream_options, and lists max_model_len', async () => {
    const wrong = await post(plain, { model: 'gpt-4o', messages: [user('hi')] });
    expect(wrong.status).toBe(404);
    expect(wrong.json.error).toMatchObject({
      message: 'The model `gpt-4o` does not exist.',
      type: 'NotFoundError',
      code: 404,
    });

    const options = await post(plain, {
      model,
      messages: [user('hi')],
      stream_options: { include_usage: true },
    });
    expect(options.status).toBe(400);

    const list = await getJson(`${plain.baseUrl}/models`);
    expect(list.data[0]).toMatchObject({ id: model, owned_by: 'vllm', max_model_len: 200 });
  });
});

describe('ollama', () => {
  let server: FamilyServer;
  beforeAll(async () => {
    server = await startFamily('ollama', { numCtx: 120 });
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  it('drops the oldest messages to fit num_ctx, keeping the system prompt and the latest message, without an error', async () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      user(`first question ${'a'.repeat(200)}`),
      { role: 'assistant', content: `first answer ${'b'.repeat(100)}` },
      user('latest question'),
    ];
    const answer = await post(server, { model: 'qwen2.5-coder:7b', messages });

    expect(answer.status).toBe(200);
    const recorded = server.lastRequest();
    expect(recorded.raw.messages).toEqual(messages);
    expect(recorded.body.messages.map((message) => message.role)).toEqual(['system', 'assistant', 'user']);
    expect(recorded.body.messages.at(-1)).toEqual(user('latest question'));
    expect(server.allMessagesText()).not.toContain('first question');
    expect(answer.json.usage.prompt_tokens).toBeLessThanOrEqual(120);
  });

  it('keeps the latest message even when it alone is over the window', async () => {
    const answer = await post(server, {
      model: 'qwen2.5-coder:7b',
      messages: [user('old'), user('z'.repeat(2000))],
    });
    expect(answer.status).toBe(200);
    expect(server.lastRequest().body.messages).toEqual([user('z'.repeat(2000))]);
  });

  it('answers 404 for a model that is not pulled, in the /v1 envelope; no tag means :latest', async () => {
    const answer = await post(server, { model: 'llama3', messages: [user('hi')] });
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({
      error: { message: "model 'llama3' not found", type: 'not_found_error', param: null, code: null },
    });
    // Only qwen2.5-coder:7b is pulled; the bare name asks for qwen2.5-coder:latest.
    expect((await post(server, { model: 'qwen2.5-coder', messages: [user('hi')] })).status).toBe(404);
  });

  it('reports the trained context in /api/show, and num_ctx only when the Modelfile sets it', async () => {
    const shown = await getJson(`${server.origin}/api/show`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen2.5-coder:7b' }),
    });
    expect(shown.model_info['general.architecture']).toBe('qwen2');
    expect(shown.model_info['qwen2.context_length']).toBe(32_768);
    expect(shown.parameters).not.toContain('num_ctx');
    expect((await getJson(`${server.origin}/api/ps`)).models[0].context_length).toBe(120);
    expect((await getJson(`${server.origin}/api/tags`)).models[0].name).toBe('qwen2.5-coder:7b');

    const pinned = await createFamily('ollama', { numCtx: 16_384, numCtxInModelfile: true }).start();
    try {
      const pinnedShow = await getJson(`${pinned.origin}/api/show`, {
        method: 'POST',
        body: JSON.stringify({ model: 'qwen2.5-coder:7b' }),
      });
      expect(pinnedShow.parameters).toMatch(/^num_ctx +16384$/m);
    } finally {
      await pinned.stop();
    }
  });

  it('uses Ollama ids and sends each streamed tool call whole', async () => {
    server.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] });
    const answer = await post(server, {
      model: 'qwen2.5-coder:7b',
      messages: [user('ls')],
      tools: [shellTool],
    });
    expect(answer.json.id).toMatch(/^chatcmpl-\d{1,3}$/);
    expect(answer.json.system_fingerprint).toBe('fp_ollama');
    expect(answer.json.choices[0].message.tool_calls[0].id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(answer.json.choices[0].finish_reason).toBe('tool_calls');

    server.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] });
    const streamed = await stream(server, {
      model: 'qwen2.5-coder:7b',
      messages: [user('ls')],
      tools: [shellTool],
    });
    const callChunks = streamed.events.filter((event) => event.choices?.[0]?.delta?.tool_calls);
    expect(callChunks).toHaveLength(1);
    expect(callChunks[0]?.choices[0].delta.tool_calls[0].function.arguments).toBe('{"command":"ls"}');
  });
});

describe('llamacpp', () => {
  let server: FamilyServer;
  beforeAll(async () => {
    server = await startFamily('llamacpp', { nCtx: 100 });
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  it('reports n_ctx in /props and /v1/models', async () => {
    const props = await getJson(`${server.origin}/props`);
    expect(props.default_generation_settings.n_ctx).toBe(100);
    expect(props.total_slots).toBe(1);
    const models = await getJson(`${server.baseUrl}/models`);
    expect(models.data[0]).toMatchObject({ owned_by: 'llamacpp', meta: { n_ctx: 100, n_ctx_train: 32_768 } });
    expect(models.models[0].name).toBe(models.data[0].id);
  });

  it('refuses a prompt that fills the context with exceed_context_size_error', async () => {
    const answer = await post(server, { model: 'anything', messages: [user('y'.repeat(600))] });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 400, type: 'exceed_context_size_error', n_ctx: 100 });
    expect(answer.json.error.message).toBe(
      `request (${answer.json.error.n_prompt_tokens} tokens) exceeds the available context size (100 tokens), try increasing it`,
    );
  });

  it('answers any model name with llama.cpp ids, usage and timings', async () => {
    server.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] });
    const answer = await post(server, { model: 'whatever', messages: [user('ls')], tools: [shellTool] });
    expect(answer.status).toBe(200);
    expect(answer.json.model).toBe('whatever');
    expect(answer.json.id).toMatch(/^chatcmpl-[A-Za-z0-9]{32}$/);
    expect(answer.json.choices[0].message.tool_calls[0].id).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(answer.json.timings.predicted_n).toBe(answer.json.usage.completion_tokens);
  });
});

describe('deepseek', () => {
  let server: FamilyServer;
  const model = 'deepseek-v4-flash';
  beforeAll(async () => {
    server = await startFamily('deepseek');
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  it('returns reasoning_content beside the answer, streamed before it', async () => {
    server.enqueue({ content: 'The answer.', reasoning: 'First I weigh it.' });
    const answer = await post(server, { model, messages: [user('why')] });
    expect(answer.json.choices[0].message).toMatchObject({
      content: 'The answer.',
      reasoning_content: 'First I weigh it.',
    });
    expect(answer.json.usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);

    server.enqueue({ content: 'The answer.', reasoning: 'First I weigh it.' });
    const streamed = await stream(server, { model, messages: [user('why')] });
    expect(streamed.reasoning).toBe('First I weigh it.');
    expect(streamed.content).toBe('The answer.');
    const firstContent = streamed.events.findIndex((event) => event.choices?.[0]?.delta?.content);
    const lastReasoning = streamed.events.findLastIndex(
      (event) => event.choices?.[0]?.delta?.reasoning_content,
    );
    expect(lastReasoning).toBeLessThan(firstContent);
  });

  it('refuses a tool-call turn echoed without its reasoning_content', async () => {
    const toolResult = { role: 'tool', tool_call_id: 'call_1', content: 'README.md' };
    const without = await post(server, { model, messages: [user('ls'), echoedCall('{}'), toolResult] });
    expect(without.status).toBe(400);
    expect(without.json).toEqual({
      error: {
        message: 'The `reasoning_content` in the thinking mode must be passed back to the API.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_request_error',
      },
    });

    const echoed = { ...echoedCall('{}'), reasoning_content: '' };
    expect((await post(server, { model, messages: [user('ls'), echoed, toolResult] })).status).toBe(200);
    // Reasoning from turns without tool calls is ignored, so leaving it out is fine.
    const chat = [user('hi'), { role: 'assistant', content: 'hello' }, user('bye')];
    expect((await post(server, { model, messages: chat })).status).toBe(200);
    const off = await post(server, {
      model,
      messages: [user('ls'), echoedCall('{}'), toolResult],
      thinking: { type: 'disabled' },
    });
    expect(off.status).toBe(200);
    expect(off.json.choices[0].message).not.toHaveProperty('reasoning_content');
  });
});

describe('text-tools', () => {
  let server: FamilyServer;
  beforeAll(async () => {
    server = await startFamily('text-tools', { thinkInContent: true });
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  it('returns tool calls as <tool_call> text with no tool_calls field and finish_reason stop', async () => {
    server.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] });
    const answer = await post(server, {
      model: 'Qwen/Qwen2.5-7B-Instruct',
      messages: [user('ls')],
      tools: [shellTool],
    });
    expect(answer.json.choices[0].message.content).toBe(
      '<tool_call>\n{"name": "shell", "arguments": {"command": "ls"}}\n</tool_call>',
    );
    expect(answer.json.choices[0].message).not.toHaveProperty('tool_calls');
    expect(answer.json.choices[0].finish_reason).toBe('stop');
  });

  it('puts thinking in the content and streams the tags as content', async () => {
    const reply = {
      content: 'Looking.',
      reasoning: 'check the dir',
      toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }],
    };
    server.enqueue(reply, reply);
    const answer = await post(server, { model: 'Qwen/Qwen2.5-7B-Instruct', messages: [user('ls')] });
    const text = answer.json.choices[0].message.content as string;
    expect(text.startsWith('<think>\ncheck the dir\n</think>\n\nLooking.\n<tool_call>\n')).toBe(true);

    const streamed = await stream(server, { model: 'Qwen/Qwen2.5-7B-Instruct', messages: [user('ls')] });
    expect(streamed.content).toBe(text);
    expect(streamed.events.some((event) => event.choices?.[0]?.delta?.tool_calls)).toBe(false);
  });
});

describe('gateway', () => {
  let server: FamilyServer;
  let quirky: FamilyServer;
  const model = 'qwen/qwen-2.5-coder-32b-instruct';
  beforeAll(async () => {
    server = await startFamily('gateway', { contextLength: 100 });
    quirky = await startFamily('gateway', { omitUsage: true, objectArguments: true });
  });
  afterEach(() => {
    server.reset();
    quirky.reset();
  });
  afterAll(async () => {
    await server.stop();
    await quirky.stop();
  });

  it('reports an upstream failure as HTTP 200 with an error body', async () => {
    server.enqueue({
      gatewayError: {
        code: 502,
        message: 'Network connection lost.',
        metadata: { error_type: 'provider_unavailable' },
      },
    });
    const answer = await post(server, { model, messages: [user('hi')] });
    expect(answer.status).toBe(200);
    expect(answer.json.error).toEqual({
      code: 502,
      message: 'Network connection lost.',
      metadata: { error_type: 'provider_unavailable' },
    });
    expect(answer.json).not.toHaveProperty('choices');
  });

  it('reports a mid-stream failure as an SSE error event after the partial answer', async () => {
    server.enqueue({
      gatewayError: { code: 502, message: 'Network connection lost.' },
      partialContent: 'Half an',
    });
    const streamed = await stream(server, { model, messages: [user('hi')] });
    expect(streamed.status).toBe(200);
    expect(streamed.comments[0]).toBe(': OPENROUTER PROCESSING');
    expect(streamed.content).toBe('Half an');
    expect(streamed.events.at(-1)).toMatchObject({
      error: { code: 502, message: 'Network connection lost.' },
      choices: [{ finish_reason: 'error' }],
    });
    expect(streamed.done).toBe(false);
  });

  it('lists context_length per model and refuses a request over it with the status in the body', async () => {
    const list = await getJson(`${server.baseUrl}/models`);
    expect(list.data[0]).toMatchObject({
      id: model,
      context_length: 100,
      top_provider: { context_length: 100 },
    });
    const answer = await post(server, { model, messages: [user('w'.repeat(600))] });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe(400);
    expect(answer.json.error.message).toMatch(/^This endpoint's maximum context length is 100 tokens\./);
  });

  it('can omit usage and send tool arguments as an object', async () => {
    quirky.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] });
    const answer = await post(quirky, { model, messages: [user('ls')], tools: [shellTool] });
    expect(answer.json).not.toHaveProperty('usage');
    expect(answer.json.id).toMatch(/^gen-\d+-[A-Za-z0-9]{20}$/);
    expect(answer.json.choices[0].message.tool_calls[0].function.arguments).toEqual({ command: 'ls' });

    quirky.enqueue({ content: 'ok' });
    const streamed = await stream(quirky, { model, messages: [user('hi')] });
    expect(streamed.events.some((event) => 'usage' in event)).toBe(false);
  });
});

describe('Python json as vLLM and chat templates see it', () => {
  // Expected messages are CPython 3.11's json.loads.
  it.each([
    ['{"a": 1}', undefined],
    ['{"a": NaN}', undefined],
    ['', 'Expecting value: line 1 column 1 (char 0)'],
    ['{"a": 1,}', 'Expecting property name enclosed in double quotes: line 1 column 9 (char 8)'],
    ["{'a': 1}", 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
    ['{"a": 1} x', 'Extra data: line 1 column 10 (char 9)'],
    ['[1, 2,]', 'Expecting value: line 1 column 7 (char 6)'],
    ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
    ['{"a": "b\\x"}', 'Invalid \\escape: line 1 column 9 (char 8)'],
    ['{"a": "b\nc"}', 'Invalid control character at: line 1 column 9 (char 8)'],
    ['{"cmd": "', 'Unterminated string starting at: line 1 column 9 (char 8)'],
    ['{"a":\n tru}', 'Expecting value: line 2 column 2 (char 7)'],
    ['{"a"', "Expecting ':' delimiter: line 1 column 5 (char 4)"],
    ['01', 'Extra data: line 1 column 2 (char 1)'],
  ])('json.loads(%j) → %s', (text, expected) => {
    expect(pythonJsonLoadsError(text)).toBe(expected);
  });

  it('dumps with Python’s separators and ASCII escapes', () => {
    expect(pythonJsonDumps({ command: 'ls -la', n: [1, true, null], é: 'ü' })).toBe(
      '{"command": "ls -la", "n": [1, true, null], "\\u00e9": "\\u00fc"}',
    );
  });
});
