import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

  beforeAll(async () => {
    [browser, repo, model] = await Promise.all([
      launchBrowser(),
      createRepo({ files: defaultRepoFiles }),
      new ScriptedModel({ apiKey: 'sk-playground-test-key-0123456789' }).start(),
    ]);
  });

  afterEach(async () => {
    await app?.stop();
    app?.cleanup();
    app = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await model?.stop();
    await repo?.cleanup();
  });

  async function open(env: Record<string, string>): Promise<Page> {
    app = new AppProcess({ SHIPMATE_PLAYGROUND: '1', SHIPMATE_REPO: repo.dir, ...env });
    await app.start({ waitFor: 'playground-ready' });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const started = Date.now();
    await page.goto(`${app.baseUrl}/playground`);
    await page.locator('#channels button', { hasText: 'general' }).waitFor();
    console.log(`playground page ready in ${Date.now() - started} ms`);
    return page;
  }

  it('answers a mention live, continues in a thread, and its buttons work', async () => {
    model.enqueue({ content: 'Shipping is charged twice in **src/shipping.ts:4**.' });
    const page = await open({ OPENAI_API_KEY: model.apiKey, OPENAI_BASE_URL: model.baseUrl });
    expect(
      app!.logs.some((line) => /shipmate playground: http:\/\/localhost:\d+\/playground/.test(line.msg)),
    ).toBe(true);

    await page.fill('#text', '@shipmate why does checkout double-charge shipping?');
    await page.press('#text', 'Enter');
    await page.locator('#messages .replies', { hasText: /repl/ }).first().click();
    await page.locator('#replies .message.bot', { hasText: 'Shipping is charged twice' }).waitFor();
    await page
      .locator('#replies .message.bot .context', { hasText: /Done|Looking|question/ })
      .first()
      .waitFor();
    expect(await page.locator('#replies b', { hasText: 'src/shipping.ts:4' }).count()).toBe(1);

    model.enqueue({ hang: true });
    await page.fill('#replyText', 'and who calls it?');
    await page.press('#replyText', 'Enter');
    const cancel = page.locator('#replies button[data-action="job_cancel"]').last();
    await cancel.waitFor();
    await model.waitForRequests(2, 15_000);
    await cancel.click();
    await page.locator('#replies .context', { hasText: 'Cancelled.' }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(artifactsDir, 'playground.png'), fullPage: true });
  });

  it('says which variables to set when no model is configured', async () => {
    const page = await open({});
    await page.fill('#text', '@shipmate hello?');
    await page.press('#text', 'Enter');
    await page.locator('#messages .replies').first().click();
    const reply = page.locator('#replies .message.bot', { hasText: 'OPENAI_API_KEY' });
    await reply.waitFor();
    expect(await reply.textContent()).toContain('OPENAI_BASE_URL');
  });
});
