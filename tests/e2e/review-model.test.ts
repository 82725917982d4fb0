import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, answerText, Harness } from '../support/harness.js';
import { ScriptedModel } from '../support/scripted-model.js';

const reviewKey = 'sk-review-server-key-0123456789abcdef';

// A second opinion: the review of a change runs on another model, on another server.
describe('a reviewer from another model', () => {
  let h: Harness;
  const reviewer = new ScriptedModel({ apiKey: reviewKey });

  beforeAll(async () => {
    await reviewer.start();
    h = await Harness.start({
      env: { SHIPMATE_REVIEW_API_KEY: reviewKey },
      config: [
        'repos:',
        '  - name: shop',
        '    url: "{{repo}}"',
        '    defaultBranch: main',
        'access:',
        `  writers: [${ALICE}]`,
        'review:',
        '  model: deepseek-chat',
        '  baseUrl: "{{review}}"',
      ].join('\n'),
      beforeLaunch: async () => ({ review: reviewer.baseUrl }),
    });
  });

  afterAll(async () => {
    await h.stop();
    await reviewer.stop();
  });

  it('reviews the diff on the other server with its own key, and the usage line counts both', async () => {
    reviewer.enqueue({
      content: '- The change turns the shipping test into a no-op.',
      usage: { prompt_tokens: 321, completion_tokens: 12 },
    });
    h.model.enqueue(
      {
        toolCalls: [
          {
            name: 'edit_file',
            arguments: { path: 'src/shipping.ts', old_text: 'base * 2', new_text: 'base' },
          },
        ],
      },
      { content: 'Shipping is now added once.' },
    );
    const { ts } = await h.ask('fix the double shipping charge');
    const [summary] = await h.waitForAnswers(ts);
    expect(answerText(summary!)).toContain('Reviewer: The change turns the shipping test into a no-op.');
    const footer = JSON.stringify(summary!.blocks);
    expect(footer).toMatch(/test-model · 2 steps · [\d,]+ in \/ [\d,]+ out tokens/);
    expect(footer).toContain('review by deepseek-chat: 321 in / 12 out tokens');

    expect(reviewer.requests).toHaveLength(1);
    const review = reviewer.lastRequest();
    expect(review.body.model).toBe('deepseek-chat');
    expect(review.headers.authorization).toBe(`Bearer ${reviewKey}`);
    expect(JSON.stringify(review.body.messages)).toContain('-  return items > 1 ? base * 2 : base;');
    // The answering model's key never goes to the other server, and the answering model did no review.
    expect(JSON.stringify(review.headers)).not.toContain(h.model.apiKey);
    expect(h.model.requests.every((request) => request.body.tools !== undefined)).toBe(true);
  });
});
