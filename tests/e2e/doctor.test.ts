import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { lineOf, runDoctor } from '../support/doctor-run.js';
import { createRepo, type TestRepo } from '../support/git-fixtures.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { ScriptedModel, type ScriptedReply } from '../support/scripted-model.js';
import { type SlackEmulator, startSlackEmulator, TEST_SIGNING_SECRET } from '../support/slack-emulator.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelKey = 'sk-test-doctor-key-0123456789abcdef';

/** The bot scopes the app manifest asks for: what a correctly installed app is granted. */
const manifestScopes: string[] = (
  parseYaml(readFileSync(join(root, 'slack-app-manifest.yaml'), 'utf8')) as {
    oauth_config: { scopes: { bot: string[] } };
  }
).oauth_config.scopes.bot;

/**
 * Slack reports a token's scopes in the `x-oauth-scopes` header of every Web API answer; the
 * emulator sends none, so this proxy in front of it adds the header with the scopes given.
 */
async function withGrantedScopes(
  emulator: SlackEmulator,
  scopes: string[],
): Promise<{ apiUrl: string; stop: () => Promise<void> }> {
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
        headers[name] = value;
    }
    const upstream = await fetch(`${emulator.baseUrl}${request.url ?? '/'}`, {
      method: request.method ?? 'GET',
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    response.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
      'x-oauth-scopes': scopes.join(','),
    });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('npm run doctor', () => {
  let model: ScriptedModel;
  let slack: SlackEmulator;
  let repo: TestRepo;
  let dataDir: string;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    [model, slack, repo] = await Promise.all([
      new ScriptedModel({ apiKey: modelKey, models: ['test-model'] }).start(),
      startSlackEmulator(),
      createRepo({ files: { 'README.md': '# shop\n' } }),
    ]);
    dataDir = mkdtempSync(join(tmpdir(), 'shipmate-doctor-'));
  });

  afterAll(async () => {
    await Promise.all(stops.map((stop) => stop()));
    await Promise.all([model.stop(), slack.stop(), repo.cleanup()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const modelEnv = () => ({ OPENAI_API_KEY: model.apiKey, OPENAI_BASE_URL: model.baseUrl });

  it('passes a healthy setup and exits 0', async () => {
    const proxy = await withGrantedScopes(slack, manifestScopes);
    stops.push(proxy.stop);
    model.reset();
    model.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'echo ok' } }] });

    const run = await runDoctor(
      {
        ...modelEnv(),
        SHIPMATE_MODEL: 'test-model',
        SHIPMATE_REPO: repo.dir,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: proxy.apiUrl,
      },
      dataDir,
    );

    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(lineOf(run.stdout, 'model')).toMatch(/^✓ model +test-model at 127\.0\.0\.1:\d+: tool calls work/);
    expect(lineOf(run.stdout, 'model')).toContain('context window unknown, assuming 32768');
    expect(lineOf(run.stdout, 'sandbox')).toMatch(/^[✓!] sandbox/);
    expect(lineOf(run.stdout, `repo ${repo.dir.split('/').at(-1)}`)).toMatch(
      /reachable, default branch main/,
    );
    expect(lineOf(run.stdout, 'slack')).toMatch(/^✓ slack .*all \d+ bot scopes granted/);
    expect(run.stdout).not.toContain('✗');
    expect(run.stdout).not.toContain(modelKey);
    expect(run.stdout).not.toContain(slack.botToken);

    // The probe is one small request with one `shell` tool and tool_choice "auto", and no temperature.
    const [request] = model.requests;
    expect(model.requests).toHaveLength(1);
    expect(request?.body.tool_choice).toBe('auto');
    expect(request?.body.tools).toEqual([
      expect.objectContaining({
        type: 'function',
        function: expect.objectContaining({
          name: 'shell',
          parameters: expect.objectContaining({ required: ['command'] }),
        }),
      }),
    ]);
    expect(request?.body.max_tokens).toBeGreaterThan(0);
    expect(request?.body).not.toHaveProperty('temperature');
    expect(request?.headers.authorization).toBe(`Bearer ${modelKey}`);
  });

  it('names vLLM’s flags when the server refuses tool_choice "auto", and exits non-zero', async () => {
    model.reset();
    const vllmMessage =
      '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set';
    model.enqueue({ status: 400, message: vllmMessage });

    const run = await runDoctor(
      { ...modelEnv(), SHIPMATE_MODEL: 'Qwen/Qwen2.5-Coder-32B-Instruct' },
      dataDir,
    );

    expect(run.code).toBe(1);
    expect(lineOf(run.stdout, 'model')).toMatch(/^✗ model .*tool calls refused \(HTTP 400/);
    expect(lineOf(run.stdout, 'model')).toContain(vllmMessage);
    expect(run.stdout).toContain('fix: start vLLM with --enable-auto-tool-choice --tool-call-parser hermes');
    expect(run.stdout).toMatch(/1 blocking problem/);
  });

  it('turns the common model failures into one sentence to act on', async () => {
    const cases: Array<{ env: Record<string, string>; reply?: ScriptedReply; fix: string }> = [
      {
        env: { SHIPMATE_MODEL: 'qwen2.5-coder:7b' },
        reply: { status: 404, message: 'model "qwen2.5-coder:7b" not found, try pulling it first' },
        fix: 'fix: the model is not pulled: run `ollama pull qwen2.5-coder:7b`',
      },
      {
        env: { SHIPMATE_MODEL: 'test-model', OPENAI_BASE_URL: model.baseUrl.replace(/\/v1$/, '') },
        fix: 'fix: OPENAI_BASE_URL probably needs /v1',
      },
      {
        env: { SHIPMATE_MODEL: 'test-model', OPENAI_API_KEY: 'sk-wrong-key-0123456789abcdef' },
        fix: 'fix: the server refused the key: check OPENAI_API_KEY',
      },
      {
        env: { SHIPMATE_MODEL: 'test-model' },
        reply: {
          status: 429,
          message: 'You exceeded your current quota, please check your plan and billing details.',
        },
        fix: 'fix: the account is out of credit',
      },
    ];
    for (const { env, reply, fix } of cases) {
      model.reset();
      if (reply) model.enqueue(reply);
      const run = await runDoctor({ ...modelEnv(), ...env }, dataDir);
      expect(run.code, run.stdout).toBe(1);
      expect(lineOf(run.stdout, 'model')).toMatch(/^✗ model /);
      expect(run.stdout).toContain(fix);
      expect(run.stdout).not.toContain('sk-wrong-key-0123456789abcdef');
    }
  });

  it('asks reasoning models for max_completion_tokens, not max_tokens', async () => {
    model.reset();
    model.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'echo ok' } }] });
    const run = await runDoctor({ ...modelEnv(), SHIPMATE_MODEL: 'gpt-5-mini' }, dataDir);
    expect(lineOf(run.stdout, 'model')).toContain('tool calls work');
    const body = model.lastRequest().body;
    expect(body.max_completion_tokens).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('max_tokens');
    expect(body).not.toHaveProperty('temperature');
  });

  it('says which variables to set when no model is configured', async () => {
    const run = await runDoctor({ SHIPMATE_REPO: repo.dir }, dataDir);

    expect(run.code).toBe(1);
    expect(lineOf(run.stdout, 'model')).toMatch(/^✗ model +no model server configured/);
    expect(run.stdout).toMatch(/fix: set OPENAI_API_KEY .*OPENAI_BASE_URL/);
  });

  it('names the Slack scopes the token lacks', async () => {
    const granted = manifestScopes.filter((scope) => scope !== 'reactions:write' && scope !== 'files:write');
    const proxy = await withGrantedScopes(slack, granted);
    stops.push(proxy.stop);
    model.reset();
    model.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'echo ok' } }] });

    const run = await runDoctor(
      {
        ...modelEnv(),
        SHIPMATE_MODEL: 'test-model',
        SHIPMATE_REPO: repo.dir,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: proxy.apiUrl,
      },
      dataDir,
    );

    expect(run.code).toBe(1);
    expect(lineOf(run.stdout, 'slack')).toMatch(
      /^✗ slack .*missing bot scopes reactions:write, files:write$/,
    );
    expect(run.stdout).toMatch(/fix: add them under OAuth & Permissions/);
  });

  it('reports a rejected Slack token', async () => {
    model.reset();
    model.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'echo ok' } }] });
    const run = await runDoctor(
      {
        ...modelEnv(),
        SHIPMATE_MODEL: 'test-model',
        SLACK_BOT_TOKEN: 'xoxb-not-the-right-token',
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
      },
      dataDir,
    );

    expect(run.code).toBe(1);
    expect(lineOf(run.stdout, 'slack')).toMatch(/^✗ slack +auth\.test: invalid_auth/);
    expect(run.stdout).toContain('SLACK_BOT_TOKEN was rejected');
  });

  it('checks each repository’s branch and GITHUB_TOKEN against the repositories on GitHub', async () => {
    const github = await new GitHubStandIn({ token: 'ghp_doctor0123456789abcdefABCDEF' }).start();
    stops.push(() => github.stop());
    github.addRepo('acme/shop', { defaultBranch: 'main' });
    const configFile = join(dataDir, 'shipmate.yaml');
    writeFileSync(
      configFile,
      [
        'repos:',
        '  - name: shop',
        `    url: "${repo.dir}"`,
        '    defaultBranch: main',
        '    github: acme/shop',
        '  - name: gone',
        `    url: "${repo.dir}"`,
        '    defaultBranch: trunk',
        '    github: acme/gone',
      ].join('\n'),
    );
    model.reset();
    model.enqueue({ toolCalls: [{ name: 'shell', arguments: { command: 'echo ok' } }] });
    const env = {
      ...modelEnv(),
      SHIPMATE_MODEL: 'test-model',
      SHIPMATE_CONFIG: configFile,
      GITHUB_API_URL: github.apiUrl,
    };

    const run = await runDoctor({ ...env, GITHUB_TOKEN: github.token }, dataDir);
    expect(run.code).toBe(1);
    expect(lineOf(run.stdout, 'repo shop')).toMatch(/^✓ repo shop .*reachable, default branch main/);
    expect(lineOf(run.stdout, 'repo gone')).toMatch(/^✗ repo gone .*has no branch "trunk"/);
    expect(run.stdout).toContain("fix: fix defaultBranch for gone (the remote's HEAD is main)");
    expect(lineOf(run.stdout, 'github acme/shop')).toMatch(/^✓ github acme\/shop /);
    expect(lineOf(run.stdout, 'github acme/gone')).toMatch(/^✗ github acme\/gone +HTTP 404/);
    expect(run.stdout).toContain('fix: the token cannot see acme/gone');

    const refused = await runDoctor({ ...env, GITHUB_TOKEN: 'ghp_wrong0123456789abcdefABCDEF' }, dataDir);
    expect(lineOf(refused.stdout, 'github acme/shop')).toMatch(/^✗ github acme\/shop +HTTP 401/);
    expect(refused.stdout).toContain('fix: GitHub rejected the token: check GITHUB_TOKEN');
    expect(refused.stdout).not.toContain('ghp_wrong0123456789abcdefABCDEF');
  });

  it('prints config problems and exits 1 before checking anything', async () => {
    const run = await runDoctor({ SHIPMATE_SANDBOX: 'sometimes' }, dataDir);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ config');
    expect(run.stdout).toContain('SHIPMATE_SANDBOX must be "on" or "off"');
  });
});
