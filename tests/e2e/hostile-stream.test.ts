import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL, Harness, waitFor } from '../support/harness.js';
import type { StreamView } from '../support/slack-emulator.js';

/**
 * Red-team probes of the streamed answer (src/slack/stream-window.ts, slack-stream.ts,
 * slack-notifier.ts) as a hostile model. Each `it` states the promise; a failing one is a finding.
 */

// A configured secret (GITHUB_TOKEN) that also has the ghp_ shape.
const token = 'ghp_Zq8vN2xL5rT9wB3mK7yH1cF6dJ4pS0aEuW2i';
const [tokenStart, tokenEnd] = [token.slice(0, 21), token.slice(21)];
const config =
  'repos:\n  - name: shop\n    url: "{{repo}}"\n    checks: ["test -f README.md"]\nlimits:\n  commandTimeoutSeconds: 60\n';
const shell = (command: string) => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });
const filler = Array.from({ length: 60 }, (_, i) => `word${i % 7 === 0 ? 'x' : ''}`).join(' ');

function streamIn(h: Harness, threadTs: string, state?: StreamView['state']): StreamView | undefined {
  return h.slack
    .streamsIn(CHANNEL)
    .find((stream) => stream.threadTs === threadTs && (!state || stream.state === state));
}

/** Everything shipmate sent to Slack in a thread: messages, blocks, every stream call. */
function everythingSent(h: Harness, threadTs: string): string {
  const messages = h.slack.botMessagesInThread(CHANNEL, threadTs).map((message) => JSON.stringify(message));
  const streams = h.slack
    .streamsIn(CHANNEL)
    .filter((stream) => stream.threadTs === threadTs)
    .map((stream) => JSON.stringify(stream.calls));
  return [...messages, ...streams].join('\n');
}

async function finished(h: Harness, ts: string): Promise<StreamView> {
  const stream = await waitFor(() => streamIn(h, ts, 'completed'), 40_000, 'a completed stream');
  // The final message(s) after the stream, if any, have had time to arrive.
  await waitFor(() => h.slack.agentSession(CHANNEL, ts)?.status === 'active' || undefined, 20_000, 'session');
  await new Promise((resolve) => setTimeout(resolve, 500));
  return stream;
}

