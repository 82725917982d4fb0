import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ALICE, answerText, BOB, CHANNEL, Harness } from '../support/harness.js';
import type { RecordedRequest, ScriptedReply } from '../support/scripted-model.js';
import { filePathsTold, imagePartsIn, shareAndSettle, userText } from '../support/shared-files.js';
import { TEST_PNG } from '../support/slack-emulator.js';

/**
 * Files people share in a thread reach the model: text files (logs, CSVs, diffs) as
 * read-only files in the sandbox it can read with its tools, images as image input when its
 * profile has vision (else by name). A file too large or of a type it cannot read is one
 * plain sentence, and the job still answers.
 */

const logText = 'ERROR checkout: shipping charged twice for 2 items (src/shipping.ts:4)\n';

function config(vision: boolean): string {
  return [
    'repos:',
    '  - name: shop',
    '    url: "{{repo}}"',
    'models:',
    '  test-model:',
    `    vision: ${vision}`,
    'limits:',
    '  maxSharedFileBytes: 50000',
  ].join('\n');
}

/** The model reads the file named `name` with the shell tool, then answers. */
function readThenAnswer(name: string, answer: string) {
  return (request: RecordedRequest): ScriptedReply => {
    const told = filePathsTold(userText(request)).find((path) => path.endsWith(`/${name}`));
    const messages = request.body.messages;
    const turn = messages.slice(messages.findLastIndex((message) => message.role === 'user'));
    const hasResult = turn.some((message) => message.role === 'tool');
    if (told && !hasResult)
      return { toolCalls: [{ name: 'shell', arguments: { command: `cat '${told}'` } }] };
    return { content: answer };
  };
}

describe('files shared in a thread, with a vision model', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ config: config(true) });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('gives the model a shared screenshot as image input and a log as a file it can read', async () => {
    h.model.reset();
    h.model.respondWith(readThenAnswer('checkout.log', 'The log shows shipping is charged twice.'));
    const job = await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'why does checkout fail? see the screenshot and the log',
      files: [
        { name: 'screenshot.png', content: TEST_PNG },
        { name: 'checkout.log', content: logText },
      ],
    });
    const [first] = h.model.requests;
    expect(first, 'a model request').toBeDefined();
    expect(imagePartsIn(first!)).toEqual([`data:image/png;base64,${TEST_PNG.toString('base64')}`]);
    const text = userText(first!);
    expect(text).toContain('screenshot.png');
    expect(filePathsTold(text).map((path) => path.split('/').at(-1))).toEqual([
      'screenshot.png',
      'checkout.log',
    ]);
    const toolResults = h.model
      .toolResultsIn(h.model.lastRequest())
      .map((message) => String(message.content));
    expect(toolResults.join('\n'), 'the log read in the sandbox').toContain(logText.trim());
    expect(job.answers.map(answerText).join('\n')).toContain('shipping is charged twice');

    // A follow-up: a CSV shared since reaches the model; the image is not sent again.
    h.model.reset();
    h.model.respondWith(readThenAnswer('orders.csv', 'Two orders, both charged twice.'));
    const followUp = await shareAndSettle(h, {
      user: BOB,
      channel: CHANNEL,
      threadTs: job.threadTs,
      text: 'and these orders?',
      files: [{ name: 'orders.csv', content: 'order,items,shipping\n1,2,9.98\n2,3,9.98\n' }],
    });
    const again = h.model.requests[0]!;
    expect(imagePartsIn(again), 'images in the follow-up request').toEqual([]);
    expect(h.model.allMessagesText(again)).toMatch(/screenshot\.png[^\n]*shown/);
    expect(filePathsTold(userText(again)).map((path) => path.split('/').at(-1))).toEqual(['orders.csv']);
    const csvRead = h.model.toolResultsIn(h.model.lastRequest()).map((message) => String(message.content));
    expect(csvRead.join('\n')).toContain('2,3,9.98');
    expect(followUp.answers.map(answerText).join('\n')).toContain('both charged twice');
  });

  it('says in one sentence what it could not read, and still answers', async () => {
    h.model.reset();
    h.model.respondWith(() => ({ content: 'Here is what I can tell.' }));
    const job = await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'what is in these?',
      files: [
        { name: 'big.log', content: Buffer.alloc(80_000, 'x') },
        { name: 'bundle.zip', content: Buffer.from('PK\u0003\u0004rest') },
      ],
    });
    const answer = job.answers.map(answerText).join('\n');
    expect(answer).toContain('Here is what I can tell.');
    expect(answer).toMatch(
      /I did not read `big\.log`: it is larger than the [\d.]+ KiB limit for a shared file\./,
    );
    expect(answer).toMatch(/I can’t read `bundle\.zip`: [^\n]*\./);
    const text = userText(h.model.requests[0]!);
    expect(text).toMatch(/I did not read `big\.log`/);
    expect(text).toMatch(/I can’t read `bundle\.zip`/);
    expect(filePathsTold(text)).toEqual([]);
  });

  it('asks for files:read in the app manifest', () => {
    const manifest = parseYaml(
      readFileSync(new URL('../../slack-app-manifest.yaml', import.meta.url), 'utf8'),
    ) as {
      oauth_config: { scopes: { bot: string[] } };
    };
    expect(manifest.oauth_config.scopes.bot).toContain('files:read');
  });
});

describe('files shared in a thread, with a model without vision', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ config: config(false) });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('tells the model an image was attached and what it is called, without sending it', async () => {
    h.model.reset();
    h.model.respondWith(readThenAnswer('error.log', 'Noted.'));
    await shareAndSettle(h, {
      user: ALICE,
      channel: CHANNEL,
      text: 'see the attached',
      files: [
        { name: 'dialog.png', content: TEST_PNG },
        { name: 'error.log', content: logText },
      ],
    });
    const first = h.model.requests[0]!;
    expect(imagePartsIn(first)).toEqual([]);
    expect(userText(first)).toMatch(/dialog\.png[^\n]*image[^\n]*cannot see/i);
    expect(
      h.model
        .toolResultsIn(h.model.lastRequest())
        .map((m) => String(m.content))
        .join('\n'),
    ).toContain(logText.trim());
  });
});
