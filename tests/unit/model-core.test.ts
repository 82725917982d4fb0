import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildContext } from '../../src/agent/build-context.js';
import { shortenToolResults } from '../../src/agent/model/context-budget.js';
import { explainModelError } from '../../src/agent/model/explain.js';
import { normalizeMessage, splitThinking } from '../../src/agent/model/normalize.js';
import { familyOf, resolveProfile } from '../../src/agent/model/profile.js';
import { type ChatMessage, ModelClient } from '../../src/agent/model-client.js';
import { runAgent } from '../../src/agent/run-agent.js';
import { defineTool, type ToolContext } from '../../src/jobs/tools.js';
import { createLogger } from '../../src/log.js';
import type { Workspace } from '../../src/workspace/types.js';
import { startFamily } from '../support/model-families/index.js';
import { ScriptedModel, type ScriptedReply } from '../support/scripted-model.js';

const log = createLogger({ level: 'silent' });

describe('what servers send back, in one shape', () => {
  const offered = ['shell'];

  it('keeps reasoning out of the answer, whichever field or tag it came in', () => {
    expect(
      normalizeMessage({ content: 'The answer.', reasoning_content: 'because' }, { toolsOffered: [] }),
    ).toMatchObject({
      content: 'The answer.',
      reasoning: 'because',
    });
    expect(
      normalizeMessage({ content: '<think>hmm, the cart</think>\nIt is the cart.' }, { toolsOffered: [] }),
    ).toMatchObject({
      content: 'It is the cart.',
      reasoning: 'hmm, the cart',
    });
    // The chat template opened <think> in the prompt; only the close is in the answer.
    expect(splitThinking('the model mulls it over</think>Done.')).toEqual({
      answer: 'Done.',
      thought: 'the model mulls it over',
    });
    // Thinking cut off by the output limit is not an answer.
    expect(splitThinking('Sure. <think>first I will')).toEqual({ answer: 'Sure. ', thought: 'first I will' });
  });

  it('recovers tool calls written as text (Hermes/Qwen tags, Mistral) for offered tools only', () => {
    const hermes = normalizeMessage(
      {
        content: 'Let me look.\n<tool_call>\n{"name": "shell", "arguments": {"command": "ls"}}\n</tool_call>',
      },
      { toolsOffered: offered },
    );
    expect(hermes.content).toBe('Let me look.');
    expect(hermes.toolCalls).toMatchObject([
      { name: 'shell', argumentsJson: '{"command":"ls"}', input: { ok: true } },
    ]);
    expect(hermes.toolCalls[0]?.id).toMatch(/^call_[0-9a-f]{24}$/);
    const mistral = normalizeMessage(
      { content: '[TOOL_CALLS][{"name": "shell", "arguments": {"command": "pwd"}}]' },
      { toolsOffered: offered },
    );
    expect(mistral.toolCalls.map((call) => call.argumentsJson)).toEqual(['{"command":"pwd"}']);
    const unknown = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>';
    expect(normalizeMessage({ content: unknown }, { toolsOffered: offered })).toMatchObject({
      toolCalls: [],
      content: unknown,
    });
  });

  it('accepts object arguments, and never keeps malformed ones to echo back', () => {
    const object = normalizeMessage(
      {
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'shell', arguments: { command: 'ls' } } },
        ],
      },
      { toolsOffered: offered },
    );
    expect(object.toolCalls[0]).toMatchObject({
      id: 'c1',
      argumentsJson: '{"command":"ls"}',
      input: { ok: true, value: { command: 'ls' } },
    });
    const broken = normalizeMessage(
      {
        tool_calls: [
          { id: 'c2', type: 'function', function: { name: 'shell', arguments: '{"command": "ls' } },
        ],
      },
      { toolsOffered: offered },
    );
    expect(broken.toolCalls[0]).toMatchObject({
      argumentsJson: '{}',
      input: { ok: false, excerpt: '{"command": "ls' },
    });
  });

  it('knows the families by their model names', () => {
    expect(
      [
        'o3-mini',
        'gpt-5',
        'gpt-4.1',
        'deepseek-reasoner',
        'qwen2.5-coder:32b',
        'meta-llama/Llama-3.3-70B-Instruct',
        'openai/gpt-oss-120b',
      ].map(familyOf),
    ).toEqual(['openai-reasoning', 'openai-reasoning', 'openai', 'deepseek', 'qwen', 'llama', 'gpt-oss']);
    const reasoning = resolveProfile('o4-mini', undefined);
    expect(reasoning).toMatchObject({
      tokenLimitParameter: 'max_completion_tokens',
      temperature: undefined,
      reasoningEffort: 'medium',
    });
    expect(resolveProfile('o4-mini', { reasoningEffort: 'high', contextTokens: 200_000 })).toMatchObject({
      reasoningEffort: 'high',
      contextTokens: 200_000,
      contextSource: 'config',
    });
    expect(resolveProfile('llama3.1', undefined, { contextTokens: 4096 })).toMatchObject({
      contextSource: 'server',
      contextTokens: 4096,
    });
    expect(resolveProfile('gpt-4.1', { temperature: null }).temperature).toBeUndefined();
  });
});