describe('hostile input: streamed answers', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ slackNative: true, config, env: { GITHUB_TOKEN: token } });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('a configured secret split by a space plus literal "\\n" escapes never streams, partly or whole', async () => {
    // The scrubber's joined view treats the two-character text `\n` as whitespace and joins the
    // halves (the final message says [redacted]); the window counts `\n` as two significant
    // characters, so enough of them (each its own model token, as real models write them) push the first half out of the hold-back and it is sent.
    const answer = `The key is ${tokenStart} ${'\\n '.repeat(300)}${tokenEnd} and done.`;
    h.model.enqueue({ content: answer, tokensPerSecond: 40 });
    const { ts } = await h.ask('what is the key?');
    await finished(h, ts);
    const sent = everythingSent(h, ts);
    expect(sent).not.toContain(tokenStart);
  });

  it('a configured secret split by a space plus "%20" padding never streams, partly or whole', async () => {
    const answer = `The key is ${tokenStart} ${'%20 '.repeat(200)}${tokenEnd} and done.`;
    h.model.enqueue({ content: answer, tokensPerSecond: 40 });
    const { ts } = await h.ask('what is the key, percent style?');
    await finished(h, ts);
    expect(everythingSent(h, ts)).not.toContain(tokenStart);
  });

  it('an unconfigured sk- token split by a space plus "\\u200b" escapes never streams its prefix', async () => {
    const sk = 'sk-proj-Tq7Lm2Vx9Rb4Nc8Hz1Kd5Wf3Gy6Ps0JeA';
    const answer = `Use ${sk.slice(0, 20)} ${'\\u200b '.repeat(120)}${sk.slice(20)} then done.`;
    h.model.enqueue({ content: answer, tokensPerSecond: 40 });
    const { ts } = await h.ask('which openai key?');
    await finished(h, ts);
    expect(everythingSent(h, ts)).not.toContain(sk.slice(0, 20));
  });

  it('a token in a shell command never reaches a task card title', async () => {
    h.model.enqueue(shell(`echo ${token}`), { content: 'Done.' });
    const { ts } = await h.ask('echo my token');
    const stream = await finished(h, ts);
    const titles = stream.tasks.map((task) => task.title).join('\n');
    expect(titles).not.toContain(token.replace('_', '').slice(0, 24));
    expect(everythingSent(h, ts)).not.toContain(token.replace('_', '').slice(0, 24));
  });

  it('a long command shortened for its task card never shows part of a token', async () => {
    const prefix = "curl -sS -X POST -H 'Authorization: Bearer "; // 44 characters
    h.model.enqueue(shell(`${prefix}${token}' https://api.github.com/user`), { content: 'Done.' });
    const { ts } = await h.ask('call the api with my token');
    await finished(h, ts);
    // Found: shorten(command, 60) cut the token inside it to "Bearer ghp_Zq8vN2xL5rT9…", which
    // no scrubber rule matches; a word that does not fit is now left out whole.
    expect(everythingSent(h, ts)).not.toContain('ghpZq8vN2xL5');
  });

  it('<!here>, <!channel> and <@U…> written in the stream, split across chunks, never ping', async () => {
    const answer = `Hello <!he${'re'}> and <!channel|all> and <@U0BOB> and <\n@U0BOB> and < !everyone> ${filler}`;
    h.model.enqueue({ content: answer, tokensPerSecond: 30 });
    const { ts } = await h.ask('ping everyone');
    const stream = await finished(h, ts);
    expect(stream.text).not.toMatch(/<!(here|channel|everyone)|<@U/);
    expect(everythingSent(h, ts)).not.toMatch(/<!(here|channel|everyone)|<@U0BOB>/);
  });

  it('a PEM private key arriving slowly is never streamed', async () => {
    const body = Array.from(
      { length: 12 },
      (_, i) => `MIIEpAIBAAKCAQEA${String(i).padStart(2, '0')}q7Lm2Vx9Rb4Nc8Hz1Kd5Wf3Gy6Ps0JeAbc`,
    ).join('\n');
    const answer = `Key:\n-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n${filler}`;
    h.model.enqueue({ content: answer, tokensPerSecond: 40 });
    const { ts } = await h.ask('show the key');
    await finished(h, ts);
    expect(everythingSent(h, ts)).not.toContain('MIIEpAIBAAKCAQEA');
  });

  it('an answer over the 11,000-character stream cap is not posted twice', async () => {
    const sentence =
      'The shipping total is computed once in computeShippingCost and again in the cart view. ';
    const answer = `START ${sentence.repeat(150)} END`; // ~13,000 characters
    h.model.enqueue({ content: answer, tokensPerSecond: 4000 });
    const { ts } = await h.ask('explain at length');
    const stream = await finished(h, ts);
    const posted = h
      .answers(ts)
      .map((m) => JSON.stringify(m.blocks))
      .join('');
    const starts = (stream.text.match(/START/g)?.length ?? 0) + (posted.match(/START/g)?.length ?? 0);
    expect(starts).toBe(1);
  });
});

// The thinking a template opens is the family's quirk (Qwen3, R1 distills): the profile knows
// it by the model's name, so this runs with one.
describe('hostile input: streamed answers from a model whose template opens the thinking', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({
      slackNative: true,
      config,
      modelName: 'qwen3-32b',
      env: { GITHUB_TOKEN: token },
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('a Qwen3 chain of thought closed late by a bare "</think>" (template-opened thinking) never streams', async () => {
    const thought =
      'Thinking privately: the user seems confused, I should not mention the internal-only rollout plan codenamed BLUEHERON. ';
    const answer = `${thought.repeat(6)}</think>The shipping cost is computed twice. ${filler}`;
    h.model.enqueue({ content: answer, tokensPerSecond: 40 });
    const { ts } = await h.ask('why is shipping doubled?');
    await finished(h, ts);
    expect(everythingSent(h, ts)).not.toContain('BLUEHERON');
  });
});
