import { readFileSync } from 'node:fs';
import { type Logger, LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { replaceMentions } from '../../src/jobs/mentions.js';
import { joinedBody, splitIntoInputs } from '../../src/scripts/save-flow.js';
import { translateMarkdown } from '../../src/slack/emulator/markdown-translation.js';
import { blocksAsText } from '../../src/slack/slack-thread-history.js';
import { type SlackEmulator, startSlackEmulator, TEST_BOT_TOKEN } from '../support/slack-emulator.js';

/** What Slack answered: the error code and the rest of its body (response_metadata, needed, provided). */
async function refusal(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (error) {
    return (error as { data?: Record<string, unknown> }).data ?? { error: String(error) };
  }
  return { error: 'no error' };
}

const manifestScopes = (
  parseYaml(readFileSync(new URL('../../slack-app-manifest.yaml', import.meta.url), 'utf8')) as {
    oauth_config: { scopes: { bot: string[] } };
  }
).oauth_config.scopes.bot;

/** Refusals are the point here; WebClient would log each one. */
const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

let now = 1_700_000_000_000;
let emulator: SlackEmulator;
let client: WebClient;

beforeEach(async () => {
  now = 1_700_000_000_000;
  emulator = await startSlackEmulator({
    clock: () => now,
    channels: [
      { id: 'C0GENERAL', name: 'general' },
      { id: 'C0OUTSIDE', name: 'announcements', botIsMember: false },
      { id: 'G0SECRET', name: 'secret', botIsMember: false },
      { id: 'G0INVITED', name: 'invited' },
    ],
  });
  client = new WebClient(TEST_BOT_TOKEN, {
    slackApiUrl: emulator.apiUrl,
    logger: quiet,
    retryConfig: { retries: 0 },
  });
});

afterEach(async () => {
  await emulator.stop();
});

const modal = (extra: Record<string, unknown> = {}) => ({
  type: 'modal' as const,
  title: { type: 'plain_text' as const, text: 'Save as team script' },
  submit: { type: 'plain_text' as const, text: 'Save' },
  blocks: [],
  ...extra,
});

describe('trigger_id expiry', () => {
  it('exchanges a trigger for 3 seconds, then answers expired_trigger_id', async () => {
    const fresh = emulator.issueTriggerId();
    now += 3_000;
    expect((await client.views.open({ trigger_id: fresh, view: modal() })).ok).toBe(true);

    const stale = emulator.issueTriggerId();
    now += 3_001;
    expect(await refusal(client.views.open({ trigger_id: stale, view: modal() }))).toMatchObject({
      ok: false,
      error: 'expired_trigger_id',
    });
    expect(emulator.openedViews()).toHaveLength(1);
  });

  it('honours a stricter lifetime for tests that want one', async () => {
    const strict = await startSlackEmulator({ clock: () => now, triggerLifetimeMs: 100 });
    const strictClient = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: strict.apiUrl, logger: quiet });
    const trigger = strict.issueTriggerId();
    now += 101;
    expect(await refusal(strictClient.views.open({ trigger_id: trigger, view: modal() }))).toMatchObject({
      error: 'expired_trigger_id',
    });
    await strict.stop();
  });
});

