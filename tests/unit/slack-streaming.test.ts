import { describe, expect, it } from 'vitest';
import { LiveView } from '../../src/jobs/live-view.js';
import { createLogger } from '../../src/log.js';
import { createScrubber, patternReach, scrubReach, secretNeedles } from '../../src/scrub-secrets.js';
import { toSlackText } from '../../src/slack/mention-syntax.js';
import { OutputQueue } from '../../src/slack/output-queue.js';
import { StreamWindow } from '../../src/slack/stream-window.js';

const secret = 'sk-proj-Zq8vN2xL5rT9wB3mK7yH1cF6dJ4pS0aE';
const scrub = createScrubber([secret]);
const clean = (text: string) => toSlackText(scrub(text));
const prose = (words: number) =>
  Array.from(
    { length: words },
    (_, index) => ['the', 'checkout', 'adds', 'shipping', 'twice'][index % 5],
  ).join(' ');

/** Feeds `text` in pieces of `size` characters and returns every delta the window let out. */
function stream(text: string, size: number, window: StreamWindow): string[] {
  const sent: string[] = [];
  for (let end = size; end < text.length + size; end += size) {
    const delta = window.offer(text.slice(0, Math.min(end, text.length)));
    if (delta) sent.push(delta);
  }
  return sent;
}

/** Any 6 characters of the secret, in order, with whitespace and invisible characters removed. */
function leaksPart(sent: string, value: string): boolean {
  const squeezed = sent.replace(/[\s\u200b-\u200f\u2060\ufeff]/g, '');
  for (let start = 0; start + 6 <= value.length; start += 1) {
    if (squeezed.includes(value.slice(start, start + 6))) return true;
  }
  return false;
}

describe('the windowed scrubber for streamed answers', () => {
  const holdBack = patternReach;
  const rules = { holdBack, needles: secretNeedles([secret]), escapeReach: scrubReach([secret]) };

  it('never sends any part of a configured secret split across chunks', () => {
    const text = `Here is what the config holds: ${secret} and then ${prose(120)}`;
    for (const size of [1, 3, 7, 20]) {
      const window = new StreamWindow(clean, rules, 11_000);
      const sent = stream(text, size, window);
      expect(sent.length).toBeGreaterThan(1);
      expect(leaksPart(sent.join(''), secret)).toBe(false);
      const rest = window.rest(text);
      expect(rest).toBeDefined();
      expect(sent.join('') + rest).toBe(clean(text));
      expect(sent.join('') + rest).toContain('[redacted]');
    }
  });

  it('never sends a GitHub token shape split across chunks, nor one padded with zero-width spaces', () => {
    const token = `ghp_${'Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5'}`;
    const padded = [...token].join('\u200b');
    for (const value of [token, padded]) {
      const text = `Found ${value} in .env, ${prose(150)}`;
      const window = new StreamWindow(clean, rules, 11_000);
      const sent = stream(text, 2, window).join('');
      expect(leaksPart(sent, token)).toBe(false);
      expect(sent + window.rest(text)).not.toContain(token.slice(4, 14));
    }
  });

  it('never sends the start of a configured secret written as hex, base64 or percent-escapes', () => {
    // Long enough that each form is longer than the pattern window behind the split.
    const long =
      'xoxe.xoxp-1-Mi0yLTExNjU3NjE0OTQ1MzEtNzUyNzQyMTQ3NDk5Ny03NTI3NDIxNTQ5MjY5LTc1MjczODE3Njg3MjA';
    const cleanLong = (text: string) => toSlackText(createScrubber([long])(text));
    const longRules = { holdBack, needles: secretNeedles([long]), escapeReach: scrubReach([long]) };
    const bytes = Buffer.from(long);
    const forms = [
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      bytes.toString('base64'),
      Buffer.concat([Buffer.from('x:'), bytes]).toString('base64'),
      [...long].map((char) => `%${char.charCodeAt(0).toString(16)}`).join(''),
    ];
    for (const form of forms) {
      const text = `The value is ${form.slice(0, 12)} ${form.slice(12)} and ${prose(60)}`;
      const window = new StreamWindow(cleanLong, longRules, 11_000);
      const sent = stream(text, 3, window).join('');
      expect(sent).not.toContain(form.slice(2, 12));
      expect(sent + window.rest(text)).toContain('[redacted]');
    }
  });

  it('sends prose soon: a short window when nothing at the end could begin a secret', () => {
    const text = prose(40);
    const window = new StreamWindow(clean, rules, 11_000);
    stream(text, 4, window);
    expect(window.text.length).toBeGreaterThan(text.length - 2 * patternReach);
  });

  it('sends prose once enough text follows it, always as a continuation of what it sent', () => {
    const text = prose(200);
    const window = new StreamWindow(clean, rules, 11_000);
    const sent = stream(text, 9, window);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(text.startsWith(sent.join(''))).toBe(true);
    expect(window.text.length).toBeLessThanOrEqual(text.length - holdBack);
  });

  it('holds back a mention escape until it knows what follows the <', () => {
    const text = `${prose(80)} <  !here> ${prose(80)}`;
    const window = new StreamWindow(clean, rules, 11_000);
    const sent = stream(text, 1, window).join('') + (window.rest(text) ?? '');
    expect(sent).toBe(clean(text));
    expect(sent).not.toMatch(/<\s*!here>/);
  });

  it('stops at its cap, and says so when the text it sent is no longer the beginning', () => {
    const capped = new StreamWindow(clean, { ...rules, holdBack: 10 }, 100);
    stream(prose(100), 5, capped);
    expect(capped.text.length).toBeLessThanOrEqual(100);
    expect(capped.capped).toBe(true);
    expect(capped.diverged).toBe(false);
    expect(capped.offer(prose(120))).toBe('');
    expect(capped.text + capped.rest(prose(120))).toBe(prose(120));

    let flip = false;
    const shifting = new StreamWindow(
      (text) => (flip ? `X${text}` : text),
      { ...rules, holdBack: 10 },
      1_000,
    );
    expect(shifting.offer(prose(40))).not.toBe('');
    flip = true;
    expect(shifting.offer(prose(50))).toBe('');
    expect(shifting.diverged).toBe(true);
    expect(shifting.rest(prose(50))).toBeUndefined();
  });
});

