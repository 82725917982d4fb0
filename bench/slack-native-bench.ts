/**
 * Slack's agent surface: how soon people see the work. A question with one command, against a
 * model stand-in that starts each answer after 300 ms and streams at 40 tokens/s, in a
 * workspace with streaming. Prints, per run and as medians, from the mention:
 * - the first task card visible (chat.startStream reaching Slack; goal < 300 ms)
 * - the first answer text visible, after the model's first answer token (goal < 500 ms;
 *   the windowed scrubber holds back `scrubReach` characters, see src/slack/stream-window.ts)
 * - the complete answer (chat.stopStream)
 * Nothing is asserted.
 */
import { CHANNEL, Harness, waitFor } from '../tests/support/harness.js';
import type { ScriptedReply } from '../tests/support/scripted-model.js';

const runs = 5;
const firstTokenDelayMs = 300;
const answer = Array.from(
  { length: 12 },
  () => 'The shipping total is added once in computeShippingCost and again when the cart renders.',
).join(' ');

export async function runSlackNativeBench(): Promise<void> {
  const h = await Harness.start({
    slackNative: true,
    config: 'repos:\n  - name: shop\n    url: "{{repo}}"\n',
  });
  const arrivals: number[] = [];
  h.model.respondWith((request): ScriptedReply => {
    arrivals.push(Date.now());
    const toolResults = request.body.messages.filter((message) => message.role === 'tool').length;
    if (toolResults === 0)
      return { toolCalls: [{ name: 'shell', arguments: { command: 'rg -n computeShippingCost' } }] };
    return { content: answer, delayMs: firstTokenDelayMs, tokensPerSecond: 40 };
  });
  try {
    const firstCard: number[] = [];
    const firstText: number[] = [];
    const complete: number[] = [];
    for (let run = 0; run <= runs; run += 1) {
      arrivals.length = 0;
      const started = Date.now();
      const { ts } = await h.ask(`why is shipping shown twice? (${run})`);
      const stream = await waitFor(
        () =>
          h.slack
            .streamsIn(CHANNEL)
            .find((candidate) => candidate.threadTs === ts && candidate.state === 'completed'),
        120_000,
        'a completed stream',
      );
      if (run === 0) continue; // warm-up: the first checkout of the repository
      const textCall = stream.calls.find((call) =>
        call.chunks.some((chunk) => chunk.type === 'markdown_text'),
      );
      const answerRequest = arrivals.at(-1) ?? started;
      firstCard.push((stream.calls[0]?.at ?? Number.NaN) - started);
      firstText.push((textCall?.at ?? Number.NaN) - (answerRequest + firstTokenDelayMs));
      complete.push((stream.calls.at(-1)?.at ?? Number.NaN) - started);
    }
    print('mention → first task card visible', firstCard, 300);
    print("model's first answer token → first answer text visible", firstText, 500);
    print('mention → complete answer (stopStream)', complete);
    const streamSeconds = answer.length / 4 / 40;
    console.log(
      `  (the model streams the ${answer.length}-character answer in ${streamSeconds.toFixed(1)} s; ` +
        `first text at ${((median(firstText) / 1000 / streamSeconds) * 100).toFixed(0)} % of that)`,
    );
  } finally {
    await h.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function print(label: string, samples: number[], goalMs?: number): void {
  const value = median(samples);
  const goal = goalMs === undefined ? '' : ` (goal < ${goalMs} ms: ${value < goalMs ? 'met' : 'not met'})`;
  console.log(
    `  ${label}: median ${value.toFixed(0)} ms, runs ${samples.map((sample) => sample.toFixed(0)).join(' / ')}${goal}`,
  );
}
