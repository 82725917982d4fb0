import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { type EmulatedUser, SlackEmulator } from '../emulator/slack-emulator.js';
import { refuseForeignRequest } from './playground-guard.js';
import { playgroundCsp, playgroundPage } from './playground-page.js';

export interface Playground {
  /** Emulator Web API base URL for the Bolt client (SLACK_API_URL equivalent). */
  apiUrl: string;
  botToken: string;
  signingSecret: string;
  /** Handles every request under /playground (page, state, post, click, SSE, files). */
  route: (request: IncomingMessage, response: ServerResponse) => void;
  /** Tell the emulator where the app's /slack/events is once the HTTP server listens. */
  attach(eventsUrl: string): void;
  stop(): Promise<void>;
}

export interface PlaygroundOptions {
  channels: Array<{ id: string; name: string }>;
  log: Logger;
  /** Host names besides loopback and IP literals the page may be served under (a LAN name). */
  allowedHosts?: readonly string[];
  /** The bot token's scopes in the emulator; default the bot scopes of slack-app-manifest.yaml. */
  scopes?: readonly string[];
}

/** The people in the playground; the first is "you". */
export const playgroundUsers: readonly EmulatedUser[] = [
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Anders' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Brandt' },
  { id: 'U0CAROL', name: 'carol', realName: 'Carol Chen' },
];
const me = playgroundUsers[0]!.id;
const userId = z.enum(playgroundUsers.map((user) => user.id) as [string, ...string[]]).default(me);
const postSchema = z.object({
  user: userId,
  channel: z.string().min(1).max(40),
  text: z.string().trim().min(1).max(40_000),
  threadTs: z.string().max(40).optional(),
});
const clickSchema = z.object({
  user: userId,
  channel: z.string().min(1).max(40),
  messageTs: z.string().min(1).max(40),
  actionId: z.string().min(1).max(255),
  value: z.string().max(2_000).optional(),
});
const stopSchema = z.object({
  user: userId,
  channel: z.string().min(1).max(40),
  threadTs: z.string().min(1).max(40),
});
const submitSchema = z.object({
  user: userId,
  viewId: z.string().min(1).max(40),
  /** block_id → action_id → typed value */
  values: z.record(z.string(), z.record(z.string(), z.string().max(40_000))),
});

