import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineOf, runDoctor } from '../support/doctor-run.js';
import { answerText, Harness, type ModelStandIn } from '../support/harness.js';
import { families as standIns, startFamily } from '../support/model-families/index.js';
import type { RecordedRequest, ScriptedReply } from '../support/scripted-model.js';
import { ScriptedModel } from '../support/scripted-model.js';

/**
 * One scenario against each model server family: a question that needs three commands and
 * one large output, then a follow-up that needs what the first turn found. Each family's
 * stand-in reproduces its server's documented quirks; the app must get the same answers.
 */
interface Family {
  name: string;
  model: string;
  start: () => Promise<ModelStandIn>;
}

const families: Family[] = [
  {
    name: 'a plain OpenAI-compatible server',
    model: 'test-model',
    start: () => new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start(),
  },
  ...standIns.map((entry) => ({
    name: entry.name,
    model: entry.model,
    start: () =>
      startFamily(
        entry.name,
        // vLLM as a team should run it (with its tool parser); the gateway with both quirks on.
        (entry.name === 'vllm'
          ? { toolParser: true }
          : entry.name === 'gateway'
            ? { omitUsage: true, objectArguments: true }
            : {}) as never,
      ),
  })),
];

const bigLog = 'for i in $(seq 1 1400); do echo "checkout log line $i: shipping charged"; done';

/** Text of every message of a request, for finding what the model was shown. */
function shown(request: RecordedRequest): string {
  return JSON.stringify(request.body.messages);
}

function isSummary(request: RecordedRequest): boolean {
  return !request.body.tools && /You keep notes for yourself/.test(shown(request));
}

/** The scripted investigation, decided from what the request already holds (robust to retries). */
function investigator(request: RecordedRequest): ScriptedReply {
  if (isSummary(request))
    return { content: 'Notes: FINDING-42, shipping is added twice in src/shipping.ts:4 (base * 2).' };
  const text = shown(request);
  const results = request.body.messages.filter((message) => message.role === 'tool');
  if (/where is the base price set/.test(text)) {
    return { content: `The base price is set in src/shipping.ts:2; it is what FINDING-42 doubles.` };
  }
  if (results.length === 0)
    return { toolCalls: [{ name: 'shell', arguments: { command: 'rg -n "base" src' } }] };
  if (results.length === 1)
    return { toolCalls: [{ name: 'shell', arguments: { command: 'sed -n 1,5p src/shipping.ts' } }] };
  if (results.length === 2) return { toolCalls: [{ name: 'shell', arguments: { command: bigLog } }] };
  if (results.length === 3) {
    const saved = /saved in (\S+?);/.exec(String(results[2]?.content))?.[1] ?? 'MISSING';
    return { toolCalls: [{ name: 'shell', arguments: { command: `tail -n 2 ${saved}` } }] };
  }
  return {
    content:
      'Shipping is added twice in `src/shipping.ts:4` (FINDING-42): `base * 2` for carts over one item.',
  };
}

