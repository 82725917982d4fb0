import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerText, Harness } from '../support/harness.js';

describe('Socket Mode', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ socketMode: true });
  });

  afterAll(async () => {
    await h.stop();
  });

  it('serves /healthz on PORT and answers a mention delivered over the socket', async () => {
    const health = await fetch(`${h.app.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { mode: string }).mode).toBe('socket');
    h.model.enqueue({ content: 'answered over Socket Mode' });
    const { ts, deliveries } = await h.ask('does socket mode work?');
    expect(deliveries.every((delivery) => delivery.status === 200)).toBe(true);
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toContain('answered over Socket Mode');
    expect(h.slack.callsTo('apps.connections.open').length).toBeGreaterThan(0);
  });
});
