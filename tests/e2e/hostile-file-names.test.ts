import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, answerText, BOB, CHANNEL, Harness } from '../support/harness.js';
import { shareAndSettle } from '../support/shared-files.js';

/**
 * Red-team probes of files shared in a thread (src/slack/slack-files.ts, src/agent/attachments.ts)
 * as a hostile thread member. A failing `it` is a finding.
 */
describe('hostile input: files shared in a thread', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start();
  });

  afterAll(async () => {
    await h.stop();
  });

  it('a file name cannot put a Markdown link (phishing) into shipmate’s own reply', async () => {
    h.model.enqueue({ content: 'I looked at the thread.' });
    const job = await shareAndSettle(h, {
      user: BOB,
      channel: CHANNEL,
      text: 'what is in this?',
      files: [
        {
          name: '[Your shipmate session expired - sign in again](https://evil.example/login).bin',
          content: Buffer.from([0, 1, 2, 3]),
          mimetype: 'application/octet-stream',
        },
      ],
    });
    const text = job.answers.map(answerText).join('\n');
    const streamed = h.slack
      .streamsIn(CHANNEL)
      .filter((stream) => stream.threadTs === job.threadTs)
      .map((stream) => JSON.stringify(stream.calls))
      .join('\n');
    expect(`${text}\n${streamed}`).not.toContain('](https://evil.example/login)');
  });

  it('a download link off Slack is refused and the bot token goes nowhere else', async () => {
    h.model.enqueue({ content: 'ok' });
    const job = await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'read this',
      files: [{ name: 'notes.txt', content: 'hello', downloadUrl: 'http://127.0.0.1:9/steal' }],
    });
    const text = job.answers.map(answerText).join('\n');
    const streamed = JSON.stringify(
      h.slack
        .streamsIn(CHANNEL)
        .filter((s) => s.threadTs === job.threadTs)
        .map((s) => s.calls),
    );
    expect(`${text}${streamed}`).toMatch(/does not point to Slack/);
  });
});