describe('model failures a team can act on', () => {
  const server = { host: 'gpu-box:8000', baseUrl: 'http://gpu-box:8000/v1', model: 'qwen' };
  const sentence = (error: unknown) => explainModelError(error, server);

  it.each([
    [
      {
        status: 400,
        error: {
          message: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
        },
      },
      'model-refused',
      /--enable-auto-tool-choice --tool-call-parser/,
    ],
    [
      { status: 404, error: { message: 'model "qwen" not found, try pulling it first' } },
      'model-refused',
      /`ollama pull qwen`/,
    ],
    [
      { status: 429, error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } },
      'model-refused',
      /out of credit/,
    ],
    [{ status: 429, error: { message: 'Rate limit reached' } }, 'model-unavailable', /rate limiting/],
    [
      { status: 400, error: { message: 'Invalid value for temperature' } },
      'model-refused',
      /refused the request \(HTTP 400\)/,
    ],
    [{ error: { code: 502, message: 'Provider returned error' } }, 'model-unavailable', /HTTP 502/],
    [
      {
        status: 400,
        error: {
          message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens",
        },
      },
      'model-context-exceeded',
      /context window/,
    ],
    [
      { cause: { code: 'ECONNREFUSED' }, message: 'Connection error.' },
      'model-unavailable',
      /could not be reached \(ECONNREFUSED\)/,
    ],
  ])('%j', (error, code, words) => {
    const explained = sentence(error);
    expect(explained.code).toBe(code);
    expect(explained.userMessage).toMatch(words);
    if ('error' in error && error.error.message)
      expect(explained.userMessage).toContain(error.error.message.slice(0, 40));
    // Never "even after retries" for what is never retried.
    if (code !== 'model-unavailable') expect(explained.userMessage).not.toMatch(/even after retries/);
  });

  it('a 404 on the path itself says the base URL misses /v1', () => {
    const explained = explainModelError(
      { status: 404, error: { message: '404 page not found' } },
      { ...server, baseUrl: 'http://gpu-box:11434' },
    );
    expect(explained.userMessage).toMatch(/needs to end in `\/v1`/);
  });
});

describe('a follow-up with a session', () => {
  it('gets what was posted since the last turn, without that turn’s own answer (already in the session)', async () => {
    const workspace = {
      run: async () => ({
        exitCode: 0,
        signal: null,
        stdout: 'a.ts\n',
        stderr: '',
        timedOut: false,
        cancelled: false,
        durationMs: 1,
      }),
      readFile: async () => {
        throw new Error('ENOENT');
      },
    } as unknown as Workspace;
    const { messages } = await buildContext({
      repo: { name: 'shop', url: '/x', defaultBranch: 'main', channels: [], checks: [] } as never,
      defaultBranch: 'main',
      workspace,
      mode: 'question',
      askerName: 'alice',
      request: 'and the base price?',
      requestTs: '30.0',
      since: '10.0',
      thread: [
        { ts: '10.0', userId: 'U1', name: 'alice', kind: 'person', text: 'why double shipping?' },
        { ts: '20.0', userId: 'UBOT', name: 'shipmate', kind: 'shipmate', text: 'FINDING-42 answer' },
        { ts: '25.0', userId: 'U2', name: 'bob', kind: 'person', text: 'I saw it on mobile too' },
        { ts: '26.0', userId: 'UBOT', name: 'shipmate', kind: 'shipmate', text: 'weekly-signups: 1,204' },
        { ts: '30.0', userId: 'U1', name: 'alice', kind: 'person', text: 'and the base price?' },
      ],
      instructions: [],
    });
    const text = String(messages[0]?.content);
    expect(text).toContain('[bob] I saw it on mobile too');
    expect(text).not.toContain('FINDING-42');
    expect(text).not.toContain('why double shipping?');
    // What shipmate posted later, for someone else (a team script's output), is new to the session.
    expect(text).toContain('weekly-signups: 1,204');
  });
});