describe('a job’s live view', () => {
  it('makes each status line a step that completes when the next starts, and settles the rest', () => {
    const live = new LiveView('Looking into it…');
    live.plan('Taking this as a question about *shop*.');
    live.progress('Preparing a fresh checkout…');
    const search = live.step('Searching for `shipping`…');
    const tests = live.step('Running `npm test`…');
    search.done('exit code: 0');
    expect(live.view().tasks?.map((task) => [task.title, task.status])).toEqual([
      ['Looking into it…', 'complete'],
      ['Preparing a fresh checkout…', 'complete'],
      ['Searching for `shipping`…', 'complete'],
      ['Running `npm test`…', 'in_progress'],
    ]);
    tests.failed('exit code: 1');
    live.settle('complete');
    const view = live.view({ text: 'Done in 3 s.', actions: [] });
    expect(view.text).toBe('Done in 3 s.');
    expect(view.plan).toBe('Taking this as a question about *shop*.');
    expect(view.tasks?.map((task) => task.status)).toEqual(['complete', 'complete', 'complete', 'error']);
    expect(view.tasks?.[3]?.detail).toBe('exit code: 1');
    expect(live.view().text).toBe('Taking this as a question about *shop*. Running `npm test`…');
  });
});

describe('the output queue’s tiers', () => {
  it('lets stream appends through in a burst while chat.update keeps its pace', async () => {
    let now = 0;
    const sent: string[] = [];
    const queue = new OutputQueue({
      send: async (_channel, ts) => {
        sent.push(ts);
      },
      log: createLogger({ level: 'silent' }),
      clock: () => now,
    });
    await Promise.all([
      queue.update('C1', 's1', { n: 1 }, 'stream'),
      queue.update('C1', 's2', { n: 1 }, 'stream'),
      queue.update('C1', 's3', { n: 1 }, 'stream'),
    ]);
    expect(sent).toEqual(['s1', 's2', 's3']);
    const updates = [queue.update('C1', 'u1', { n: 1 }), queue.update('C1', 'u2', { n: 1 })];
    await updates[0];
    expect(sent).toEqual(['s1', 's2', 's3', 'u1']);
    now += 1_200; // Tier 3: one chat.update per 1.2 s across the workspace
    await updates[1];
    expect(sent.at(-1)).toBe('u2');
  });
});