/** What the doctor must say of each server (its model line), beside an exit code of 0. */
const doctorSays: Record<string, RegExp> = {
  'a plain OpenAI-compatible server': /^✓ model .*tool calls work; context window unknown, assuming 32768/,
  'openai-reasoning': /^✓ model .*tool calls work/,
  vllm: /^✓ model .*tool calls work; context window \d+ tokens \(vLLM/,
  ollama: /^! model .*tool calls work; context window 4096 tokens \(Ollama.*below the minimum/,
  llamacpp: /^! model .*tool calls work; context window \d+ tokens \(llama\.cpp.*below the minimum/,
  deepseek: /^✓ model .*tool calls work/,
  'text-tools': /^! model .*came back as text/,
  gateway: /^✓ model .*tool calls work; context window 131072 tokens \(\/models context_length/,
};

describe.each(families)('the agent against $name', (family) => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ model: family.start, modelName: family.model });
    h.model.respondWith(investigator);
  });

  afterAll(async () => {
    await h.stop();
  });

  it('gets a report from the doctor that names what the server is', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shipmate-doctor-'));
    const run = await runDoctor(
      {
        OPENAI_BASE_URL: h.model.baseUrl,
        OPENAI_API_KEY: h.model.apiKey,
        SHIPMATE_MODEL: family.model,
        SHIPMATE_REPO: h.repo.dir,
      },
      dataDir,
    );
    rmSync(dataDir, { recursive: true, force: true });
    expect(lineOf(run.stdout, 'model')).toMatch(doctorSays[family.name]!);
    expect(run.code).toBe(0);
  });

  it('investigates with commands, keeps a large output readable, and a follow-up builds on the findings', async () => {
    const { ts } = await h.ask('why does checkout double-charge shipping?');
    const [answer] = await h.waitForAnswers(ts, 1, undefined, 60_000);
    expect(answerText(answer!)).toContain('FINDING-42');
    expect(answerText(answer!)).not.toMatch(/<think>|<tool_call>|reasoning/i);

    const turn = h.model.requests.filter((request) => !isSummary(request));
    const last = turn.at(-1)!;
    const results = last.body.messages
      .filter((message) => message.role === 'tool')
      .map((m) => String(m.content));
    expect(results[0]).toContain('src/shipping.ts:2:  const base = 4.99;');
    // The large output kept head and tail, and said where the whole of it is…
    expect(results[2]).toMatch(/^exit code: 0\nstdout:\ncheckout log line 1: shipping charged/);
    expect(results[2]).toMatch(/saved in \S+shipmate-output\/\S+; search it with rg/);
    expect(results[2]!.length).toBeLessThan(30_000);
    // …and a later command read the saved file in the sandbox.
    expect(results[3]).toContain('checkout log line 1400: shipping charged');

    const before = h.model.requests.length;
    await h.slack.postMessage({
      user: 'U0ALICE',
      channel: 'C0GENERAL',
      threadTs: ts,
      text: 'where is the base price set?',
    });
    const answers = await h.waitForAnswers(ts, 2, undefined, 60_000);
    expect(answerText(answers[1]!)).toContain('src/shipping.ts:2');
    const followUp = h.model.requests.slice(before).find((request) => !isSummary(request))!;
    // The first turn's findings come from the session, not from re-reading Slack.
    expect(shown(followUp)).toContain('FINDING-42');
    expect(String(followUp.body.messages.at(-1)?.content)).not.toContain('why does checkout double-charge');

    // The server refused nothing, and saw every message it was sent (Ollama drops silently).
    for (const request of h.model.requests as Array<
      RecordedRequest & { raw?: unknown; rejected?: unknown }
    >) {
      expect(request.rejected).toBeUndefined();
      if (request.raw)
        expect(request.body.messages).toHaveLength((request.raw as { messages: unknown[] }).messages.length);
    }
    // A server that reports no usage gets shipmate's own count, said to be one.
    if (family.name === 'gateway') expect(JSON.stringify(answer!.blocks)).toContain('(estimated)');
    else expect(JSON.stringify(answer!.blocks)).not.toContain('(estimated)');
  });
});

describe('a vLLM server started without its tool parser', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({
      model: () => startFamily('vllm'),
      modelName: 'Qwen/Qwen2.5-Coder-32B-Instruct',
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('says in the thread which flags vLLM needs, with no Retry that would fail the same way', async () => {
    const { ts } = await h.ask('why does checkout double-charge shipping?');
    const [answer] = await h.waitForAnswers(ts);
    const text = answerText(answer!);
    expect(text).toContain('--enable-auto-tool-choice --tool-call-parser');
    expect(text).toContain('"auto" tool choice requires --enable-auto-tool-choice');
    expect(text).toMatch(/Reference: `[A-Z0-9]+`/);
    expect(JSON.stringify(answer!.blocks)).not.toContain('job_retry');
    // Refused once: a 400 is not retried.
    expect(h.model.requests).toHaveLength(1);
  });
});