describe('shortening tool results to fit', () => {
  const result = (content: string): ChatMessage => ({ role: 'tool', tool_call_id: 'c', content });

  it('cuts each result once, keeps where its whole output is, and leaves small ones alone', () => {
    const big = `exit code: 0\n${'x'.repeat(20_000)}\n… [9 characters cut: the whole output (20,000 characters) is saved in /r/.git/shipmate-output/o-1.txt; search it with rg] …\nEND`;
    const messages: ChatMessage[] = [
      result(big),
      result('short output'),
      result(big),
      { role: 'user', content: 'q' },
    ];
    expect(shortenToolResults(messages, 0, () => true, 8_000)).toBe(2);
    const once = messages.map((message) => message.content);
    expect(once[1]).toBe('short output');
    expect(String(once[0]).length).toBeLessThan(1_500);
    expect(once[0]).toContain('the whole output is still in /r/.git/shipmate-output/o-1.txt');
    // A second pass changes nothing: the prompt's prefix stays as it was.
    expect(shortenToolResults(messages, 0, () => true, 8_000)).toBe(0);
    expect(messages.map((message) => message.content)).toEqual(once);
  });
});

describe('the agent loop against a Chat Completions server', () => {
  const model = new ScriptedModel();
  const runs: string[] = [];
  const saved: string[] = [];
  const echo = defineTool({
    name: 'shell',
    description: 'run',
    schema: z.object({ command: z.string() }),
    progress: ({ command }) => command,
    async run({ command }) {
      runs.push(command);
      return command.startsWith('big') ? `${'line of output\n'.repeat(4_000)}END` : `ran ${command}`;
    },
  });
  const context: ToolContext = {
    workspace: {} as Workspace,
    jobId: 'job-1',
    userId: 'U1',
    signal: new AbortController().signal,
    log,
    progress: () => {},
    commands: { timeoutMs: 1000 },
    ask: () => {},
    reportBlocked: () => {},
  };
  const client = (settings: Parameters<typeof resolveProfile>[1] = {}) =>
    new ModelClient({
      apiKey: 'k',
      baseUrl: model.baseUrl,
      profile: resolveProfile('qwen-test', settings),
      maxRetries: 0,
    });
  const run = (settings: Parameters<typeof resolveProfile>[1] = {}, history: ChatMessage[] = []) =>
    runAgent({
      model: client(settings),
      system: 'You are a test.',
      history,
      messages: [{ role: 'user', content: 'REQUEST: why?' }],
      tools: [echo],
      context,
      budget: { maxSteps: 10, wallTimeMs: 60_000, maxTokens: 10_000_000 },
      saveOutput: async (text) => {
        saved.push(text);
        return '/repo/.git/shipmate-output/output-1.txt';
      },
    });

  beforeAll(async () => {
    await model.start();
  });
  afterAll(() => model.stop());
  beforeEach(() => {
    model.reset();
    runs.length = 0;
    saved.length = 0;
  });

  it('streams, runs the tools, and answers; a malformed argument is answered, never echoed', async () => {
    model.enqueue(
      { toolCalls: [{ name: 'shell', arguments: '{"command": "ls' }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] },
      { content: 'It is the cart.' },
    );
    const result = await run();
    expect(result.answer).toBe('It is the cart.');
    expect(runs).toEqual(['ls']);
    const second = model.requests[1]!.body;
    expect(second.stream).toBe(true);
    const echoed = second.messages
      .flatMap((message) => message.tool_calls ?? [])
      .map((call) => call.function.arguments);
    expect(echoed).toEqual(['{}']);
    expect(String(second.messages.at(-1)?.content)).toMatch(/not valid JSON.*nothing was run/);
    expect(result.transcript.at(-1)).toEqual({ role: 'assistant', content: 'It is the cart.' });
  });

  it('keeps head and tail of a large result and says where the whole of it is', async () => {
    model.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'big log' } }] }, { content: 'done' });
    await run({ contextTokens: 32_768 });
    const kept = String(model.requests[1]!.body.messages.at(-1)?.content);
    expect(saved[0]).toHaveLength('line of output\n'.length * 4_000 + 3);
    expect(kept.length).toBeLessThan(saved[0]!.length / 2);
    expect(kept).toMatch(/^line of output/);
    expect(kept).toMatch(/END$/);
    expect(kept).toContain('saved in /repo/.git/shipmate-output/output-1.txt');
  });

  it('summarizes earlier turns when the window fills, and every request fits', async () => {
    const window = 8_192;
    const history: ChatMessage[] = [];
    for (let turn = 0; turn < 6; turn += 1) {
      history.push({ role: 'user', content: `REQUEST ${turn}: ${'what about the cart? '.repeat(200)}` });
      history.push({
        role: 'assistant',
        content: `Finding ${turn}: ${'src/cart.ts:42 adds it twice. '.repeat(150)}`,
      });
    }
    model.respondWith((request) =>
      request.body.tools
        ? { content: 'The answer, building on the summary.' }
        : { content: 'SUMMARY: the cart adds shipping twice (src/cart.ts:42).' },
    );
    const result = await run({ contextTokens: window, maxOutputTokens: 1_024 }, history);
    expect(result.compactions).toBe(1);
    for (const request of model.requests)
      expect(JSON.stringify(request.body.messages).length / 3.6 + 1_024).toBeLessThan(window);
    const last = model.lastRequest().body.messages;
    expect(String(last[1]?.content)).toContain('SUMMARY: the cart adds shipping twice');
    expect(result.transcript[0]?.content).toContain('SUMMARY');
  });

  it('on a context-length error from the server, compacts and retries once instead of failing', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'REQUEST 0: where?' },
      { role: 'assistant', content: 'In the cart.' },
    ];
    model.enqueue(
      {
        status: 400,
        message: "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens.",
      },
      { content: 'SUMMARY: in the cart.' },
      { content: 'Still the cart.' },
    );
    const result = await run({ contextTokens: 128_000 }, history);
    expect(result.answer).toBe('Still the cart.');
    expect(result.compactions).toBe(1);
  });

  it('runs the read-only calls of one step together', async () => {
    // Each waits for the other to have started: run one after the other, neither would end.
    let startedA!: () => void;
    let startedB!: () => void;
    const a = new Promise<void>((resolve) => {
      startedA = resolve;
    });
    const b = new Promise<void>((resolve) => {
      startedB = resolve;
    });
    const lookup = (name: string, mine: () => void, other: Promise<void>) =>
      defineTool({
        name,
        readOnly: true,
        description: 'look up',
        schema: z.object({}),
        progress: () => name,
        async run() {
          mine();
          await other;
          return `${name} found it`;
        },
      });
    model.enqueue(
      {
        toolCalls: [
          { name: 'find_a', arguments: {} },
          { name: 'find_b', arguments: {} },
        ],
      },
      { content: 'both' },
    );
    const result = await runAgent({
      model: client(),
      system: 's',
      messages: [{ role: 'user', content: 'q' }],
      tools: [lookup('find_a', startedA, b), lookup('find_b', startedB, a)],
      context,
      budget: { maxSteps: 3, wallTimeMs: 60_000, maxTokens: 1_000_000 },
    });
    expect(result.answer).toBe('both');
    expect(model.toolResultsIn().map((message) => message.content)).toEqual([
      'find_a found it',
      'find_b found it',
    ]);
  });

  it('sends DeepSeek its reasoning back with tool calls, even when the reasoning was empty', async () => {
    const deepseek = await startFamily('deepseek');
    try {
      deepseek.enqueue(
        { toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }], reasoning: '' } as ScriptedReply,
        { content: 'done' },
      );
      const result = await runAgent({
        model: new ModelClient({
          apiKey: deepseek.apiKey,
          baseUrl: deepseek.baseUrl,
          profile: resolveProfile('deepseek-v4-flash', undefined),
          maxRetries: 0,
        }),
        system: 's',
        messages: [{ role: 'user', content: 'q' }],
        tools: [echo],
        context,
        budget: { maxSteps: 3, wallTimeMs: 60_000, maxTokens: 1_000_000 },
      });
      expect(result.answer).toBe('done');
      const assistant = deepseek.lastRequest().body.messages.find((message) => message.role === 'assistant');
      expect(assistant).toHaveProperty('reasoning_content', '');
    } finally {
      await deepseek.stop();
    }
  });

  it('starts a tool call as soon as it has streamed whole, while the model still writes the next', async () => {
    // A server that sends the first call, then waits until that call has started running.
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const server = createServer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null = null) =>
        response.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
        );
      chunk({
        role: 'assistant',
        tool_calls: [
          {
            index: 0,
            id: 'call_a',
            type: 'function',
            function: { name: 'shell', arguments: '{"command":"first"}' },
          },
        ],
      });
      chunk({
        tool_calls: [
          { index: 1, id: 'call_b', type: 'function', function: { name: 'shell', arguments: '' } },
        ],
      });
      await started;
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"command":"second"}' } }] }, 'tool_calls');
      response.end('data: [DONE]\n\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const order: string[] = [];
    const tracked = defineTool({
      name: 'shell',
      description: 'run',
      schema: z.object({ command: z.string() }),
      progress: ({ command }) => command,
      async run({ command }) {
        order.push(command);
        if (command === 'first') firstStarted();
        return `ran ${command}`;
      },
    });
    const client = new ModelClient({
      apiKey: 'k',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      profile: resolveProfile('qwen-test', undefined),
      maxRetries: 0,
    });
    try {
      await runAgent({
        model: client,
        system: 's',
        messages: [{ role: 'user', content: 'q' }],
        tools: [tracked],
        context,
        budget: { maxSteps: 1, wallTimeMs: 60_000, maxTokens: 1_000_000 },
      }).catch(() => undefined);
      expect(order.slice(0, 2)).toEqual(['first', 'second']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('gives up a stream that sends nothing for the idle time, saying so', async () => {
    model.enqueue({ hang: true });
    const idle = new ModelClient({
      apiKey: 'k',
      baseUrl: model.baseUrl,
      profile: resolveProfile('qwen-test', undefined),
      maxRetries: 0,
      idleTimeoutMs: 200,
    });
    await expect(
      idle.turn({ messages: [{ role: 'user', content: 'hi' }] }, new AbortController().signal),
    ).rejects.toMatchObject({
      code: 'model-unavailable',
      userMessage: expect.stringMatching(
        /stopped sending \(no token for 0\.2 s\).*modelIdleSeconds[^"]*Nothing was changed\.$/,
      ),
    });
  });

  it('sends each parameter the profile says, and none it does not', async () => {
    model.enqueue({ content: 'ok' });
    await runAgent({
      model: new ModelClient({
        apiKey: 'k',
        baseUrl: model.baseUrl,
        profile: resolveProfile('o4-mini', { streaming: false }),
        maxRetries: 0,
      }),
      system: 's',
      messages: [{ role: 'user', content: 'q' }],
      tools: [echo],
      context,
      budget: { maxSteps: 2, wallTimeMs: 60_000, maxTokens: 1_000_000 },
    });
    const body = model.lastRequest().body;
    expect(body).toMatchObject({
      max_completion_tokens: expect.any(Number),
      reasoning_effort: 'medium',
      tool_choice: 'auto',
    });
    expect(body).not.toHaveProperty('max_tokens');
    expect(body).not.toHaveProperty('temperature');
    expect(body.stream).toBeFalsy();
  });
});
