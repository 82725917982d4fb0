import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { SlackThreadHistory } from '../../src/slack/slack-thread-history.js';
import { ALICE, CHANNEL, Harness, waitFor } from '../support/harness.js';
import { type StreamView, TEST_BOT_TOKEN } from '../support/slack-emulator.js';

/**
 * Slack's agent surface end to end through dist/main.js: task cards and a streamed answer in
 * one message (chat.startStream / appendStream / stopStream), the thread's agent session
 * (agents.sessions.setStatus) and its native Stop (agent_session_stopped), and the fallback
 * for a workspace without them. Docs: docs.slack.dev/ai/agent-sessions and
 * docs.slack.dev/messaging/sending-and-scheduling-messages#text-streaming.
 */

const token = 'ghp_Zq8vN2xL5rT9wB3mK7yH1cF6dJ4pS0aEuW2i';
const [tokenStart, tokenEnd] = [token.slice(0, 19), token.slice(19)];
const config =
  'repos:\n  - name: shop\n    url: "{{repo}}"\n    checks: ["test -f README.md"]\nlimits:\n  commandTimeoutSeconds: 60\n';
const shell = (command: string) => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });
const sentence =
  'The shipping total is computed once in computeShippingCost and again when the cart is rendered, so the customer sees it twice.';
const longAnswer = Array.from({ length: 24 }, () => sentence).join(' ');

function streamIn(h: Harness, threadTs: string, state?: StreamView['state']): StreamView | undefined {
  return h.slack
    .streamsIn(CHANNEL)
    .find((stream) => stream.threadTs === threadTs && (!state || stream.state === state));
}

/** Everything shipmate sent to Slack in a thread, as text: messages, blocks, stream calls. */
function everythingSent(h: Harness, threadTs: string): string {
  const messages = h.slack.botMessagesInThread(CHANNEL, threadTs).map((message) => JSON.stringify(message));
  const streams = h.slack
    .streamsIn(CHANNEL)
    .filter((stream) => stream.threadTs === threadTs)
    .map((stream) => JSON.stringify(stream.calls));
  return [...messages, ...streams].join('\n');
}

describe('in a workspace with streaming and agent sessions', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ slackNative: true, config, env: { GITHUB_TOKEN: token } });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('shows each step as a task card, in order, and streams the answer into the same message', async () => {
    h.model.enqueue(shell('rg -n computeShippingCost'), { content: longAnswer, tokensPerSecond: 150 });
    const { ts } = await h.ask('why does checkout show shipping twice?');
    const stream = await waitFor(() => streamIn(h, ts, 'completed'), 30_000, 'a completed stream');

    expect(stream.tasks.map((task) => task.title)).toEqual([
      'Looking into it…',
      'Preparing a fresh checkout…',
      'Reading the code…',
      'Searching for computeShippingCost…',
    ]);
    // A step that ends between two sends is only ever seen complete (the view is coalesced).
    for (const task of stream.tasks) expect(task.statusHistory.at(-1)).toBe('complete');
    expect(stream.plan?.title).toContain('question about shop');
    const textAppends = stream.calls.filter(
      (call) =>
        call.method === 'chat.appendStream' && call.chunks.some((chunk) => chunk.type === 'markdown_text'),
    );
    expect(textAppends.length).toBeGreaterThanOrEqual(3);
    expect(stream.text.replace(/\s+/g, ' ')).toContain(longAnswer);
    // The usage line and the buttons end the streamed message: no second message carries the answer.
    expect(JSON.stringify(stream.finalBlocks)).toMatch(/test-model · 2 steps/);
    expect(h.answers(ts)).toHaveLength(0);

    const session = h.slack.agentSession(CHANNEL, ts);
    expect(session?.status).toBe('active');
    expect(session?.statusHistory[0]).toBe('processing');
    expect(session?.title).toBe('why does checkout show shipping twice?');
  });

  it('shows a change request under its plan title, with the checks and the review as task cards', async () => {
    h.model.enqueue(
      {
        toolCalls: [
          { name: 'edit_file', arguments: { path: 'README.md', old_text: '# shop', new_text: '# The shop' } },
        ],
      },
      { content: 'Renamed the heading.' },
    );
    const { ts } = await h.ask('fix the heading in the README');
    const stream = await waitFor(() => streamIn(h, ts, 'completed'), 30_000, 'a completed stream');
    expect(stream.plan?.title).toContain('change request about shop');
    const titles = stream.tasks.map((task) => task.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Editing README.md…',
        'Running the checks (test -f README.md)…',
        'Reviewing the change…',
      ]),
    );
    expect(titles.indexOf('Editing README.md…')).toBeLessThan(titles.indexOf('Reviewing the change…'));
    expect(stream.tasks.find((task) => task.title.startsWith('Running the checks'))?.details).toBe(
      '1 passed',
    );
    // The summary with its diff and buttons is a message of its own, after the stream.
    const [summary] = await h.waitForAnswers(ts);
    expect(JSON.stringify(summary!.blocks)).toContain('README.md');
  });

  it('never sends a token the model writes across two chunks, in any form', async () => {
    const answer = `${longAnswer.slice(0, 400)} The deploy key in .env is ${tokenStart} ${tokenEnd} and ${longAnswer.slice(0, 600)}`;
    h.model.enqueue({ content: answer, tokensPerSecond: 200 });
    const { ts } = await h.ask('what is in the env file?');
    const stream = await waitFor(() => streamIn(h, ts, 'completed'), 30_000, 'a completed stream');
    expect(stream.text).toContain('[redacted]');
    const sent = everythingSent(h, ts);
    for (let start = 0; start + 6 <= token.length; start += 1) {
      expect(sent).not.toContain(token.slice(start, start + 6));
    }
  });

  it('stops the running job when someone presses the native Stop, and leaves processing', async () => {
    h.model.enqueue(shell('sleep 45; echo finished'), { content: 'never reached' });
    const { ts } = await h.ask('run the slow thing');
    await waitFor(
      () =>
        streamIn(h, ts)?.tasks.find(
          (task) => task.title.startsWith('Running sleep') && task.status === 'in_progress',
        ),
      30_000,
      'the sleep running',
    );
    expect(h.slack.agentSession(CHANNEL, ts)?.status).toBe('processing');
    const requestsBefore = h.model.requests.length;
    await h.slack.clickStop(CHANNEL, ts, ALICE);
    await waitFor(
      () => h.slack.agentSession(CHANNEL, ts)?.status === 'active',
      20_000,
      'the session out of processing',
    );
    const said = await waitFor(
      () =>
        h.slack
          .botMessagesInThread(CHANNEL, ts)
          .find((message) => /Stopping…|Cancelled\./.test(message.text)),
      20_000,
      'the cancel sentence',
    );
    expect(said.text).toMatch(/Stopping…|Cancelled\./);
    expect(streamIn(h, ts)?.stoppedBy).toBe('user');
    // The model was not asked again: the job ended at the Stop, not after the command.
    expect(h.model.requests.length).toBe(requestsBefore);
  });
});

