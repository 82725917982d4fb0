import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LogLevel, WebClient } from '@slack/web-api';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { manifestBotScopes } from '../../src/slack/emulator/scopes.js';
import { type Playground, startPlayground } from '../../src/slack/playground/playground.js';
import { artifactsDir, launchBrowser } from '../support/browser.js';
import { waitFor } from '../support/slack-emulator.js';

/**
 * The playground's rendering of streamed messages and agent sessions, driven straight through
 * the emulator's Web API (a WebClient pointed at it, as the app would call it): task cards that
 * change state, text that grows, the native Stop while the session is processing, shared files.
 */
describe('the playground shows streams, task cards, the Stop button and files', () => {
  let browser: Browser;
  let playground: Playground;
  let server: Server;
  let sink: Server;
  let baseUrl: string;
  let client: WebClient;
  const events: Array<Record<string, unknown>> = [];
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    // The app's /slack/events stand-in: records the events the page's clicks make the emulator send.
    sink = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    playground = await startPlayground({
      channels: [{ id: 'C0GENERAL', name: 'general' }],
      log: createLogger({ level: 'silent' }),
      // Declared as an agent: "Declaring an app as an agent adds the assistant:write scope" (docs.slack.dev/ai/agent-sessions).
      scopes: [...new Set([...manifestBotScopes(), 'assistant:write'])],
    });
    playground.attach(`http://127.0.0.1:${(sink.address() as AddressInfo).port}/slack/events`);
    server = createServer((request, response) => playground.route(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new WebClient(playground.botToken, { slackApiUrl: playground.apiUrl, logLevel: LogLevel.ERROR });
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (sink ? sink.close(() => resolve()) : resolve()));
  });

  async function open(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${baseUrl}/playground`);
    await page.locator('body[data-ready="true"]').waitFor();
    return page;
  }

  type Status = 'pending' | 'in_progress' | 'complete' | 'error';
  const task = (id: string, title: string, status: Status, details?: string) => ({
    type: 'task_update' as const,
    id,
    title,
    status,
    ...(details ? { details } : {}),
  });

  it('draws task cards as they change, the text as it grows, Stop while processing, and a file', async () => {
    const page = await open();
    await page.fill('#text', '@shipmate why is CI red?');
    await page.press('#text', 'Enter');
    const history = await waitFor(async () => {
      const found = await client.conversations.history({ channel: 'C0GENERAL' });
      return found.messages?.find((message) => message.text?.includes('why is CI red?'));
    });
    const threadTs = history.ts ?? '';
    await page.locator('#messages .message', { hasText: 'why is CI red?' }).locator('.replies').click();

    await client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'processing',
      title: 'Why CI is red',
    });
    const stop = page.locator('#session button[data-stop]');
    await stop.waitFor();

    const started = await client.chat.startStream({
      channel: 'C0GENERAL',
      thread_ts: threadTs,
      recipient_user_id: 'U0ALICE',
      recipient_team_id: 'T0001',
      chunks: [task('read', 'Reading the workflow', 'in_progress')],
    });
    const ts = started.ts ?? '';
    const message = page.locator(`#replies .message[data-message-ts="${ts}"]`);
    const readCard = message.locator('.task[data-task="read"]');
    await expect.poll(() => readCard.getAttribute('data-status')).toBe('in_progress');

    const append = (chunks: unknown[]) =>
      client.apiCall('chat.appendStream', { channel: 'C0GENERAL', ts, chunks });
    await append([
      task('read', 'Reading the workflow', 'complete', '.github/workflows/ci.yml'),
      { type: 'markdown_text', text: 'The **lint** step' },
    ]);
    await expect.poll(() => readCard.getAttribute('data-status')).toBe('complete');
    await expect.poll(() => readCard.locator('.task-detail').textContent()).toBe('.github/workflows/ci.yml');
    const text = message.locator('.stream-text');
    await expect.poll(() => text.textContent()).toBe('The lint step');
    expect(await text.locator('b', { hasText: 'lint' }).count()).toBe(1);

    await append([
      task('run', 'Running npm run lint', 'in_progress'),
      { type: 'markdown_text', text: ' fails on ' },
    ]);
    await append([{ type: 'markdown_text', text: 'an unused import.' }]);
    await expect.poll(() => text.allTextContents()).toEqual(['The lint step', ' fails on an unused import.']);
    await expect.poll(() => message.locator('.task').count()).toBe(2);
    expect(await message.locator('.task[data-task="run"]').getAttribute('data-status')).toBe('in_progress');
    expect(await message.locator('.stream').getAttribute('data-stream-state')).toBe('in_progress');

    await client.filesUploadV2({
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      filename: 'lint.log',
      content: 'src/a.ts: unused import\n',
      initial_comment: 'The lint output',
    });
    await page.locator('#replies .file .file-name', { hasText: 'lint.log' }).waitFor();
    await page.screenshot({ path: join(artifactsDir, 'playground-stream.png'), fullPage: true });

    await stop.click();
    await expect.poll(() => message.locator('.stream').getAttribute('data-stream-state')).toBe('completed');
    const stopped = await waitFor(() =>
      events
        .map((body) => body.event as Record<string, unknown>)
        .find((event) => event.type === 'agent_session_stopped'),
    );
    expect(stopped).toMatchObject({
      channel: 'C0GENERAL',
      thread_ts: threadTs,
      user: 'U0ALICE',
      streaming_message_ts: [ts],
    });
    expect(await message.locator('.context', { hasText: 'Stopped' }).count()).toBe(1);
    // Slack leaves the status to the app: Stop stays until the app sets the session active.
    expect(await page.locator('#session').getAttribute('data-session-status')).toBe('processing');
    await client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'active',
    });
    await expect.poll(() => page.locator('#session').getAttribute('data-session-status')).toBe('active');
    expect(await stop.count()).toBe(0);
    await page.screenshot({ path: join(artifactsDir, 'playground-stream-stopped.png'), fullPage: true });
    expect(problems, 'console errors or CSP violations in the page').toEqual([]);
    await page.close();
  });

  it('draws a plan with its title and the blocks chat.stopStream adds at the bottom', async () => {
    const page = await open();
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'Release checklist' });
    const threadTs = parent.ts ?? '';
    const started = await client.chat.startStream({
      channel: 'C0GENERAL',
      thread_ts: threadTs,
      recipient_user_id: 'U0BOB',
      recipient_team_id: 'T0001',
      task_display_mode: 'plan',
      chunks: [{ type: 'plan_update', title: 'Ship 1.2' }, task('tag', 'Tag the release', 'pending')],
    });
    const ts = started.ts ?? '';
    await page.locator('#messages .message', { hasText: 'Release checklist' }).locator('.replies').click();
    const message = page.locator(`#replies .message[data-message-ts="${ts}"]`);
    await expect.poll(() => message.locator('.plan .plan-title').textContent()).toBe('Ship 1.2');
    await client.chat.stopStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [task('tag', 'Tag the release', 'complete'), task('notes', 'Write the notes', 'error')],
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'open_pr', text: { type: 'plain_text', text: 'Open PR' } }],
        },
      ],
    });
    const statuses = () =>
      Promise.all(
        [0, 1].map((index) => message.locator('.plan .task').nth(index).getAttribute('data-status')),
      );
    await expect.poll(statuses).toEqual(['complete', 'error']);
    await message.locator('button[data-action="open_pr"]').waitFor();
    expect(await message.locator('.stream').getAttribute('data-stream-state')).toBe('completed');
    expect(await page.locator('#session').isHidden()).toBe(true);
    expect(problems, 'console errors or CSP violations in the page').toEqual([]);
    await page.close();
  });
});
