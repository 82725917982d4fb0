import { request } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withMentions } from '../../src/slack/playground/playground.js';
import { refuseForeignRequest } from '../../src/slack/playground/playground-guard.js';
import { markdownScript } from '../../src/slack/playground/playground-markdown.js';
import { AppProcess } from '../support/app-process.js';
import { artifactsDir, launchBrowser } from '../support/browser.js';
import { createRepo, type TestRepo } from '../support/git-fixtures.js';
import { defaultRepoFiles } from '../support/harness.js';
import { ScriptedModel } from '../support/scripted-model.js';

describe('the playground page', () => {
  let browser: Browser;
  let repo: TestRepo;
  let model: ScriptedModel;
  let app: AppProcess | undefined;
  let problems: string[] = [];
  let pages: Page[] = [];

  beforeAll(async () => {
    [browser, repo, model] = await Promise.all([
      launchBrowser(),
      createRepo({ files: defaultRepoFiles }),
      new ScriptedModel({ apiKey: 'sk-playground-test-key-0123456789' }).start(),
    ]);
  });

  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && app) {
      // A failed page test says what the app logged, so a rare failure in CI can be explained.
      const notable = app.logs.filter((line) => line.level >= 40 || /^job-/.test(line.msg));
      console.log(
        `app log for the failed test:\n${notable.map((line) => JSON.stringify(line)).join('\n')}\n${app.stderr}`,
      );
    }
    await Promise.all(pages.map((page) => page.close()));
    pages = [];
    model.respondWith(undefined);
    model.reset();
    await app?.stop();
    app?.cleanup();
    app = undefined;
    expect(problems, 'console errors or CSP violations in the page').toEqual([]);
    problems = [];
  });

  afterAll(async () => {
    await browser?.close();
    await model?.stop();
    await repo?.cleanup();
  });

  const withModel = () => ({ OPENAI_API_KEY: model.apiKey, OPENAI_BASE_URL: model.baseUrl });

  async function open(env: Record<string, string>): Promise<Page> {
    app = new AppProcess({ SHIPMATE_PLAYGROUND: '1', SHIPMATE_REPO: repo.dir, ...env });
    await app.start({ waitFor: 'playground-ready' });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    pages.push(page);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    const started = Date.now();
    await page.goto(`${app.baseUrl}/playground`);
    await page.locator('body[data-ready="true"]').waitFor();
    const domContentLoaded = await page.evaluate<number>(
      'Math.round(performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd)',
    );
    const firstDraw = Date.now() - started;
    console.log(`playground page: DOMContentLoaded ${domContentLoaded} ms, first draw ${firstDraw} ms`);
    expect(domContentLoaded).toBeLessThan(2_000);
    return page;
  }

  it('shows the status, then the answer, continues in a thread, and the native Stop stops a job', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    model.respondWith(async () => {
      await gate;
      return { content: 'Shipping is charged twice in **src/shipping.ts:4**. See `addShipping()`.' };
    });
    const page = await open(withModel());
    expect(app!.logs.some((line) => line.msg === 'playground-ready')).toBe(true);
    expect(
      app!.logs.some((line) => /^shipmate playground: http:\/\/localhost:\d+\/playground$/.test(line.msg)),
    ).toBe(true);

    await page.fill('#text', '@shipmate why does checkout double-charge shipping?');
    await page.press('#text', 'Enter');
    await page.locator('#messages .message', { hasText: 'why does checkout' }).locator('.mention').waitFor();
    await page
      .locator('#messages .replies', { hasText: /\d+ repl/ })
      .first()
      .click();
    // The playground's workspace streams: the work shows as task cards in one message.
    const working = page.locator('#replies .task[data-status="in_progress"]').first();
    await expect
      .poll(() => working.textContent(), { timeout: 15_000 })
      .toMatch(/Looking|Preparing|Reading|Thinking/);
    expect(await page.locator('#replies .message.bot .stream-text').count()).toBe(0);

    release();
    const answer = page.locator('#replies .message.bot', { hasText: 'Shipping is charged twice' });
    await answer.waitFor();
    expect(await answer.locator('b', { hasText: 'src/shipping.ts:4' }).count()).toBe(1);
    expect(await answer.locator('code', { hasText: 'addShipping()' }).count()).toBe(1);
    await expect
      .poll(() => page.locator('#replies .task[data-status="in_progress"]').count(), { timeout: 15_000 })
      .toBe(0);
    expect(await page.locator('#replies .task[data-status="complete"]').count()).toBeGreaterThan(1);
    expect(await page.locator('#messages .reactions', { hasText: '👀' }).count()).toBe(1);

    model.respondWith(undefined);
    model.enqueue({ hang: true });
    await page.fill('#replyText', 'and who calls it?');
    await page.press('#replyText', 'Enter');
    await page.locator('#replies .message:not(.bot)', { hasText: 'and who calls it?' }).waitFor();
    // Slack's native Stop, shown while the thread's session is processing, cancels the job.
    const stop = page.locator('#session button[data-stop]');
    await stop.waitFor();
    await model.waitForRequests(2, 15_000);
    await stop.click();
    await page
      .locator('#replies .message.bot', { hasText: /Stopping…|Cancelled\./ })
      .waitFor({ timeout: 15_000 });
    await expect.poll(() => stop.count(), { timeout: 15_000 }).toBe(0);
    await page.screenshot({ path: join(artifactsDir, 'playground.png'), fullPage: true });
  });

  it('saves a team script through the Save as team script form', async () => {
    model.enqueue(
      {
        toolCalls: [
          {
            name: 'shell',
            arguments: { command: 'cat > /tmp/x.sh <<"EOF"\nls src | wc -l\nEOF\nbash /tmp/x.sh' },
          },
        ],
      },
      { content: 'There are 2 files in src.' },
    );
    const page = await open(withModel());
    await page.fill('#text', '@shipmate how many files are in src? write a small script for it');
    await page.press('#text', 'Enter');
    await page
      .locator('#messages .replies', { hasText: /\d+ repl/ })
      .first()
      .click();
    await page.locator('#replies .message.bot', { hasText: 'There are 2 files in src.' }).waitFor();
    await page.locator('#replies button[data-action="script_save_open"]').click();

    const dialog = page.locator('dialog#modal[open]');
    await dialog.waitFor();
    await dialog.locator('input[data-input="name"]').fill('count-src');
    await page.screenshot({ path: join(artifactsDir, 'playground-modal.png') });
    await dialog.locator('button[value="submit"]').click();
    await page.locator('#replies .message.bot', { hasText: 'count-src' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('dialog#modal[open]').count()).toBe(0);
    await expect
      .poll(() => page.locator('#replies .task[data-status="in_progress"]').count(), { timeout: 15_000 })
      .toBe(0);
  });

  it('shows a very long answer as a file, inline', async () => {
    const long = Array.from({ length: 1_600 }, (_, index) => `Line ${index + 1} of the long answer.`).join(
      '\n',
    );
    model.enqueue({ content: long });
    const page = await open(withModel());
    await page.fill('#text', '@shipmate explain everything');
    await page.press('#text', 'Enter');
    await page
      .locator('#messages .replies', { hasText: /\d+ repl/ })
      .first()
      .click();
    const file = page.locator('#replies .file', { hasText: 'Full answer' });
    await file.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => file.locator('pre').textContent(), { timeout: 15_000 })
      .toContain('Line 1600 of the long answer.');
  });

  it('says which variables to set when no model is configured, in a channel and in a DM', async () => {
    const page = await open({});
    await page.fill('#text', '@shipmate hello?');
    await page.press('#text', 'Enter');
    await page
      .locator('#messages .replies', { hasText: /\d+ repl/ })
      .first()
      .click();
    const reply = page.locator('#replies .message.bot', { hasText: 'OPENAI_API_KEY' });
    await reply.waitFor();
    expect(await reply.textContent()).toContain('OPENAI_BASE_URL');

    await page.locator('#channels button', { hasText: 'shipmate' }).click();
    await page.selectOption('#user', 'U0BOB');
    await page.fill('#text', 'where is shipping computed?');
    await page.press('#text', 'Enter');
    await page.locator('#messages .message', { hasText: 'where is shipping computed?' }).waitFor();
    await page
      .locator('#messages .replies', { hasText: /\d+ repl/ })
      .first()
      .click();
    await page.locator('#replies .message.bot', { hasText: 'OPENAI_API_KEY' }).waitFor();
    expect(await page.locator('#messages .who', { hasText: 'bob' }).count()).toBe(1);
  });

  it('refuses requests from other sites and other host names', async () => {
    await open({});
    const url = `${app!.baseUrl}/playground/post`;
    const body = JSON.stringify({ channel: 'C0GENERAL', text: '@shipmate hi' });
    const attempts: Array<Record<string, string>> = [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/json', origin: 'https://evil.example' },
      { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      { 'content-type': 'application/json', host: `rebound.evil.example:${app!.port}` },
    ];
    for (const headers of attempts) {
      expect(await statusOf(url, 'POST', headers, body), JSON.stringify(headers)).toBe(403);
    }
    const rebound = { host: `rebound.evil.example:${app!.port}` };
    expect(await statusOf(`${app!.baseUrl}/playground/state`, 'GET', rebound)).toBe(403);
    expect(
      await statusOf(`${app!.baseUrl}/playground/state`, 'GET', { host: `localhost:${app!.port}` }),
    ).toBe(200);
    const page = await fetch(`${app!.baseUrl}/playground`);
    expect(page.headers.get('content-security-policy')).toMatch(/connect-src 'self'/);
    const malformed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"channel":',
    });
    expect(malformed.status).toBe(400);
  });
});