describe('Block Kit limits', () => {
  const button = (text: string, value = 'v') => ({
    type: 'actions',
    elements: [{ type: 'button', action_id: 'go', text: { type: 'plain_text', text }, value }],
  });

  it.each([
    ['button text over 75', [button('x'.repeat(76))], '/blocks/0/elements/0/text/text', 76],
    ['button value over 2000', [button('Go', 'v'.repeat(2_001))], '/blocks/0/elements/0/value', 2001],
    [
      'section text over 3000',
      [{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3_001) } }],
      '/blocks/0/text/text',
      3001,
    ],
    [
      'a markdown block over 12000',
      [{ type: 'markdown', text: 'm'.repeat(12_001) }],
      '/blocks/0/text',
      12001,
    ],
  ])('refuses %s with invalid_blocks and a json-pointer message', async (_name, blocks, pointer, limit) => {
    const answer = await refusal(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks }));
    expect(answer).toMatchObject({
      ok: false,
      error: 'invalid_blocks',
      response_metadata: {
        messages: [`[ERROR] must be less than ${limit} characters [json-pointer:${pointer}]`],
      },
    });
    expect(emulator.messagesIn('C0GENERAL')).toEqual([]);
  });

  it('takes 50 blocks in a message and refuses 51, on chat.update too', async () => {
    const dividers = (count: number) => Array.from({ length: count }, () => ({ type: 'divider' }));
    const posted = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: dividers(50) });
    expect(posted.ok).toBe(true);
    expect(
      await refusal(
        client.chat.update({ channel: 'C0GENERAL', ts: posted.ts ?? '', text: 'x', blocks: dividers(51) }),
      ),
    ).toMatchObject({
      error: 'invalid_blocks',
      response_metadata: { messages: ['[ERROR] no more than 50 items allowed [json-pointer:/blocks]'] },
    });
    expect(
      await refusal(
        client.chat.update({
          channel: 'C0GENERAL',
          ts: posted.ts ?? '',
          text: 'x',
          blocks: [button('y'.repeat(80))],
        }),
      ),
    ).toMatchObject({ error: 'invalid_blocks' });
  });

  it('answers msg_blocks_too_long past 12,000 markdown characters per payload or 13,000 across blocks', async () => {
    const twoHalves = [
      { type: 'markdown', text: 'a'.repeat(6_001) },
      { type: 'markdown', text: 'b'.repeat(6_000) },
    ];
    expect(
      await refusal(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: twoHalves })),
    ).toMatchObject({
      error: 'msg_blocks_too_long',
    });
    const fullAnswerAndALongFooter = [
      { type: 'markdown', text: 'a'.repeat(12_000) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'u'.repeat(1_001) }] },
    ];
    expect(
      await refusal(
        client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: fullAnswerAndALongFooter }),
      ),
    ).toMatchObject({ error: 'msg_blocks_too_long' });
    const fits = [
      { type: 'markdown', text: 'a'.repeat(12_000) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'u'.repeat(800) }] },
      button('Save as team script'),
    ];
    expect((await client.chat.postMessage({ channel: 'C0GENERAL', text: 'x', blocks: fits })).ok).toBe(true);
  });

  it('refuses a modal past its limits with invalid_arguments and Slack’s messages', async () => {
    const input = (id: string, element: Record<string, unknown>) => ({
      type: 'input',
      block_id: id,
      label: { type: 'plain_text', text: id },
      element: { type: 'plain_text_input', action_id: id, ...element },
    });
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { title: { type: 'plain_text', text: 't'.repeat(25) } },
        '[ERROR] must be less than 25 characters [json-pointer:/view/title/text]',
      ],
      [
        { blocks: [input('body', { initial_value: 'x'.repeat(3_001) })] },
        '[ERROR] must be less than 3001 characters [json-pointer:/view/blocks/0/element/initial_value]',
      ],
      [
        { blocks: [input('body', { max_length: 3_001 })] },
        '[ERROR] must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]',
      ],
      [
        { blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) },
        '[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]',
      ],
      [
        { submit: undefined, blocks: [input('name', {})] },
        '[ERROR] must define `submit` to use an `input` block in modals [json-pointer:/view/blocks/0/input]',
      ],
    ];
    for (const [change, message] of cases) {
      const answer = await refusal(
        client.views.open({ trigger_id: emulator.issueTriggerId(), view: modal(change) as never }),
      );
      expect(answer).toMatchObject({ error: 'invalid_arguments' });
      expect((answer.response_metadata as { messages: string[] }).messages).toEqual([
        '[ERROR] failed to match all allowed schemas [json-pointer:/view]',
        message,
      ]);
    }
    const hundred = Array.from({ length: 100 }, (_, index) =>
      input(`part_${index}`, { initial_value: 'x'.repeat(3_000) }),
    );
    const opened = await client.views.open({
      trigger_id: emulator.issueTriggerId(),
      view: modal({ blocks: hundred }),
    });
    expect(opened.ok).toBe(true);
    expect(
      await refusal(
        client.views.update({
          view_id: opened.view?.id ?? '',
          view: modal({ title: { type: 'plain_text', text: 'x'.repeat(30) } }),
        }),
      ),
    ).toMatchObject({ error: 'invalid_arguments' });
    expect(
      await refusal(client.views.update({ view_id: opened.view?.id ?? '', hash: 'stale', view: modal() })),
    ).toMatchObject({ error: 'hash_conflict' });
    const updated = await client.views.update({
      view_id: opened.view?.id ?? '',
      hash: opened.view?.hash ?? '',
      view: modal(),
    });
    expect(updated.ok).toBe(true);
  });
});

