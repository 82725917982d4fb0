import { describe, expect, it } from 'vitest';
import { composeDigest, digestLimit } from '../../src/digests/compose-digest.js';
import type { DigestFacts } from '../../src/digests/gather-facts.js';
import { inlineText, link, neutralizeMentions } from '../../src/digests/markdown-text.js';
import type { ConversationSummary } from '../../src/digests/summarize-conversation.js';
import { fromSlackText, toSlackText } from '../../src/slack/mention-syntax.js';

const from = Date.parse('2026-03-29T07:00:00Z');
const to = Date.parse('2026-03-30T07:00:00Z');
const options = { timezone: 'Europe/Berlin', quietDigest: 'line' as const };
const none: ConversationSummary = { status: 'none' };

function facts(overrides: Partial<DigestFacts> = {}): DigestFacts {
  return {
    channel: 'C1',
    from,
    to,
    questions: [],
    pullRequests: undefined,
    scripts: undefined,
    commits: [],
    failedJobs: [],
    problems: [],
    ...overrides,
  };
}

function markdownOf(result: ReturnType<typeof composeDigest>): string {
  if (result.kind === 'skip') throw new Error('expected a message');
  return result.markdown;
}

describe('composing a digest', () => {
  it('says a quiet period in one line, never an empty message', () => {
    const result = composeDigest(facts({ pullRequests: [], scripts: [] }), none, options);
    expect(result.kind).toBe('quiet-line');
    const text = markdownOf(result);
    expect(text.split('\n')).toHaveLength(1);
    expect(text).toContain('a quiet period');
    expect(text).toContain('since Sun 29 Mar, 09:00 (Europe/Berlin)');
  });

  it('posts nothing for a quiet period when the schedule says skip', () => {
    expect(composeDigest(facts(), none, { ...options, quietDigest: 'skip' })).toEqual({ kind: 'skip' });
  });

  it('is not quiet when people talked, even if the model was down', () => {
    const result = composeDigest(facts(), { status: 'unavailable', messageCount: 4 }, options);
    expect(result.kind).toBe('full');
    expect(markdownOf(result)).toContain('No generated summary this time');
  });

  it('links questions to their threads and counts follow-ups', () => {
    const text = markdownOf(
      composeDigest(
        facts({
          questions: [
            {
              threadTs: '1.1',
              link: 'https://x.slack.com/archives/C1/p11',
              question: 'Why is *tax* wrong?',
              answers: 2,
            },
            { threadTs: '2.2', link: undefined, question: 'Where is [the] config', answers: 1 },
          ],
        }),
        none,
        options,
      ),
    );
    expect(text).toContain('**Questions answered (2)**');
    expect(text).toContain('- [Why is \\*tax\\* wrong?](https://x.slack.com/archives/C1/p11) · 2 answers');
    expect(text).toContain('- Where is \\[the\\] config');
  });

  it('lists pull requests with their state now', () => {
    const text = markdownOf(
      composeDigest(
        facts({
          pullRequests: [
            {
              repo: 'shop',
              number: 12,
              title: 'Fix rounding',
              url: 'https://github.test/o/shop/pull/12',
              state: 'merged',
            },
            {
              repo: 'shop',
              number: 13,
              title: 'Add VAT',
              url: 'https://github.test/o/shop/pull/13',
              state: 'open',
            },
            {
              repo: 'shop',
              number: 14,
              title: 'Gone',
              url: 'https://github.test/o/shop/pull/14',
              state: 'unknown',
            },
          ],
        }),
        none,
        options,
      ),
    );
    expect(text).toContain('**Pull requests opened (3, 1 merged)**');
    expect(text).toContain('- [shop#12 Fix rounding](https://github.test/o/shop/pull/12) · merged');
    expect(text).toContain('· open');
    expect(text).toContain('· state unknown');
  });

  it('cuts long lists with "…and N more" and stays under the markdown block limit', () => {
    const questions = Array.from({ length: 400 }, (_, index) => ({
      threadTs: `${index}.0`,
      link: `https://x.slack.com/archives/C1/p${index}`,
      question: `Question number ${index} ${'x'.repeat(200)}`,
      answers: 1,
    }));
    const commits = Array.from({ length: 400 }, (_, index) => ({
      sha: String(index),
      author: `Author ${index % 12}`,
      committedAt: from + index,
      subject: `Change ${index} ${'y'.repeat(150)}`,
    }));
    const text = markdownOf(
      composeDigest(
        facts({ questions, commits: [{ repo: 'shop', branch: 'main', commits }] }),
        none,
        options,
      ),
    );
    expect(text.length).toBeLessThanOrEqual(digestLimit);
    expect(text).toContain('…and 390 more');
    expect(text).toContain('**Commits on main in shop: 400 by 12 authors**');
    expect(text).toContain(', and 4 more');
  });

  it('shrinks every list when the digest would pass 12,000 characters', () => {
    const many = (prefix: string) =>
      Array.from({ length: 40 }, (_, index) => ({
        threadTs: `${index}.0`,
        link: `https://x.slack.com/archives/C1/p${index}${'9'.repeat(300)}`,
        question: `${prefix} ${index} ${'z'.repeat(300)}`,
        answers: 1,
        request: `${prefix} ${index} ${'z'.repeat(300)}`,
        code: 'job-timeout',
        referenceId: 'ABC123',
      }));
    const text = markdownOf(
      composeDigest(facts({ questions: many('q'), failedJobs: many('f') }), none, options),
    );
    expect(text.length).toBeLessThanOrEqual(digestLimit);
    expect(text).toMatch(/…and \d+ more/);
  });

  it('labels the conversation summary as generated and keeps it from pinging anyone', () => {
    const text = markdownOf(
      composeDigest(
        facts(),
        {
          status: 'summarized',
          text: '# Summary\n- <!here> the team agreed on <@U123|ana>’s plan',
          messageCount: 7,
        },
        options,
      ),
    );
    expect(text).toContain(
      '**Conversation summary** _(generated by the model from 7 messages; it may be wrong)_',
    );
    // What Slack receives: src/slack/ shows any Slack syntax the model wrote as words.
    const posted = toSlackText(text);
    expect(posted).not.toContain('<!here>');
    expect(posted).not.toContain('<@U123');
    expect(posted).toContain('@ana');
  });

  it('names the sections it could not read instead of failing', () => {
    const text = markdownOf(
      composeDigest(facts({ problems: ['commits of shop (git failed)'] }), none, options),
    );
    expect(text).toContain('_I could not read: commits of shop (git failed)._');
  });

  it('lists failed jobs with their code and reference, not their internal message', () => {
    const text = markdownOf(
      composeDigest(
        facts({
          failedJobs: [
            {
              threadTs: '1.0',
              link: 'https://x/p1',
              request: 'run the tests',
              code: 'job-timeout',
              referenceId: 'K2J9QZ',
            },
          ],
        }),
        none,
        options,
      ),
    );
    expect(text).toContain(
      '**Jobs that failed (1)**\n- [run the tests](https://x/p1) · `job-timeout` (ref K2J9QZ)',
    );
  });
});

describe('digest text helpers', () => {
  it.each([
    ['<!channel> look', '@\u200bchannel look'],
    ['hey @here', 'hey @\u200bhere'],
    ['<@U42>', '@someone'],
    ['<!subteam^S1|devs> ping', '@devs ping'],
    ['see <https://a.test|the docs>', 'see the docs (https://a.test)'],
  ])('neutralizes %s', (input, expected) => {
    // As in the app: src/slack/ reads Slack's syntax, the digest neutralizes what is left.
    expect(neutralizeMentions(fromSlackText(input))).toBe(expected);
  });

  it('keeps user text on one line and short', () => {
    expect(inlineText('line one\nline two')).toBe('line one line two');
    expect(inlineText('a'.repeat(300), 10)).toBe(`${'a'.repeat(9)}…`);
  });

  it('only links http(s) URLs and keeps parentheses from breaking the link', () => {
    expect(link('x', 'javascript:alert(1)')).toBe('x');
    expect(link('x', undefined)).toBe('x');
    expect(link('x', 'https://a.test/a(b)')).toBe('[x](https://a.test/a%28b%29)');
  });
});
