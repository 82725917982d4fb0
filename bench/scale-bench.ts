/**
 * Throughput of several shipmate processes on one PostgreSQL (#14), through the real app
 * (dist/main.js) behind a round-robin load balancer, against a model stand-in that takes 2 s
 * per step, three steps per job (two shell calls, then the answer).
 * Run: npm run build && node_modules/.bin/tsx bench/run.ts scale [--mentions 300] [--concurrency 8]
 * Prints jobs/s for 1, 2 and 3 processes on PostgreSQL (and the ratio to one), the same with
 * one process on SQLite, and the ack time the sender saw (p50/p99). Asserts nothing.
 * Goals: 3 processes ≥ 2.5× one; one process on PostgreSQL within 20 % of SQLite.
 */
import { Cluster } from '../tests/support/cluster.js';
import { startPostgresCluster } from '../tests/support/postgres.js';
import { type RecordedRequest, ScriptedModel } from '../tests/support/scripted-model.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const stepMs = 2_000;

/** Two shell steps, then the answer: a step is one model request, each taking `stepMs`. */
function threeSteps(request: RecordedRequest) {
  const lastUser = request.body.messages.map((message) => message.role).lastIndexOf('user');
  const done = request.body.messages.slice(lastUser).filter((message) => message.role === 'tool').length;
  if (done < 2) {
    return {
      delayMs: stepMs,
      toolCalls: [{ name: 'shell', arguments: { command: `echo step ${done + 1}` } }],
    };
  }
  return { delayMs: stepMs, content: 'Done: three steps.' };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

interface Run {
  label: string;
  jobsPerSecond: number;
  ackP50: number;
  ackP99: number;
  seconds: number;
}

async function measure(label: string, processes: number, adminUrl: string | undefined): Promise<Run> {
  const mentions = option('mentions', 300);
  const model = await new ScriptedModel({ apiKey: 'sk-test-model-key-0123456789abcdef' }).start();
  model.respondWith(threeSteps);
  const cluster = await Cluster.start({
    processes,
    adminUrl,
    model,
    env: { SHIPMATE_CONCURRENCY: String(option('concurrency', 8)), LOG_LEVEL: 'info' },
  });
  try {
    const started = performance.now();
    const asked = await Promise.all(
      Array.from({ length: mentions }, (_, index) => cluster.ask(`bench question ${index}`)),
    );
    const acks = asked.flatMap((question) => question.deliveries.map((delivery) => delivery.elapsedMs));
    for (const question of asked) await cluster.waitForAnswers(question.ts, 1, 3_600_000);
    const seconds = (performance.now() - started) / 1000;
    return {
      label,
      jobsPerSecond: mentions / seconds,
      ackP50: percentile(acks, 50),
      ackP99: percentile(acks, 99),
      seconds,
    };
  } finally {
    await cluster.stop();
  }
}

export async function runScaleBench(): Promise<void> {
  const server = await startPostgresCluster();
  const runs: Run[] = [];
  try {
    for (const processes of [1, 2, 3])
      runs.push(await measure(`PostgreSQL, ${processes} process(es)`, processes, server.url));
    runs.push(await measure('SQLite, 1 process', 1, undefined));
  } finally {
    server.stop();
  }
  const one = runs[0]?.jobsPerSecond ?? 1;
  const sqlite = runs[3]?.jobsPerSecond ?? 1;
  console.log(
    `${option('mentions', 300)} mentions, model ${stepMs / 1000} s per step × 3 steps, concurrency ${option('concurrency', 8)} per process`,
  );
  for (const run of runs) {
    console.log(
      `${run.label.padEnd(26)} ${run.jobsPerSecond.toFixed(2)} jobs/s (${(run.jobsPerSecond / one).toFixed(2)}× one PostgreSQL process) in ${run.seconds.toFixed(1)} s; ack p50 ${run.ackP50.toFixed(1)} ms, p99 ${run.ackP99.toFixed(1)} ms`,
    );
  }
  console.log(`3 processes / 1 process: ${((runs[2]?.jobsPerSecond ?? 0) / one).toFixed(2)}× (goal ≥ 2.5×)`);
  console.log(`PostgreSQL 1 process / SQLite 1 process: ${(one / sqlite).toFixed(2)} (goal ≥ 0.80)`);
}
