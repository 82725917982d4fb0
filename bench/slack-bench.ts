/**
 * Slack edge and job throughput, against the real app process and the test stand-ins.
 * Prints figures; asserts nothing (timing goals live here, not in tests).
 *
 * - ack latency p50/p99 for a burst of 200 signed events (goal: p99 < 50 ms on 2 cores)
 * - end-to-end throughput with an instant model (mention → answer posted)
 * - time from mention to the first model request on a warm repo (goal: < 1 s)
 * - resident memory of the app process
 */
import { readFileSync } from 'node:fs';
import { CHANNEL, Harness } from '../tests/support/harness.js';
import { instantResponder } from '../tests/support/scripted-model.js';

const burst = 200;

export async function runSlackBench(): Promise<void> {
  const h = await Harness.start({ env: { SHIPMATE_CONCURRENCY: '4', LOG_LEVEL: 'debug' } });
  try {
    h.model.respondWith(instantResponder('ok'));
    await warmUp(h);
    await mentionToFirstModelRequest(h);
    await ackSequential(h);
    await ackBurst(h);
    memory(h);
  } finally {
    await h.stop();
  }
}

async function warmUp(h: Harness): Promise<void> {
  const { ts } = await h.ask('warm up the checkout');
  await h.waitForAnswers(ts, 1, CHANNEL, 60_000);
}

async function mentionToFirstModelRequest(h: Harness): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = h.model.requests.length;
    const started = performance.now();
    const { ts } = await h.ask(`question ${i} about shipping`);
    await h.model.waitForRequests(before + 1, 30_000);
    samples.push(performance.now() - started);
    await h.waitForAnswers(ts, 1, CHANNEL, 30_000);
  }
  print('mention → first model request (new thread, warm repo)', samples);
}

/** One event at a time: the ack latency of a single delivery, without queueing behind the others. */
async function ackSequential(h: Harness): Promise<void> {
  const acks: number[] = [];
  const threads: string[] = [];
  for (let i = 0; i < burst; i++) {
    const result = await h.slack.mention({
      user: 'U0ALICE',
      channel: CHANNEL,
      text: `one by one ${i}`,
      onlyAppMention: true,
    });
    acks.push(...result.deliveries.map((delivery) => delivery.elapsedMs));
    threads.push(result.ts);
  }
  print(`ack latency seen by the sender, ${burst} signed events one after another`, acks);
  for (const ts of threads) await h.waitForAnswers(ts, 1, CHANNEL, 120_000);
}

async function ackBurst(h: Harness): Promise<void> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: burst }, (_, i) =>
      h.slack.mention({ user: 'U0ALICE', channel: CHANNEL, text: `burst ${i}`, onlyAppMention: true }),
    ),
  );
  const acks = results.flatMap((result) => result.deliveries.map((delivery) => delivery.elapsedMs));
  const accepted = results.filter((result) =>
    result.deliveries.every((delivery) => delivery.status === 200),
  ).length;
  print(
    `ack latency seen by the sender, burst of ${burst} signed events at once (${accepted} acked 200)`,
    acks,
  );
  const serverSide = h.app.logs
    .filter((line) => line.msg === 'slack-request-acked')
    .slice(-burst)
    .map((line) => Number(line.ackMs));
  print('  of which inside shipmate (request received → ack sent)', serverSide);
  for (const result of results) await h.waitForAnswers(result.ts, 1, CHANNEL, 120_000);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `throughput, instant model: ${burst} mentions answered in ${seconds.toFixed(1)} s = ${(burst / seconds).toFixed(1)} jobs/s`,
  );
}

function memory(h: Harness): void {
  const pid = h.app.pid;
  if (!pid) return;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  const peak = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  console.log(
    `resident memory: ${(Number(rss) / 1024).toFixed(0)} MiB now, ${(Number(peak) / 1024).toFixed(0)} MiB peak`,
  );
}

function print(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  console.log(
    `${label}: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms (n=${samples.length})`,
  );
}
