import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/app-process.js';
import { postgresAdminUrl } from '../support/backends.js';
import { Cluster } from '../support/cluster.js';
import { Harness } from '../support/harness.js';
import { createTestDatabase, type PostgresCluster, startPostgresCluster } from '../support/postgres.js';
import { allMessagesText, type RecordedRequest, ScriptedModel } from '../support/scripted-model.js';

/**
 * Several shipmate processes on one PostgreSQL (#14), through the real entry point: the
 * guarantees a team relies on when it runs N processes behind a load balancer.
 */
const describePostgres = postgresAdminUrl() ? describe : describe.skip; // only without server binaries (never in CI)

/** The question's tag ("q17") in the newest user message of a request. */
function tagOf(request: RecordedRequest): string {
  const users = request.body.messages.filter((message) => message.role === 'user');
  const text = JSON.stringify(users.at(-1)?.content ?? '');
  return /\b(q\d+)\b/.exec(text)?.[1] ?? 'untagged';
}

const answerFor = (request: RecordedRequest) => ({ content: `The answer to ${tagOf(request)}.` });

describePostgres('several processes on one PostgreSQL', () => {
  let cluster: Cluster | undefined;
  let server: PostgresCluster | undefined;
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    await cluster?.stop();
    server?.stop();
    cluster = undefined;
    server = undefined;
  });

  it('answers a burst of 100 mentions spread over three processes exactly once, retries and twins included', async () => {
    const model = await new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start();
    model.respondWith(answerFor);
    cluster = await Cluster.start({ processes: 3, adminUrl: postgresAdminUrl(), model });
    const c = cluster;
    const asked = await Promise.all(
      Array.from({ length: 100 }, async (_, index) => {
        const text = `what does q${index} do?`;
        const { ts, deliveries } = await c.ask(text);
        // Slack retries when it did not see the ack in time; the retry may reach any process.
        const retry = index % 4 === 0 ? await c.retry(ts, 1) : undefined;
        return {
          ts,
          tag: `q${index}`,
          statuses: [...deliveries, ...(retry ? [retry] : [])].map((d) => d.status),
        };
      }),
    );
    expect(asked.flatMap((question) => question.statuses).every((status) => status === 200)).toBe(true);
    for (const question of asked) {
      const answers = await c.waitForAnswers(question.ts, 1, 120_000);
      expect(answers.map((answer) => answer.text)).toEqual([
        expect.stringContaining(`The answer to ${question.tag}.`),
      ]);
    }
    // Every process took part, and no question reached the model twice.
    const claimed = c.live.map((app) => app.logs.filter((line) => line.msg === 'job-claimed').length);
    expect(claimed.every((count) => count > 0)).toBe(true);
    expect(claimed.reduce((sum, count) => sum + count, 0)).toBe(100);
    const asks = model.requests.map(tagOf).filter((tag) => tag !== 'untagged');
    expect(new Set(asks).size).toBe(100);
    for (const question of asked) expect(c.answers(question.ts)).toHaveLength(1);
  }, 240_000);

  it('finishes the job of a process killed with kill -9 on another, after its lease expires', async () => {
    const model = await new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start();
    let first = true;
    model.respondWith((request) => {
      if (tagOf(request) === 'q1' && first) {
        first = false;
        return { hang: true };
      }
      return answerFor(request);
    });
    cluster = await Cluster.start({
      processes: 2,
      adminUrl: postgresAdminUrl(),
      model,
      env: { SHIPMATE_LEASE_SECONDS: '3' },
    });
    const c = cluster;
    const { ts } = await c.ask('why is q1 slow?');
    const holder = await waitFor(() => c.processRunning(ts), 30_000, 'a process to claim the job');
    await waitFor(() => model.requests.some((request) => tagOf(request) === 'q1'), 30_000, 'the model call');
    await c.kill(holder);
    const answers = await c.waitForAnswers(ts, 1, 60_000);
    expect(answers[0]?.text).toContain('The answer to q1.');
    const survivor = c.live[0];
    expect(survivor?.logs.some((line) => line.msg === 'job-recovered')).toBe(true);
    expect(c.answers(ts)).toHaveLength(1);
  }, 180_000);

  it('continues a thread on another process with its session and uncommitted change', async () => {
    const model = await new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start();
    model.respondWith((request) => {
      const tag = tagOf(request);
      const lastUser = request.body.messages.map((message) => message.role).lastIndexOf('user');
      const toolResultsThisTurn = request.body.messages
        .slice(lastUser)
        .filter((m) => m.role === 'tool').length;
      if (toolResultsThisTurn > 0) return answerFor(request);
      const command =
        tag === 'q1'
          ? "printf 'draft notes for q1\\n' > NOTES.md && echo written"
          : 'cat NOTES.md; git status --short';
      return { toolCalls: [{ name: 'shell', arguments: { command } }] };
    });
    cluster = await Cluster.start({ processes: 2, adminUrl: postgresAdminUrl(), model });
    const c = cluster;
    const { ts } = await c.ask('please write notes for q1');
    await c.waitForAnswers(ts, 1);
    const first = await waitFor(() => c.processRunning(ts), 10_000, 'the first process');
    // The first process goes away (a deploy); the follow-up lands on the other one.
    await first.stop();
    c.apps[c.apps.indexOf(first)] = undefined;
    await c.ask('now q2: what is in the notes?', { threadTs: ts });
    await c.waitForAnswers(ts, 2);
    const followUp = model.requests.filter((request) => tagOf(request) === 'q2');
    const last = followUp.at(-1);
    expect(last).toBeDefined();
    const text = allMessagesText(last as RecordedRequest);
    // The session: the first turn's question and tool call are in the follow-up's conversation.
    expect(text).toContain('please write notes for q1');
    expect(text).toContain("printf 'draft notes for q1");
    // The uncommitted change: the file the first process wrote is there, still uncommitted.
    expect(text).toContain('draft notes for q1');
    expect(text).toMatch(/\?\? NOTES\.md/);
  }, 180_000);

  it('does not acknowledge a mention it could not store, and answers the retry once the database is back', async () => {
    server = await startPostgresCluster();
    const model = await new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start();
    model.respondWith(answerFor);
    cluster = await Cluster.start({ processes: 1, adminUrl: server.url, model });
    const c = cluster;
    server.pause();
    const text = 'what does q1 do?';
    const { ts, deliveries } = await c.ask(text);
    // No ack: Slack only retries a delivery that did not get a 2xx
    // (https://docs.slack.dev/apis/events-api/#retries).
    expect(deliveries.map((delivery) => delivery.status).filter((status) => status < 300)).toEqual([]);
    server.resume();
    let status = 0;
    for (let retryNum = 1; status !== 200 && retryNum <= 30; retryNum++) {
      status = (await c.retry(ts, retryNum)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(status).toBe(200);
    const answers = await c.waitForAnswers(ts, 1, 60_000);
    expect(answers[0]?.text).toContain('The answer to q1.');
  }, 120_000);

  it('in Socket Mode too, does not ack a mention it could not store, and answers the redelivery', async () => {
    server = await startPostgresCluster();
    const database = await createTestDatabase(server.url);
    harness = await Harness.start({ socketMode: true, env: { DATABASE_URL: database.url } });
    const h = harness;
    h.model.enqueue({ content: 'stored after all' });
    server.pause();
    const text = 'what does the socket do?';
    const { ts, deliveries } = await h.ask(text);
    // Bolt acks an events_api envelope before its listeners run; an envelope Slack saw acked is
    // never sent again (https://docs.slack.dev/apis/events-api/using-socket-mode).
    expect(deliveries.map((delivery) => delivery.status).filter((status) => status === 200)).toEqual([]);
    server.resume();
    let status = 0;
    for (let retryNum = 1; status !== 200 && retryNum <= 10; retryNum++) {
      status = (await h.slack.redeliverMention(ts, { retryNum, retryReason: 'timeout' })).status;
    }
    expect(status).toBe(200);
    const answers = await h.waitForAnswers(ts);
    expect(JSON.stringify(answers)).toContain('stored after all');
  }, 180_000);

  it('loses nothing when PostgreSQL restarts in the middle of a burst', async () => {
    server = await startPostgresCluster();
    const model = await new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start();
    model.respondWith((request) => ({ ...answerFor(request), delayMs: 200 }));
    cluster = await Cluster.start({ processes: 2, adminUrl: server.url, model });
    const c = cluster;
    const pg = server;
    const asked: Array<{ ts: string; tag: string }> = [];
    const ask = async (index: number) => {
      const text = `what does q${index} do?`;
      const { ts, deliveries } = await c.ask(text);
      // Slack retries a delivery that was not acknowledged (not 2xx): the ack came only after the job was stored.
      let statuses = deliveries.map((delivery) => delivery.status);
      for (let retryNum = 1; !statuses.includes(200); retryNum++) {
        // Slack waits before a retry (a minute, then five); a second is enough here.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        statuses = [(await c.retry(ts, retryNum)).status];
        if (retryNum > 60) {
          const recent = c.live.map((app) => app.stderr.slice(-1500));
          throw new Error(`q${index} was never acknowledged (${statuses}); ${JSON.stringify(recent)}`);
        }
      }
      asked.push({ ts, tag: `q${index}` });
    };
    const firstHalf = Promise.all(Array.from({ length: 15 }, (_, index) => ask(index)));
    await waitFor(
      () => c.live.some((app) => app.logs.some((line) => line.msg === 'job-claimed')),
      30_000,
      'work',
    );
    await pg.restart({ downMs: 3000 });
    const secondHalf = Promise.all(Array.from({ length: 15 }, (_, index) => ask(15 + index)));
    await Promise.all([firstHalf, secondHalf]);
    for (const question of asked) {
      const answers = await c.waitForAnswers(question.ts, 1, 120_000);
      expect(answers[0]?.text).toContain(`The answer to ${question.tag}.`);
    }
    expect(asked).toHaveLength(30);
    for (const question of asked) expect(c.answers(question.ts)).toHaveLength(1);
    // Both processes lived through it, and said so in the log.
    expect(c.live).toHaveLength(2);
    expect(c.live.some((app) => app.logs.some((line) => line.event === 'database-unavailable'))).toBe(true);
  }, 240_000);
});