describe('channel membership and scopes', () => {
  it('refuses posts to a public channel the bot is not in, hides private ones, and lets conversations.join in', async () => {
    expect(await refusal(client.chat.postMessage({ channel: 'C0OUTSIDE', text: 'digest' }))).toMatchObject({
      error: 'not_in_channel',
    });
    expect(await refusal(client.conversations.history({ channel: 'C0OUTSIDE' }))).toMatchObject({
      error: 'not_in_channel',
    });
    expect(await refusal(client.chat.postMessage({ channel: 'G0SECRET', text: 'digest' }))).toMatchObject({
      error: 'channel_not_found',
    });
    expect(await refusal(client.conversations.join({ channel: 'G0SECRET' }))).toMatchObject({
      error: 'channel_not_found',
    });
    expect(await refusal(client.conversations.join({ channel: 'G0INVITED' }))).toMatchObject({
      error: 'method_not_supported_for_channel_type',
    });

    const joined = await client.conversations.join({ channel: 'C0OUTSIDE' });
    expect(joined.channel).toMatchObject({ id: 'C0OUTSIDE', is_member: true, is_private: false });
    expect(joined.warning).toBeUndefined();
    expect(emulator.messagesIn('C0OUTSIDE')).toMatchObject([{ subtype: 'channel_join', user: 'U0BOT' }]);
    expect((await client.chat.postMessage({ channel: 'C0OUTSIDE', text: 'digest' })).ok).toBe(true);
    expect(await client.conversations.join({ channel: 'C0OUTSIDE' })).toMatchObject({
      warning: 'already_in_channel',
      response_metadata: { warnings: ['already_in_channel'] },
    });

    // Events from a channel the bot is not in never reach the app.
    expect((await emulator.mention({ user: 'U0ALICE', channel: 'G0SECRET', text: 'hi' })).deliveries).toEqual(
      [],
    );
  });

  it('posts anywhere public with chat:write.public', async () => {
    emulator.setScopes([...emulator.scopes, 'chat:write.public']);
    expect((await client.chat.postMessage({ channel: 'C0OUTSIDE', text: 'hello' })).ok).toBe(true);
    expect(await refusal(client.chat.postMessage({ channel: 'G0SECRET', text: 'hello' }))).toMatchObject({
      error: 'channel_not_found',
    });
  });

  it('answers missing_scope with needed and provided, by the kind of conversation', async () => {
    emulator.setScopes(['chat:write', 'channels:history']);
    expect(await refusal(client.conversations.join({ channel: 'C0OUTSIDE' }))).toEqual({
      ok: false,
      error: 'missing_scope',
      needed: 'channels:join',
      provided: 'chat:write,channels:history',
      response_metadata: { scopes: ['chat:write', 'channels:history'], acceptedScopes: ['channels:join'] },
    });
    expect(await refusal(client.conversations.history({ channel: 'G0INVITED' }))).toMatchObject({
      error: 'missing_scope',
      needed: 'groups:history',
    });
    expect(
      await refusal(client.reactions.add({ channel: 'C0GENERAL', timestamp: '1.0', name: 'eyes' })),
    ).toMatchObject({
      needed: 'reactions:write',
    });
    expect((await client.conversations.history({ channel: 'C0GENERAL' })).ok).toBe(true);
  });

  it('reports the token’s scopes in x-oauth-scopes: the manifest’s by default', async () => {
    expect(manifestScopes).toContain('channels:join');
    expect((await client.auth.test()).response_metadata?.scopes).toEqual(manifestScopes);
    emulator.setScopes(['chat:write']);
    expect((await client.auth.test()).response_metadata?.scopes).toEqual(['chat:write']);
  });
});

const typicalAnswer = [
  '## Why shipping doubles',
  '',
  'The cost is added **twice** in `src/shipping.ts:4` for carts with *more than one* item.',
  '',
  '1. `computeShippingCost` takes the item count',
  '2. it returns `base * 2` when `items > 1`',
  '   - which is ~~correct~~ wrong',
  '3. see [the PR](https://example.com/pr/1) or https://example.com/docs',
  '',
  '```ts',
  'return items > 1 ? base * 2 : base;',
  '```',
  '',
  '> Quote from Alice',
  '> second line',
  '',
  '---',
  '',
  'Fix: return `base` (snake_case_names stay as they are).',
].join('\n');