describe('in a workspace that refuses streaming and agent sessions', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ slack: { agentRefusal: { kind: 'older-workspace' } }, config });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('falls back to a status message and a final post, warning once, losing nothing', async () => {
    h.model.enqueue({ content: longAnswer.slice(0, 500) }, { content: 'Second answer, the same way.' });
    const first = await h.ask('why does checkout show shipping twice?');
    const [answer] = await h.waitForAnswers(first.ts);
    expect(JSON.stringify(answer!.blocks)).toContain(longAnswer.slice(0, 120));
    await h.waitForStatus(first.ts, /Done/);
    const second = await h.ask('and again?');
    await h.waitForAnswers(second.ts);
    expect(h.slack.streamsIn(CHANNEL)).toHaveLength(0);
    for (const ts of [first.ts, second.ts]) {
      expect(h.answers(ts)).toHaveLength(1);
    }
    const log = h.app!.allOutput();
    expect(log.match(/streaming-unavailable/g)).toHaveLength(1);
    expect(log.match(/agent-sessions-unavailable/g)).toHaveLength(1);
  });
});

describe('reading a streamed answer back from Slack', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ slackNative: true, config });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('gives the answer text (not its task cards) to the thread reader, as Slack stores it', async () => {
    h.model.enqueue(shell('rg -n computeShippingCost'), { content: longAnswer.slice(0, 600) });
    const { ts } = await h.ask('why does checkout show shipping twice?');
    await waitFor(() => streamIn(h, ts, 'completed'), 30_000, 'a completed stream');
    const history = new SlackThreadHistory(
      new WebClient(TEST_BOT_TOKEN, { slackApiUrl: h.slack.apiUrl }),
      () => h.slack.botUserId,
      createLogger({ level: 'silent' }),
    );
    const messages = await history.fetch(CHANNEL, ts);
    const answer = messages.find((message) => message.kind === 'shipmate');
    expect(answer?.text.replace(/\s+/g, ' ')).toContain(longAnswer.slice(0, 300).replace(/\s+/g, ' '));
    expect(answer?.text).not.toContain('Preparing a fresh checkout');
  });
});

describe('a job that waits for a person, in a workspace with streaming', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({
      slackNative: true,
      config: 'repos:\n  - name: shop\n    url: "{{repo}}"\naccess:\n  writers: [U0ALICE]\n',
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('is suspended with its question and buttons, and continues in a new stream when allowed', async () => {
    const host = '203.0.113.7:8080';
    h.model.enqueue(
      {
        toolCalls: [
          { name: 'request_network_access', arguments: { domain: host, reason: 'the price list' } },
        ],
      },
      { content: 'I need the price list.' },
    );
    const { ts } = await h.ask('what does the price list say?');
    const first = await waitFor(() => streamIn(h, ts, 'completed'), 30_000, 'the first stream ended');
    await waitFor(() => h.slack.agentSession(CHANNEL, ts)?.status === 'suspended', 20_000, 'suspended');
    // The Allow buttons sit under the ended stream, where the status message had them.
    expect(JSON.stringify(first.finalBlocks)).toContain('perm_once');

    h.model.enqueue({ content: 'The price list says 4.99.' });
    await h.slack.clickButton({ user: ALICE, channel: CHANNEL, messageTs: first.ts, actionId: 'perm_once' });
    const second = await waitFor(
      () =>
        h.slack
          .streamsIn(CHANNEL)
          .find((s) => s.threadTs === ts && s.ts !== first.ts && s.state === 'completed'),
      30_000,
      'a second stream',
    );
    expect(second.text).toContain('The price list says 4.99.');
    await waitFor(() => h.slack.agentSession(CHANNEL, ts)?.status === 'active', 20_000, 'active again');
    expect(h.slack.agentSession(CHANNEL, ts)?.statusHistory).toEqual(
      expect.arrayContaining(['processing', 'suspended', 'active']),
    );
  });
});