/** A raw HTTP request, so the Host header is the one given (fetch sets its own). */
function statusOf(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The few DOM members the renderer test touches (the test tsconfig has no DOM lib). */
interface DomNode {
  innerHTML: string;
  textContent: string | null;
  querySelectorAll(selector: string): { length: number };
}

describe("the playground's Markdown renderer", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const cases: Array<[string, 'markdown' | 'mrkdwn', string]> = [
    ['plain text', 'markdown', '<div class="md"><p>plain text</p></div>'],
    ['<img src=x onerror=alert(1)>', 'markdown', '<p>&lt;img src=x onerror=alert(1)&gt;</p>'],
    ['**bold** and *it* and _it_', 'markdown', '<b>bold</b> and <i>it</i> and <i>it</i>'],
    ['*bold* and _it_ and ~gone~', 'mrkdwn', '<b>bold</b> and <i>it</i> and <s>gone</s>'],
    ['use `a <b> **c**`', 'markdown', 'use <code>a &lt;b&gt; **c**</code>'],
    [
      '```ts\nconst x = "<script>";\n```',
      'markdown',
      '<pre><code>const x = &quot;&lt;script&gt;&quot;;</code></pre>',
    ],
    ['- one\n- two\n1. first', 'markdown', '<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>'],
    ['## Heading', 'markdown', '<h4>Heading</h4>'],
    ['> quoted', 'markdown', '<blockquote>quoted</blockquote>'],
    [
      '[docs](https://example.com/a_b_?x=1&y=2)',
      'markdown',
      '<a href="https://example.com/a_b_?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">docs</a>',
    ],
    ['[bad](javascript:alert(1))', 'markdown', '[bad](javascript:alert(1))'],
    [
      '[x](https://a.example/"onmouseover="alert(1))',
      'markdown',
      'href="https://a.example/&quot;onmouseover=&quot;alert(1"',
    ],
    ['<https://github.com/o/r/pull/7|#7>', 'mrkdwn', '>#7</a>'],
    ['see https://example.com/x.', 'markdown', '<a href="https://example.com/x" target'],
    [
      'ask <@U0BOT> and <@U0BOB>',
      'markdown',
      '<b class="mention">@shipmate</b> and <b class="mention">@bob</b>',
    ],
    ['', 'markdown', '<div class="md"></div>'],
  ];

  it('escapes first, then adds only the tags it knows (table)', async () => {
    const page = await browser.newPage();
    await page.setContent(`<script>${markdownScript}</script>`);
    const rendered = await page.evaluate(
      (inputs) => {
        const names: Record<string, string> = { U0BOT: 'shipmate', U0BOB: 'bob' };
        const md = (
          globalThis as unknown as {
            createMarkdown: (nameOf: (id: string) => string) => Record<string, (text: string) => string>;
          }
        ).createMarkdown((id) => names[id] ?? id);
        return inputs.map(([text, flavour]) => md[flavour]!(text));
      },
      cases.map(([text, flavour]) => [text, flavour] as const),
    );
    cases.forEach(([input, , expected], index) => {
      expect(rendered[index], input).toContain(expected);
      expect(rendered[index], input).not.toMatch(/<(script|img|iframe)|<[^>]*\son\w+=|href="javascript:/i);
    });
    const nodes = await page.evaluate(() => {
      const dom = globalThis as unknown as {
        createMarkdown: (n: (id: string) => string) => { markdown: (t: string) => string };
        document: { createElement(tag: string): DomNode };
      };
      const host = dom.document.createElement('div');
      host.innerHTML = dom
        .createMarkdown((id) => id)
        .markdown('<img src=x onerror="window.pwned=1"> [x](https://a.example/"><img src=x>)');
      return { images: host.querySelectorAll('img').length, text: host.textContent };
    });
    expect(nodes.images).toBe(0);
    expect(nodes.text).toContain('<img src=x');
    await page.close();
  });
});

describe('who may use the playground', () => {
  const json = { 'content-type': 'application/json' };
  const cases: Array<[string, string, Record<string, string>, string | undefined]> = [
    ['the page from localhost', 'GET', { host: 'localhost:3000' }, undefined],
    ['state from 127.0.0.1', 'GET', { host: '127.0.0.1:3000' }, undefined],
    ['state from [::1]', 'GET', { host: '[::1]:3000' }, undefined],
    ['a LAN address', 'GET', { host: '192.168.1.20:3000' }, undefined],
    ['a rebound name', 'GET', { host: 'attacker.example:3000' }, 'unknown host'],
    ['no Host at all', 'GET', {}, 'unknown host'],
    [
      'a same-origin post',
      'POST',
      { host: 'localhost:3000', origin: 'http://localhost:3000', ...json },
      undefined,
    ],
    ['a post without Origin (curl)', 'POST', { host: 'localhost:3000', ...json }, undefined],
    [
      'a form post',
      'POST',
      { host: 'localhost:3000', 'content-type': 'application/x-www-form-urlencoded' },
      'expected application/json',
    ],
    [
      'a text/plain post',
      'POST',
      { host: 'localhost:3000', 'content-type': 'text/plain' },
      'expected application/json',
    ],
    [
      'another origin',
      'POST',
      { host: 'localhost:3000', origin: 'http://localhost:5173', ...json },
      'cross-origin request',
    ],
    [
      'a cross-site fetch',
      'POST',
      { host: 'localhost:3000', 'sec-fetch-site': 'cross-site', ...json },
      'cross-site request',
    ],
  ];
  it.each(cases)('%s', (_name, method, headers, refusal) => {
    expect(refuseForeignRequest(method, headers)).toBe(refusal);
  });

  it('accepts a host name the operator allowed', () => {
    expect(refuseForeignRequest('GET', { host: 'devbox.lan:3000' }, ['devbox.lan'])).toBeUndefined();
  });

  it('turns @shipmate and @names into mentions, leaving e-mail addresses and strangers alone', () => {
    expect(withMentions('@shipmate ask @Bob, not @dave or carol@example.com', 'U0BOT')).toBe(
      '<@U0BOT> ask <@U0BOB>, not @dave or carol@example.com',
    );
  });
});