describe('markdown blocks as Slack stores them', () => {
  it('keeps what was sent on the record and returns rich_text from conversations.replies, with stable block ids', async () => {
    const ts = (await client.chat.postMessage({ channel: 'C0GENERAL', text: 'Looking…' })).ts ?? '';
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      thread_ts: ts,
      text: 'Why shipping doubles',
      blocks: [
        { type: 'markdown', text: typicalAnswer },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'test-model · 2 steps' }] },
      ],
    });
    expect(emulator.message('C0GENERAL', posted.ts ?? '')?.blocks?.[0]).toEqual({
      type: 'markdown',
      text: typicalAnswer,
    });

    const first = (await client.conversations.replies({ channel: 'C0GENERAL', ts })).messages?.[1];
    const again = (await client.conversations.replies({ channel: 'C0GENERAL', ts })).messages?.[1];
    expect(first?.blocks?.map((block) => block.type)).toEqual([
      'rich_text',
      'divider',
      'rich_text',
      'context',
    ]);
    expect(first?.blocks).toEqual(again?.blocks);
    expect(posted.message?.blocks).toEqual(first?.blocks);
    const richText = first?.blocks?.[0] as {
      elements: Array<{ type: string; style?: string; indent?: number; offset?: number }>;
    };
    expect(
      richText.elements.map((element) => [element.type, element.style, element.indent, element.offset]),
    ).toEqual([
      ['rich_text_section', undefined, undefined, undefined],
      ['rich_text_section', undefined, undefined, undefined],
      ['rich_text_list', 'ordered', 0, undefined],
      ['rich_text_list', 'bullet', 1, undefined],
      ['rich_text_list', 'ordered', 0, 2],
      ['rich_text_preformatted', undefined, undefined, undefined],
      ['rich_text_quote', undefined, undefined, undefined],
    ]);
    expect(JSON.stringify(richText)).toContain('{"type":"text","text":"twice","style":{"bold":true}}');
    expect(JSON.stringify(richText)).toContain(
      '{"type":"link","url":"https://example.com/pr/1","text":"the PR"}',
    );
  });

  it('reads a typical answer back through blocksAsText as readable Markdown', () => {
    const text = blocksAsText(translateMarkdown(typicalAnswer), (value) => value);
    expect(replaceMentions(text, (id) => `@${id}`)).toBe(
      [
        '**Why shipping doubles**',
        '',
        'The cost is added **twice** in `src/shipping.ts:4` for carts with _more than one_ item.',
        '',
        '1. `computeShippingCost` takes the item count',
        '2. it returns `base * 2` when `items > 1`',
        '  - which is ~correct~ wrong',
        '3. see the PR (https://example.com/pr/1) or https://example.com/docs',
        '```',
        'return items > 1 ? base * 2 : base;',
        '```',
        '> Quote from Alice',
        '> second line',
        'Fix: return `base` (snake_case_names stay as they are).',
      ].join('\n'),
    );
  });

  it('translates markdown_text messages too, and marks mentions as user elements', async () => {
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      markdown_text: 'Thanks <@U0ALICE>, ***done***.',
    });
    const stored = emulator.storedMessage('C0GENERAL', posted.ts ?? '');
    expect(stored?.blocks).toMatchObject([
      {
        type: 'rich_text',
        elements: [
          {
            type: 'rich_text_section',
            elements: [
              { type: 'text', text: 'Thanks ' },
              { type: 'user', user_id: 'U0ALICE' },
              { type: 'text', text: ', ' },
              { type: 'text', text: 'done', style: { bold: true, italic: true } },
              { type: 'text', text: '.' },
            ],
          },
        ],
      },
    ]);
  });
});

describe('a long script in a form of 3,000-character inputs', () => {
  it('cuts at line ends into parts an input takes, and joins them back exactly, in numeric order', () => {
    const script = Array.from(
      { length: 400 },
      (_, index) => `echo "line ${index}" # ${'.'.repeat(index % 40)}`,
    ).join('\n');
    const parts = splitIntoInputs(`${script}\n`) ?? [];
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(3_000);
    const values = Object.fromEntries(
      parts.map((part, index) => [index === 0 ? 'body' : `body_${index + 1}`, part]),
    );
    expect(joinedBody({ name: 'x', ...values })).toBe(`${script}\n`);
    expect(joinedBody({ body_10: 'j', body: 'a', body_2: '', body_9: 'i' })).toBe('a\ni\nj');
    expect(splitIntoInputs(`ok\n${'x'.repeat(3_001)}`)).toBeUndefined();
    expect(splitIntoInputs('short')).toEqual(['short']);
  });
});
