import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { type EmulatorChange, SlackEmulator } from '../emulator/slack-emulator.js';
import { playgroundPage } from './playground-page.js';

export interface Playground {
  /** Emulator Web API base URL for the Bolt client. */
  apiUrl: string;
  botToken: string;
  signingSecret: string;
  /** Everything under /playground: the page, its state, posting, clicks, live updates, files. */
  route: (request: IncomingMessage, response: ServerResponse) => void;
  /** Where the app's /slack/events listens, once the server is up. */
  attach(eventsUrl: string): void;
  stop(): Promise<void>;
}

const me = 'U0ALICE';

const postSchema = z.object({
  channel: z.string().min(1),
  text: z.string().min(1).max(40_000),
  threadTs: z.string().optional(),
  user: z.string().default(me),
});
const clickSchema = z.object({
  channel: z.string(),
  messageTs: z.string(),
  actionId: z.string(),
  value: z.string().optional(),
  user: z.string().default(me),
});
const submitSchema = z.object({
  viewId: z.string(),
  values: z.record(z.string(), z.string()),
  user: z.string().default(me),
});

/**
 * A small Slack in the browser. The page talks to the in-process Slack emulator (the same
 * one the tests use); the emulator signs events and delivers them to the app's own
 * /slack/events, so everything after that is the real receiver, handlers, jobs and agent.
 */
export async function startPlayground(options: {
  channels: Array<{ id: string; name: string }>;
  log: Logger;
}): Promise<Playground> {
  const botToken = `xoxb-playground-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(24).toString('hex');
  const emulator = new SlackEmulator({ botToken, signingSecret, channels: options.channels });
  await emulator.start();
  const listeners = new Set<ServerResponse>();
  emulator.on('change', (change: EmulatorChange) => {
    const line = `data: ${JSON.stringify({ type: change.type })}\n\n`;
    for (const listener of listeners) listener.write(line);
  });

  const state = () => ({
    me,
    bot: emulator.botUserId,
    users: ['U0ALICE', 'U0BOB', 'U0CAROL'],
    channels: options.channels.map((channel) => ({ ...channel, messages: emulator.messagesIn(channel.id) })),
    views: emulator.openedViews(),
  });

  const route = (request: IncomingMessage, response: ServerResponse): void => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    handle(path, request, response).catch((error: unknown) => {
      options.log.warn({ err: error, path }, 'playground-request-failed');
      if (!response.headersSent) json(response, 400, { error: (error as Error).message });
    });
  };

  const handle = async (path: string, request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET' && (path === '/playground' || path === '/playground/')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(playgroundPage);
      return;
    }
    if (request.method === 'GET' && path === '/playground/state') return json(response, 200, state());
    if (request.method === 'GET' && path === '/playground/events') {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      response.write(': connected\n\n');
      listeners.add(response);
      request.on('close', () => listeners.delete(response));
      return;
    }
    const file = /^\/playground\/files\/([\w-]+)$/.exec(path);
    if (request.method === 'GET' && file?.[1]) {
      const content = emulator.fileContent(file[1]);
      if (!content) return json(response, 404, { error: 'no such file' });
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(content);
      return;
    }
    if (request.method !== 'POST') return json(response, 404, { error: 'not found' });
    const body: unknown = JSON.parse((await readBody(request)) || '{}');
    if (path === '/playground/post') {
      const input = postSchema.parse(body);
      const text = input.text.replace(/@shipmate\b/gi, `<@${emulator.botUserId}>`);
      const target = {
        user: input.user,
        channel: input.channel,
        text,
        ...(input.threadTs ? { threadTs: input.threadTs } : {}),
      };
      const result = text.includes(`<@${emulator.botUserId}>`)
        ? await emulator.mention(target)
        : await emulator.postMessage(target);
      return json(response, 200, { ts: result.ts });
    }
    if (path === '/playground/click') {
      const input = clickSchema.parse(body);
      await emulator.clickButton(input);
      return json(response, 200, { ok: true });
    }
    if (path === '/playground/submit') {
      const input = submitSchema.parse(body);
      const values = Object.fromEntries(
        Object.entries(input.values).map(([id, value]) => [
          id,
          { [id]: { type: 'plain_text_input', value } },
        ]),
      );
      await emulator.submitView({ user: input.user, view: input.viewId, values });
      return json(response, 200, { ok: true });
    }
    json(response, 404, { error: 'not found' });
  };

  return {
    apiUrl: emulator.apiUrl,
    botToken,
    signingSecret,
    route,
    attach: (eventsUrl) => emulator.setEventsUrl(eventsUrl),
    async stop() {
      for (const listener of listeners) listener.end();
      await emulator.stop();
    },
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new Error('request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