/**
 * A small Slack in the browser. The page talks to the in-process Slack emulator (the same one
 * the tests use); the emulator signs events and delivers them to the app's own /slack/events,
 * so everything after that is the real receiver, handlers, jobs and agent.
 */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const botToken = `xoxb-playground-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(24).toString('hex');
  const emulator = new SlackEmulator({
    botToken,
    signingSecret,
    channels: options.channels,
    users: [...playgroundUsers],
    ...(options.scopes ? { scopes: [...options.scopes] } : {}),
  });
  await emulator.start();
  const listeners = new Set<ServerResponse>();
  emulator.on('change', (change) => {
    const line = `data: ${JSON.stringify({ type: change.type })}\n\n`;
    for (const listener of listeners) listener.write(line);
  });

  const state = (user: string) => {
    const dm = emulator.directChannelId(user);
    return {
      me: user,
      bot: emulator.botUserId,
      users: playgroundUsers.map(({ id, name }) => ({ id, name })),
      channels: [
        ...options.channels.map((channel) => ({ ...channel, kind: 'channel' })),
        { id: dm, name: 'shipmate', kind: 'dm' },
      ].map((channel) => ({
        ...channel,
        messages: emulator.messagesIn(channel.id),
        // Streamed messages (task cards, plan, text as it arrives) and each thread's agent session.
        streams: emulator.streamsIn(channel.id),
        sessions: emulator.agentSessionsIn(channel.id),
      })),
      views: emulator.openedViews(),
    };
  };

  const post = async (input: z.infer<typeof postSchema>) => {
    const target = {
      user: input.user,
      channel: input.channel,
      text: withMentions(input.text, emulator.botUserId),
      ...(input.threadTs ? { threadTs: input.threadTs } : {}),
    };
    if (input.channel === emulator.directChannelId(input.user)) return emulator.directMessage(target);
    if (!options.channels.some((channel) => channel.id === input.channel))
      throw new RequestError('no such channel');
    return target.text.includes(`<@${emulator.botUserId}>`)
      ? emulator.mention(target)
      : emulator.postMessage(target);
  };

  const handle = async (path: string, request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET' && (path === '/playground' || path === '/playground/')) {
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': playgroundCsp,
        ...baseHeaders,
      });
      return response.end(playgroundPage);
    }
    if (request.method === 'GET' && path === '/playground/state') {
      const asked = new URL(request.url ?? '', 'http://localhost').searchParams.get('user') || me;
      return json(response, 200, state(userId.parse(asked)));
    }
    if (request.method === 'GET' && path === '/playground/events') {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        connection: 'keep-alive',
        ...baseHeaders,
      });
      response.write(': connected\n\n');
      listeners.add(response);
      request.on('close', () => listeners.delete(response));
      return;
    }
    const file = /^\/playground\/files\/(F\w+)$/.exec(path);
    if (request.method === 'GET' && file?.[1]) {
      const content = emulator.fileContent(file[1]);
      if (!content) return json(response, 404, { error: 'no such file' });
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...baseHeaders });
      return response.end(content);
    }
    if (request.method !== 'POST') return json(response, 404, { error: 'not found' });
    const body = await readJson(request);
    if (path === '/playground/post')
      return json(response, 200, { ts: (await post(postSchema.parse(body))).ts });
    if (path === '/playground/click') {
      const input = clickSchema.parse(body);
      if (!emulator.message(input.channel, input.messageTs)) throw new RequestError('no such message');
      await emulator.clickButton(input);
      return json(response, 200, { ok: true });
    }
    if (path === '/playground/stop') {
      // The native Stop on a thread's agent session; the emulator refuses it unless processing.
      const input = stopSchema.parse(body);
      if (emulator.agentSession(input.channel, input.threadTs)?.status !== 'processing')
        throw new RequestError('nothing to stop');
      await emulator.clickStop(input.channel, input.threadTs, input.user);
      return json(response, 200, { ok: true });
    }
    if (path === '/playground/submit') {
      const input = submitSchema.parse(body);
      if (!emulator.openedViews().some((view) => view.id === input.viewId))
        throw new RequestError('no such form');
      await emulator.submitView({ user: input.user, view: input.viewId, values: typedValues(input.values) });
      return json(response, 200, { ok: true });
    }
    json(response, 404, { error: 'not found' });
  };

  const route = (request: IncomingMessage, response: ServerResponse): void => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const refused = refuseForeignRequest(request.method, request.headers, options.allowedHosts);
    if (refused) {
      options.log.warn({ path, reason: refused, host: request.headers.host }, 'playground-request-refused');
      json(response, 403, { error: refused });
      return;
    }
    handle(path, request, response).catch((error: unknown) => {
      const known = error instanceof RequestError || error instanceof z.ZodError;
      if (!known) options.log.warn({ err: error, path }, 'playground-request-failed');
      if (response.headersSent) return;
      json(response, known ? 400 : 502, {
        error: error instanceof z.ZodError ? 'malformed request' : (error as Error).message,
      });
    });
  };

  return {
    apiUrl: emulator.apiUrl,
    botToken,
    signingSecret,
    route,
    attach: (eventsUrl) => emulator.setEventsUrl(eventsUrl),
    async stop() {
      for (const listener of listeners) listener.end();
      listeners.clear();
      await emulator.stop();
    },
  };
}

const baseHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

class RequestError extends Error {}

/** `@shipmate` and `@alice` typed in the page become Slack's `<@U…>` mentions. */
export function withMentions(text: string, botUserId: string): string {
  return text.replace(/(^|[^\w<])@([a-z][\w.-]*)/gi, (whole, before: string, name: string) => {
    const lower = name.toLowerCase();
    if (lower === 'shipmate') return `${before}<@${botUserId}>`;
    const user = playgroundUsers.find((candidate) => candidate.name === lower);
    return user ? `${before}<@${user.id}>` : whole;
  });
}

/** The page sends plain strings; a view submission carries typed element states. */
function typedValues(values: Record<string, Record<string, string>>) {
  return Object.fromEntries(
    Object.entries(values).map(([blockId, actions]) => [
      blockId,
      Object.fromEntries(
        Object.entries(actions).map(([actionId, value]) => [actionId, { type: 'plain_text_input', value }]),
      ),
    ]),
  );
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...baseHeaders });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new RequestError('request too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    // The zod schema that follows is the real check; malformed JSON is just a bad request.
    throw new RequestError('malformed JSON');
  }
}
