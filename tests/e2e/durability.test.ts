import { afterEach, describe, expect, it } from 'vitest';
import { answerText, CHANNEL, Harness, waitFor } from '../support/harness.js';
import { instantResponder } from '../support/scripted-model.js';

describe('durable jobs', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('retries a job that was running when the process was killed (kill -9)', async () => {
    h = await Harness.start();
    h.model.enqueue({ hang: true });
    const { ts } = await h.ask('why does checkout double-charge shipping?');
    await h.model.waitForRequests(1, 20_000);
    await h.app.crash();
    h.model.respondWith(instantResponder('Recovered answer after the restart.'));
    await h.launch();
    const [answer] = await h.waitForAnswers(ts);
    expect(answerText(answer!)).toContain('Recovered answer');
    await h.app.waitForLog((line) => line.msg === 'job-recovered');
  });

  it('reports a job as interrupted when it crashed on its last attempt', async () => {
    h = await Harness.start();
    h.model.respondWith(() => ({ hang: true }));
    const { ts } = await h.ask('a question that crashes twice');
    await h.model.waitForRequests(1, 20_000);
    await h.crashAndRestart();
    await h.model.waitForRequests(2, 20_000);
    await h.crashAndRestart();
    const [notice] = await h.waitForAnswers(ts);
    expect(answerText(notice!)).toMatch(/restarted while working on this/);
    expect(JSON.stringify(notice!.blocks)).toContain('job_retry');
  });

  it('drains on SIGTERM: a running job finishes within the grace period before exit', async () => {
    h = await Harness.start();
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.model.respondWith(async () => {
      await gate;
      return { content: 'finished during the drain' };
    });
    const { ts } = await h.ask('finish me during shutdown');
    await h.model.waitForRequests(1, 20_000);
    const exited = h.app.stop();
    await h.app.waitForLog((line) => line.msg === 'shutdown-started');
    release?.();
    expect(await exited).toBe(0);
    expect(answerText(h.answers(ts)[0]!)).toContain('finished during the drain');
  });

  it('acks a burst of 100 mentions at once, tells queued people their place, and answers all in order', async () => {
    h = await Harness.start({ env: { SHIPMATE_CONCURRENCY: '2' } });
    h.model.respondWith(instantResponder('burst answer'));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        h!.slack.mention({ user: 'U0BOB', channel: CHANNEL, text: `question ${i}`, onlyAppMention: true }),
      ),
    );
    expect(results.every((result) => result.deliveries.every((delivery) => delivery.status === 200))).toBe(
      true,
    );
    for (const result of results) await h.waitForAnswers(result.ts, 1, CHANNEL, 120_000);
    const queuedNotices = h.slack
      .callsTo('chat.postMessage')
      .filter((call) => /requests? ahead of you/.test(String(call.args.text)));
    expect(queuedNotices.length).toBeGreaterThan(0);
    const ours = new Set(results.map((result) => result.ts));
    const queuedOrder = h.app.logs
      .filter((line) => line.msg === 'job-queued' && ours.has(String(line.threadTs)))
      .map((line) => String(line.jobId));
    const startOrder = h.app.logs
      .filter((line) => line.msg === 'job-claimed')
      .map((line) => String(line.jobId));
    expect(queuedOrder).toHaveLength(100);
    expect(startOrder.filter((id) => queuedOrder.includes(id))).toEqual(queuedOrder);
    await waitFor(() => h!.app.logs.filter((line) => line.msg === 'job-succeeded').length >= 100, 20_000);
  }, 180_000);
});
