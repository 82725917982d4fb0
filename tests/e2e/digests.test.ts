import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerText, CHANNEL, Harness, waitFor } from '../support/harness.js';

describe('channel digests', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({
      config: 'repos:\n  - name: shop\n    url: "{{repo}}"\n    channels: [C0GENERAL]\n',
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('posts a digest now as a channel message with the answered questions, and shows the schedule', async () => {
    h.model.enqueue({ content: 'Shipping is doubled in `src/shipping.ts:4`.' });
    const question = await h.ask('why does checkout double-charge shipping?');
    await h.waitForAnswers(question.ts);
    await h.slack.postMessage({
      user: 'U0BOB',
      channel: CHANNEL,
      text: 'we should fix shipping before Friday',
    });
    h.model.enqueue({ content: 'The team discussed fixing shipping before Friday.' });

    const command = await h.ask('digest now');
    const digest = await waitFor(
      () =>
        h.slack
          .messagesIn(CHANNEL)
          .find(
            (message) =>
              message.bot_id &&
              !message.thread_ts &&
              JSON.stringify(message.blocks).includes('why does checkout'),
          ),
      30_000,
      'a top-level digest message',
    );
    const text = JSON.stringify(digest.blocks);
    expect(text).toContain('emulated.slack.local/archives');
    expect(text).toMatch(/generated/i);
    await h.waitForAnswers(command.ts);

    const schedule = await h.ask('digest daily 09:00 Europe/Berlin');
    const [reply] = await h.waitForAnswers(schedule.ts);
    expect(answerText(reply!)).toMatch(/09:00/);
    const show = await h.ask('digest');
    const [shown] = await h.waitForAnswers(show.ts);
    expect(answerText(shown!)).toMatch(/Europe\/Berlin/);
  });

  it('answers a schedule it cannot read with a helpful example', async () => {
    const { ts } = await h.ask('digest sometimes maybe');
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toMatch(/could not read that schedule.*digest daily 09:00 Europe\/Berlin/s);
  });
});
