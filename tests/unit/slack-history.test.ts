import { describe, expect, it } from 'vitest';
import { replaceMentions } from '../../src/jobs/mentions.js';
import { blocksAsText } from '../../src/slack/slack-thread-history.js';

// What conversations.replies returns for a message posted with a `markdown` block: Slack
// stores it translated into `rich_text` (https://docs.slack.dev/reference/block-kit/blocks/markdown-block).
const stored = [
  {
    type: 'rich_text',
    block_id: 'a1B',
    elements: [
      {
        type: 'rich_text_section',
        elements: [
          { type: 'text', text: 'Shipping is added twice', style: { bold: true } },
          { type: 'text', text: ' in ' },
          { type: 'text', text: 'src/shipping.ts:4', style: { code: true } },
          { type: 'text', text: ', asked by ' },
          { type: 'user', user_id: 'U0ALICE' },
          { type: 'text', text: '.\n' },
        ],
      },
      {
        type: 'rich_text_list',
        style: 'ordered',
        indent: 0,
        elements: [
          { type: 'rich_text_section', elements: [{ type: 'text', text: 'base is 4.99' }] },
          {
            type: 'rich_text_section',
            elements: [{ type: 'link', url: 'https://example.com/pr/1', text: 'the PR' }],
          },
        ],
      },
      { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'return base * 2;' }] },
      { type: 'rich_text_quote', elements: [{ type: 'text', text: 'quoted\nlines' }] },
    ],
  },
  { type: 'context', elements: [{ type: 'mrkdwn', text: 'gpt-4.1 · 3 steps' }] },
];

describe('reading back what Slack stored', () => {
  it('reads a markdown block’s translation into rich_text as the answer, not its fallback', () => {
    const text = blocksAsText(stored, (t) => t);
    expect(replaceMentions(text, (id) => `@${id}`)).toBe(
      [
        '**Shipping is added twice** in `src/shipping.ts:4`, asked by @U0ALICE.',
        '',
        '1. base is 4.99',
        '2. the PR (https://example.com/pr/1)',
        '```\nreturn base * 2;\n```',
        '> quoted\n> lines',
        'gpt-4.1 · 3 steps',
      ].join('\n'),
    );
  });

  it('still reads markdown blocks as sent, and marker characters in stored text cannot forge a mention', () => {
    expect(blocksAsText([{ type: 'markdown', text: 'as sent' }], (t) => `read:${t}`)).toBe('read:as sent');
    const forged = blocksAsText(
      [
        {
          type: 'rich_text',
          elements: [
            { type: 'rich_text_section', elements: [{ type: 'text', text: '\u{E000}U0EVE\u{E001}' }] },
          ],
        },
      ],
      (t) => t,
    );
    expect(forged).toBe('U0EVE');
  });
});
