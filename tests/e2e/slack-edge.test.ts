import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess } from '../support/app-process.js';
import { ALICE, answerText, BOB, CHANNEL, Harness, waitFor } from '../support/harness.js';
import { TEST_SIGNING_SECRET } from '../support/slack-emulator.js';

describe('the Slack edge', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start();
  });

  afterAll(async () => {
    await h.stop();
  });

  it('answers a mention in the thread: 👀, a status message with Cancel, then the answer', async () => {
    h.model.enqueue({ content: 'Shipping is charged twice in `src/shipping.ts:4`.' });
    const { ts, deliveries } = await h.ask('why does checkout double-charge shipping?');
    expect(deliveries.map((delivery) => delivery.status)).toEqual([200, 200]);
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toContain('src/shipping.ts:4');
    expect(h.slack.reactionsOn(CHANNEL, ts).map((reaction) => reaction.name)).toContain('eyes');
    const status = h.statusMessages(ts)[0]!;
    const firstStatus = h.slack
      .callsTo('chat.postMessage')
      .find((call) => call.args.ts === undefined && JSON.stringify(call.args).includes('job_cancel'));
    expect(firstStatus).toBeDefined();
    await h.waitForStatus(ts, /Done/);
    expect(status.ts).toBeDefined();
    for (const call of h.slack.callsTo('chat.postMessage')) {
      expect(String(call.args.unfurl_links)).toBe('false');
      expect(String(call.args.unfurl_media)).toBe('false');
    }
  });

  it('creates exactly one job for twin events and Slack retries', async () => {
    h.model.enqueue({ content: 'one answer' });
    const { ts } = await h.ask('what does computeShippingCost return?');
    const event = {
      type: 'app_mention',
      user: ALICE,
      text: `<@${h.slack.botUserId}> what does computeShippingCost return?`,
      ts,
      channel: CHANNEL,
      event_ts: ts,
    };
    const retries = await Promise.all([
      h.slack.deliverEvent(event, { retryNum: 1, retryReason: 'http_timeout' }),
      h.slack.deliverEvent(event, { retryNum: 2, retryReason: 'http_timeout' }),
    ]);
    expect(retries.map((retry) => retry.status)).toEqual([200, 200]);
    await h.waitForAnswers(ts);
    await h.waitForStatus(ts, /Done/);
    expect(h.answers(ts)).toHaveLength(1);
    expect(h.statusMessages(ts)).toHaveLength(1);
  });

  it('rejects forged and stale signatures with 401 and starts nothing', async () => {
    const before = h.slack.calls.length;
    const event = {
      type: 'app_mention',
      user: ALICE,
      text: `<@${h.slack.botUserId}> hi`,
      ts: '1999999999.000100',
      channel: CHANNEL,
    };
    const forged = await h.slack.deliverEvent(event, { signingSecret: 'not-the-secret' });
    const stale = await h.slack.deliverEvent(event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(forged.status).toBe(401);
    expect(stale.status).toBe(401);
    expect(h.slack.calls.slice(before).filter((call) => call.method !== 'auth.test')).toEqual([]);
  });

  it('answers a malformed body with 400 and a log line', async () => {
    const result = await h.slack.deliverEvent({}, { rawBody: '{"type": "event_callback", "event": ' });
    expect(result.status).toBe(400);
    await h.app.waitForLog((line) => /Malformed request body/i.test(line.msg));
  });

  it('ignores its own messages, other bots, edits and joins', async () => {
    const before = h.model.requests.length;
    const { ts } = await h.ask('say hi');
    h.model.enqueue({ content: 'hi' });
    await h.waitForAnswers(ts);
    const inThread = { channel: CHANNEL, threadTs: ts };
    await h.slack.postMessage({ user: ALICE, ...inThread, text: 'edited', subtype: 'message_changed' });
    await h.slack.postMessage({ user: ALICE, ...inThread, text: 'joined', subtype: 'channel_join' });
    await h.slack.postMessage({ user: 'U0OTHERBOT', ...inThread, text: 'beep', botId: 'B0OTHER' });
    await h.slack.postMessage({
      user: h.slack.botUserId,
      ...inThread,
      text: 'my own words',
      botId: h.slack.botId,
    });
    const healthz = (await (await fetch(`${h.app.baseUrl}/healthz`)).json()) as {
      jobs: { queued: number; running: number };
    };
    expect(healthz.jobs.queued + healthz.jobs.running).toBe(0);
    expect(h.model.requests.length).toBe(before + 1);
    expect(h.answers(ts)).toHaveLength(1);
  });

  it('continues a thread without a new mention, from anyone, until told to be quiet', async () => {
    h.model.enqueue({ content: 'first answer' });
    const { ts } = await h.ask('where is shipping computed?');
    await h.waitForAnswers(ts, 1);
    h.model.enqueue({ content: 'second answer, for bob' });
    await h.slack.postMessage({ user: BOB, channel: CHANNEL, threadTs: ts, text: 'and who calls it?' });
    const answers = await h.waitForAnswers(ts, 2);
    expect(answerText(answers[1]!)).toContain('second answer');
    const secondRequest = h.model.lastRequest();
    expect(JSON.stringify(secondRequest.body.messages)).toContain('first answer');

    await h.ask('quiet', { threadTs: ts });
    await waitFor(
      () =>
        h.slack
          .botMessagesInThread(CHANNEL, ts)
          .some((m) => /only answer in this thread when someone mentions me/.test(JSON.stringify(m))),
      10_000,
    );
    const requestsBefore = h.model.requests.length;
    await h.slack.postMessage({ user: BOB, channel: CHANNEL, threadTs: ts, text: 'anyone?' });
    h.model.enqueue({ content: 'mentioned again' });
    await h.ask('one more thing', { threadTs: ts });
    await h.waitForAnswers(ts, 4);
    expect(h.model.requests.length).toBe(requestsBefore + 1);
  });

  it('works in a direct message like a mention', async () => {
    h.model.enqueue({ content: 'answer in DM' });
    const { ts } = await h.slack.directMessage({ user: ALICE, text: 'what is in src?' });
    const channel = h.slack.directChannelId(ALICE);
    const [answer] = await h.waitForAnswers(ts, 1, channel);
    expect(answerText(answer!)).toContain('answer in DM');
    expect(h.slack.assistantStatus(channel, ts)).toBeDefined();
  });

  it('acknowledges a reply while a job runs and handles it right after, with the new message in context', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.model.respondWith(async (request) => {
      if (JSON.stringify(request.body.messages).includes('slow question')) await gate;
      return { content: `answered: ${request.body.messages.length}` };
    });
    const { ts } = await h.ask('slow question');
    await h.waitForStatus(ts, /Looking into it|Reading|Thinking/);
    const reply = await h.slack.postMessage({
      user: BOB,
      channel: CHANNEL,
      threadTs: ts,
      text: 'also check the tax rules',
    });
    await waitFor(
      () => h.slack.reactionsOn(CHANNEL, reply.ts).some((reaction) => reaction.name === 'eyes'),
      10_000,
    );
    release?.();
    const answers = await h.waitForAnswers(ts, 2);
    expect(answers).toHaveLength(2);
    expect(JSON.stringify(h.model.lastRequest().body.messages)).toContain('also check the tax rules');
    h.model.respondWith(undefined);
  });

  it('stops a running job when Cancel is clicked', async () => {
    h.model.enqueue({ hang: true });
    const requestsBefore = h.model.requests.length;
    const { ts } = await h.ask('a question that takes forever');
    await h.model.waitForRequests(requestsBefore + 1, 20_000);
    const status = await h.waitForStatus(ts, /Looking into it|Reading|Thinking/);
    const click = await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: status.ts,
      actionId: 'job_cancel',
    });
    expect(click.status).toBe(200);
    await h.waitForStatus(ts, /Cancelled/);
    expect(h.answers(ts)).toHaveLength(0);
  });

  it('honours Retry-After when Slack rate limits status updates, and still finishes the job', async () => {
    h.slack.injectRateLimit('chat.update', { times: 2, retryAfterSeconds: 1 });
    h.model.enqueue({ content: 'answered despite the rate limit' });
    const { ts } = await h.ask('is the rate limit handled?');
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toContain('answered despite the rate limit');
    await h.waitForStatus(ts, /Done/);
    await h.app.waitForLog((line) => line.msg === 'slack-rate-limited' && line.retryAfterSeconds === 1);
  });

  it('sends a very long answer as a file with a short summary in the thread', async () => {
    h.model.enqueue({ content: `Summary: it is long.\n\n${'A line of the long answer.\n'.repeat(2_500)}` });
    const { ts } = await h.ask('explain everything in detail');
    await waitFor(() => h.slack.callsTo('files.completeUploadExternal').length > 0, 20_000);
    const [summary] = await h.waitForAnswers(ts);
    expect(answerText(summary!)).toContain('answer.md');
    const upload = h.slack.callsTo('files.completeUploadExternal').at(-1)!;
    expect(upload.args.thread_ts).toBe(ts);
  });

  it('tells the thread plainly when the model is down, with a reference id that is in the logs', async () => {
    h.model.enqueue({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const { ts } = await h.ask('why is the sky blue?');
    const [failure] = await h.waitForAnswers(ts, 1, CHANNEL, 40_000);
    const text = answerText(failure!);
    expect(text).toMatch(/could not get an answer from the model service/);
    expect(text).toMatch(/Retry/);
    expect(text).not.toMatch(/at .*\.js:\d+/);
    const reference = /Reference: `([A-Z0-9]+)`/.exec(text)?.[1];
    expect(reference).toBeDefined();
    await h.app.waitForLog((line) => line.referenceId === reference);
  });
});

describe('start-up', () => {
  it('exits non-zero with one line naming the variable when a token is missing', async () => {
    const app = new AppProcess({ SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET });
    await expect(app.start()).rejects.toThrow(/SLACK_BOT_TOKEN is not set/);
    expect(await app.exitCode()).not.toBe(0);
    app.cleanup();
  });

  it('names the key and the file for a bad config file', async () => {
    const app = new AppProcess({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SHIPMATE_CONFIG: '/nonexistent/shipmate.yaml',
    });
    await expect(app.start()).rejects.toThrow(/SHIPMATE_CONFIG: cannot read \/nonexistent\/shipmate.yaml/);
    app.cleanup();
  });
});
