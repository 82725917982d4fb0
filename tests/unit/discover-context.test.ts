import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverContextWindow } from '../../src/agent/model/discover-context.js';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

type Route = (request: Seen) => { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';

/** A tiny HTTP server answering by `METHOD /path`; anything unlisted is a 404. */
class FakeServer {
  readonly seen: Seen[] = [];
  private server: Server | undefined;
  private port = 0;
  constructor(private readonly routes: Record<string, Route>) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const seen: Seen = {
      method: request.method ?? 'GET',
      path: (request.url ?? '/').split('?')[0] ?? '/',
      authorization: request.headers.authorization,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.seen.push(seen);
    const route = this.routes[`${seen.method} ${seen.path}`];
    const answer = route ? route(seen) : { status: 404, body: { error: 'not found' } };
    if (answer === 'hang') return;
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(text);
  }
}

const servers: FakeServer[] = [];
async function serve(routes: Record<string, Route>): Promise<FakeServer> {
  const server = await new FakeServer(routes).start();
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const key = 'sk-test-0123456789abcdef';
const json = (body: unknown) => () => ({ status: 200, body });

describe('discoverContextWindow', () => {
  it('reads vLLM’s max_model_len from /v1/models, with the key', async () => {
    const server = await serve({
      'GET /v1/models': json({
        object: 'list',
        data: [
          { id: 'other', object: 'model', max_model_len: 4096 },
          { id: 'Qwen/Qwen2.5-Coder-32B-Instruct', object: 'model', max_model_len: 32768 },
        ],
      }),
    });
    const found = await discoverContextWindow({
      baseUrl: `${server.origin}/v1`,
      model: 'Qwen/Qwen2.5-Coder-32B-Instruct',
      apiKey: key,
    });
    expect(found).toEqual({ tokens: 32768, source: 'vLLM /v1/models max_model_len' });
    expect(server.seen[0]?.authorization).toBe(`Bearer ${key}`);
  });

  it('gives a vLLM LoRA adapter its base model’s length', async () => {
    const server = await serve({
      'GET /v1/models': json({
        data: [
          { id: 'base', max_model_len: 65536 },
          { id: 'my-lora', root: '/loras/my', parent: 'base' },
        ],
      }),
    });
    const found = await discoverContextWindow({
      baseUrl: `${server.origin}/v1/`,
      model: 'my-lora',
      apiKey: undefined,
    });
    expect(found?.tokens).toBe(65536);
    expect(server.seen[0]?.authorization).toBeUndefined();
  });

  it('reads an OpenRouter-style context_length under a path prefix', async () => {
    const server = await serve({
      'GET /api/v1/models': json({ data: [{ id: 'qwen/qwen3-coder', context_length: 262144 }] }),
    });
    const found = await discoverContextWindow({
      baseUrl: `${server.origin}/api/v1`,
      model: 'qwen/qwen3-coder',
      apiKey: key,
    });
    expect(found).toEqual({ tokens: 262144, source: '/models context_length' });
  });

  it('asks llama.cpp’s /props (beside /v1) when the model list does not say', async () => {
    const server = await serve({
      'GET /v1/models': json({ data: [{ id: 'model.gguf', meta: { n_ctx_train: 131072 } }] }),
      'GET /props': json({ default_generation_settings: { n_ctx: 8192, params: {} }, total_slots: 1 }),
    });
    const found = await discoverContextWindow({
      baseUrl: `${server.origin}/v1`,
      model: 'model.gguf',
      apiKey: key,
    });
    expect(found).toEqual({ tokens: 8192, source: 'llama.cpp /props default_generation_settings.n_ctx' });
    expect(server.seen.map((seen) => `${seen.method} ${seen.path}`)).toEqual([
      'GET /v1/models',
      'GET /props',
    ]);
  });

  describe('Ollama', () => {
    const modelInfo = { 'general.architecture': 'qwen2', 'qwen2.context_length': 32768 };

    it('takes the loaded model’s context from /api/ps, not the model’s maximum', async () => {
      const server = await serve({
        'POST /api/show': json({ parameters: 'stop "<|im_end|>"', model_info: modelInfo }),
        'GET /api/ps': json({
          models: [{ name: 'qwen2.5-coder:latest', model: 'qwen2.5-coder:latest', context_length: 8192 }],
        }),
      });
      const found = await discoverContextWindow({
        baseUrl: `${server.origin}/v1`,
        model: 'qwen2.5-coder',
        apiKey: undefined,
      });
      expect(found).toEqual({ tokens: 8192, source: 'Ollama /api/ps context_length (the loaded model)' });
      const show = server.seen.find((seen) => seen.path === '/api/show');
      expect(JSON.parse(show?.body ?? '{}')).toEqual({ model: 'qwen2.5-coder' });
    });

    it('uses the Modelfile’s num_ctx, capped by the model’s maximum', async () => {
      const server = await serve({
        'POST /api/show': json({ parameters: 'temperature 0.7\nnum_ctx 65536', model_info: modelInfo }),
        'GET /api/ps': json({ models: [] }),
      });
      const found = await discoverContextWindow({
        baseUrl: `${server.origin}/v1`,
        model: 'qwen2.5-coder:7b',
        apiKey: undefined,
      });
      expect(found).toEqual({ tokens: 32768, source: 'Ollama /api/show num_ctx' });
    });

    it('assumes Ollama’s own default (4096), which truncates silently, when nothing sets one', async () => {
      const server = await serve({
        'POST /api/show': json({ parameters: 'temperature 0.7', model_info: modelInfo }),
        'GET /api/ps': json({ models: [{ name: 'another:latest', context_length: 131072 }] }),
      });
      const found = await discoverContextWindow({
        baseUrl: `${server.origin}/v1`,
        model: 'qwen2.5-coder:7b',
        apiKey: undefined,
      });
      expect(found?.tokens).toBe(4096);
      expect(found?.source).toMatch(/Ollama's default context .*OLLAMA_CONTEXT_LENGTH/);
    });
  });

  it('answers undefined when the server says nothing it understands', async () => {
    const server = await serve({
      'GET /v1/models': json({ data: [{ id: 'm' }] }),
      'GET /props': () => ({ status: 200, body: 'not json' }),
      'POST /api/show': json({ parameters: 42 }),
      'GET /api/ps': json({ models: [] }),
    });
    expect(
      await discoverContextWindow({ baseUrl: `${server.origin}/v1`, model: 'm', apiKey: key }),
    ).toBeUndefined();
    // …and wrong types or a missing model are no answer either.
    const typed = await serve({
      'GET /v1/models': json({ data: [{ id: 'm', max_model_len: 'big' }] }),
      // Any server that answers POST /api/show with some JSON is not Ollama for that.
      'POST /api/show': json({ ok: true }),
    });
    expect(
      await discoverContextWindow({ baseUrl: `${typed.origin}/v1`, model: 'm', apiKey: key }),
    ).toBeUndefined();
  });

  it('asks nothing without a base URL (OpenAI’s API does not say)', async () => {
    const calls: string[] = [];
    const spy: typeof fetch = async (url) => {
      calls.push(String(url));
      return new Response('{}');
    };
    expect(
      await discoverContextWindow({ baseUrl: undefined, model: 'gpt-4.1', apiKey: key, fetch: spy }),
    ).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('swallows a refused connection and a server that never answers', async () => {
    const closed = await serve({});
    const origin = closed.origin;
    await closed.stop();
    expect(await discoverContextWindow({ baseUrl: `${origin}/v1`, model: 'm', apiKey: key })).toBeUndefined();

    const hanging = await serve({
      'GET /v1/models': () => 'hang',
      'GET /props': () => 'hang',
      'POST /api/show': () => 'hang',
    });
    const found = await discoverContextWindow({
      baseUrl: `${hanging.origin}/v1`,
      model: 'm',
      apiKey: key,
      timeoutMs: 100,
    });
    expect(found).toBeUndefined();
    expect(hanging.seen).toHaveLength(3);
  });

  it('follows no redirect, so the key never reaches another origin', async () => {
    const elsewhere = await serve({ 'GET /v1/models': json({ data: [{ id: 'm', max_model_len: 999999 }] }) });
    const server = await serve({
      'GET /v1/models': () => ({ status: 302, headers: { location: `${elsewhere.origin}/v1/models` } }),
    });
    expect(
      await discoverContextWindow({ baseUrl: `${server.origin}/v1`, model: 'm', apiKey: key }),
    ).toBeUndefined();
    expect(elsewhere.seen).toEqual([]);
  });

  it('stops when the caller aborts', async () => {
    const server = await serve({ 'GET /v1/models': () => 'hang' });
    const controller = new AbortController();
    const pending = discoverContextWindow({
      baseUrl: `${server.origin}/v1`,
      model: 'm',
      apiKey: key,
      signal: controller.signal,
    });
    controller.abort();
    expect(await pending).toBeUndefined();
    expect(server.seen.length).toBeLessThanOrEqual(1);
  });
});
