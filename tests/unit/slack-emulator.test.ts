import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidSlackRequest } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type EmulatorChange,
  type SlackEmulator,
  startSlackEmulator,
  TEST_APP_TOKEN,
  TEST_BOT_TOKEN,
  TEST_SIGNING_SECRET,
  waitForCall,
} from '../support/slack-emulator.js';
import { installSocketMode } from '../support/socket-mode.js';

interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  valid: boolean;
}

/** A stand-in app endpoint: Bolt's own signature check, 401 when it fails, records everything. */
async function startEventSink(respond: (request: ReceivedRequest) => string = () => '') {
  const requests: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const valid = isValidSlackRequest({
        signingSecret: TEST_SIGNING_SECRET,
        body,
        headers: {
          'x-slack-signature': String(request.headers['x-slack-signature']),
          'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']),
        },
      });
      const received = { headers: request.headers, body, valid };
      requests.push(received);
      response.writeHead(valid ? 200 : 401).end(valid ? respond(received) : 'invalid signature');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function eventsIn(requests: ReceivedRequest[]): Array<Record<string, unknown>> {
  return requests.map((request) => JSON.parse(request.body) as Record<string, unknown>);
}

function interactivePayload(request: ReceivedRequest): Record<string, unknown> {
  expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
  return JSON.parse(new URLSearchParams(request.body).get('payload') ?? '') as Record<string, unknown>;
}

async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
  return 'no error';
}

let emulator: SlackEmulator;
let sink: Awaited<ReturnType<typeof startEventSink>>;
let client: WebClient;

beforeEach(async () => {
  sink = await startEventSink();
  emulator = await startSlackEmulator({ eventsUrl: sink.url });
  client = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logLevel: LogLevel.ERROR });
});

afterEach(async () => {
  await emulator.stop();
  await sink.close();
});

describe('Web API', () => {
  it('answers auth.test for the bot token and refuses other tokens', async () => {
    const identity = await client.auth.test();
    expect(identity).toMatchObject({ ok: true, team_id: 'T0001', user_id: 'U0BOT', bot_id: 'B0BOT' });

    const stranger = new WebClient('xoxb-wrong', { slackApiUrl: emulator.apiUrl, logLevel: LogLevel.ERROR });
    expect(await slackError(stranger.auth.test())).toBe('invalid_auth');
    const anonymous = await fetch(`${emulator.apiUrl}auth.test`, { method: 'POST' });
    expect(await anonymous.json()).toEqual({ ok: false, error: 'not_authed' });
    expect(await slackError(client.apiCall('nothing.here'))).toBe('unknown_method');
  });

  it('threads a bot reply under a user mention, parent first in conversations.replies', async () => {
    const { ts } = await emulator.mention({ user: 'U0ALICE', text: 'why is CI red?' });
    const posted = await client.chat.postMessage({ channel: 'C0GENERAL', thread_ts: ts, text: 'Looking…' });

    const replies = await client.conversations.replies({ channel: 'C0GENERAL', ts });
    expect(replies.messages?.map((message) => message.text)).toEqual(['<@U0BOT> why is CI red?', 'Looking…']);
    expect(replies.messages?.[0]).toMatchObject({ user: 'U0ALICE', reply_count: 1, thread_ts: ts });
    expect(replies.messages?.[1]).toMatchObject({ bot_id: 'B0BOT', thread_ts: ts, ts: posted.ts });
    expect(emulator.threadReplies('C0GENERAL', ts)).toHaveLength(1);
    expect(emulator.botMessagesInThread('C0GENERAL', ts).map((message) => message.text)).toEqual([
      'Looking…',
    ]);
    expect(await slackError(client.conversations.replies({ channel: 'C0GENERAL', ts: '1.000000' }))).toBe(
      'thread_not_found',
    );
  });

  it('decodes blocks whether sent form-encoded by WebClient or as JSON', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }];
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'hi', blocks });
    const response = await fetch(`${emulator.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C0GENERAL', text: 'hi', blocks }),
    });
    expect(await response.json()).toMatchObject({ ok: true, channel: 'C0GENERAL' });
    expect(emulator.messagesIn('C0GENERAL').map((message) => message.blocks)).toEqual([blocks, blocks]);
    expect(emulator.callsTo('chat.postMessage').map((call) => call.args.blocks)).toEqual([blocks, blocks]);
  });

  it.each([
    ['nothing to show', {}, 'no_text'],
    ['markdown_text with text', { markdown_text: '**a**', text: 'a' }, 'markdown_text_conflict'],
    [
      'markdown_text with blocks',
      { markdown_text: 'a', blocks: [{ type: 'divider' }] },
      'markdown_text_conflict',
    ],
    ['markdown_text over 12000 characters', { markdown_text: 'x'.repeat(12_001) }, 'msg_too_long'],
    ['a block without a type', { blocks: [{ text: 'no type' }] }, 'invalid_blocks'],
    [
      'more than 50 blocks',
      { blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) },
      'invalid_blocks',
    ],
    [
      'a markdown block over 12000',
      { blocks: [{ type: 'markdown', text: 'x'.repeat(12_001) }] },
      'invalid_blocks',
    ],
    ['an unknown channel', { channel: 'C0NOPE', text: 'hi' }, 'channel_not_found'],
  ])('refuses chat.postMessage with %s', async (_name, args, error) => {
    expect(await slackError(client.chat.postMessage({ channel: 'C0GENERAL', ...args } as never))).toBe(error);
    expect(emulator.messagesIn('C0GENERAL')).toEqual([]);
  });

  it('accepts markdown_text up to 12000 characters and keeps it', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0GENERAL', markdown_text: 'y'.repeat(12_000) });
    expect(posted.message).toMatchObject({ markdown_text: 'y'.repeat(12_000) });
  });

  it('updates and deletes only its own messages', async () => {
    const { ts: userTs } = await emulator.postMessage({ user: 'U0BOB', text: 'hello' });
    const posted = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'draft' });
    const ts = posted.ts ?? '';

    await client.chat.update({ channel: 'C0GENERAL', ts, text: 'final' });
    expect(emulator.message('C0GENERAL', ts)).toMatchObject({ text: 'final', edited: { user: 'U0BOT' } });
    expect(await slackError(client.chat.update({ channel: 'C0GENERAL', ts: userTs, text: 'x' }))).toBe(
      'cant_update_message',
    );
    expect(await slackError(client.chat.update({ channel: 'C0GENERAL', ts: '1.000000', text: 'x' }))).toBe(
      'message_not_found',
    );

    await client.chat.delete({ channel: 'C0GENERAL', ts });
    expect(emulator.messagesIn('C0GENERAL').map((message) => message.ts)).toEqual([userTs]);
  });

  it('builds permalinks, with thread_ts and cid for replies', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'parent' });
    const reply = await client.chat.postMessage({
      channel: 'C0GENERAL',
      text: 'reply',
      thread_ts: parent.ts,
    });
    const parentLink = await client.chat.getPermalink({ channel: 'C0GENERAL', message_ts: parent.ts ?? '' });
    const replyLink = await client.chat.getPermalink({ channel: 'C0GENERAL', message_ts: reply.ts ?? '' });
    const p = (ts: string | undefined) => `p${(ts ?? '').replace('.', '')}`;
    expect(parentLink.permalink).toBe(`https://emulated.slack.local/archives/C0GENERAL/${p(parent.ts)}`);
    expect(replyLink.permalink).toBe(
      `https://emulated.slack.local/archives/C0GENERAL/${p(reply.ts)}?thread_ts=${parent.ts}&cid=C0GENERAL`,
    );
  });

  it('adds and removes reactions with Slack’s errors', async () => {
    const { ts } = await emulator.postMessage({ user: 'U0ALICE', text: 'deploy?' });
    await client.reactions.add({ channel: 'C0GENERAL', timestamp: ts, name: 'eyes' });
    expect(emulator.reactionsOn('C0GENERAL', ts)).toEqual([{ name: 'eyes', users: ['U0BOT'], count: 1 }]);
    expect(
      await slackError(client.reactions.add({ channel: 'C0GENERAL', timestamp: ts, name: 'eyes' })),
    ).toBe('already_reacted');
    await client.reactions.remove({ channel: 'C0GENERAL', timestamp: ts, name: 'eyes' });
    expect(emulator.reactionsOn('C0GENERAL', ts)).toEqual([]);
    expect(
      await slackError(client.reactions.remove({ channel: 'C0GENERAL', timestamp: ts, name: 'eyes' })),
    ).toBe('no_reaction');
  });

  it('pages conversations.history newest first with top-level messages only', async () => {
    const first = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'one' });
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'reply', thread_ts: first.ts });
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'two' });
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'three' });

    const page = await client.conversations.history({ channel: 'C0GENERAL', limit: 2 });
    expect(page.messages?.map((message) => message.text)).toEqual(['three', 'two']);
    expect(page.has_more).toBe(true);
    const rest = await client.conversations.history({
      channel: 'C0GENERAL',
      limit: 2,
      cursor: page.response_metadata?.next_cursor,
    });
    expect(rest.messages?.map((message) => message.text)).toEqual(['one']);
    expect(rest.has_more).toBe(false);
  });

  it('describes channels, DMs and users', async () => {
    // shipmate's manifest asks for none of these; Slack would answer missing_scope without them.
    emulator.setScopes([...emulator.scopes, 'channels:read', 'im:read', 'im:write']);
    expect((await client.conversations.info({ channel: 'C0GENERAL' })).channel).toMatchObject({
      id: 'C0GENERAL',
      name: 'general',
      is_channel: true,
      is_im: false,
    });
    const { channel } = await client.conversations.open({ users: 'U0CAROL' });
    expect((await client.conversations.info({ channel: channel?.id ?? '' })).channel).toMatchObject({
      is_im: true,
      is_channel: false,
    });
    expect((await client.users.info({ user: 'U0ALICE' })).user).toMatchObject({
      id: 'U0ALICE',
      name: 'alice',
      is_bot: false,
      profile: { display_name: 'alice' },
    });
    expect(await slackError(client.users.info({ user: 'U0NOBODY' }))).toBe('user_not_found');
  });

  it('uploads a file into a thread with filesUploadV2 and keeps its bytes', async () => {
    const { ts } = await emulator.mention({ user: 'U0ALICE', text: 'send the log' });
    const result = await client.filesUploadV2({
      channel_id: 'C0GENERAL',
      thread_ts: ts,
      filename: 'build.log',
      content: 'line 1\nline 2\n',
      initial_comment: 'Here is the log',
    });
    const reply = emulator.botMessagesInThread('C0GENERAL', ts)[0];
    expect(reply).toMatchObject({ text: 'Here is the log', thread_ts: ts });
    const fileId = reply?.files?.[0]?.id ?? '';
    expect(reply?.files).toEqual([{ id: fileId, name: 'build.log', title: 'build.log' }]);
    expect(emulator.fileContent(fileId)?.toString('utf8')).toBe('line 1\nline 2\n');
    expect(JSON.stringify(result)).toContain(fileId);
  });

  it('streams markdown with chatStream and refuses appends after stop', async () => {
    const { ts } = await emulator.mention({ user: 'U0ALICE', text: 'explain' });
    const streamer = client.chatStream({
      channel: 'C0GENERAL',
      thread_ts: ts,
      recipient_user_id: 'U0ALICE',
      recipient_team_id: 'T0001',
      buffer_size: 1,
    });
    await streamer.append({ markdown_text: '**Short** ' });
    await streamer.append({ markdown_text: 'answer.' });
    await streamer.stop({ blocks: [{ type: 'divider' }] });

    const [reply] = emulator.botMessagesInThread('C0GENERAL', ts);
    expect(reply).toMatchObject({ markdown_text: '**Short** answer.', blocks: [{ type: 'divider' }] });
    expect(emulator.callsTo('chat.appendStream')).toHaveLength(1);
    expect(
      await slackError(
        client.chat.appendStream({ channel: 'C0GENERAL', ts: reply?.ts ?? '', markdown_text: 'x' }),
      ),
    ).toBe('message_not_in_streaming_state');
  });

  it('records the latest assistant status per thread, ephemerals and opened views', async () => {
    const { ts } = await emulator.mention({ user: 'U0ALICE', text: 'hi' });
    await client.assistant.threads.setStatus({
      channel_id: 'C0GENERAL',
      thread_ts: ts,
      status: 'is reading…',
    });
    await client.assistant.threads.setStatus({
      channel_id: 'C0GENERAL',
      thread_ts: ts,
      status: 'is writing…',
    });
    expect(emulator.assistantStatus('C0GENERAL', ts)).toBe('is writing…');

    await client.chat.postEphemeral({ channel: 'C0GENERAL', user: 'U0BOB', text: 'only you' });
    expect(emulator.ephemeralMessages('C0GENERAL')).toMatchObject([{ user: 'U0BOB', text: 'only you' }]);
    expect(emulator.messagesIn('C0GENERAL')).toHaveLength(1);

    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Save' }, blocks: [] };
    expect(await slackError(client.views.open({ trigger_id: 'made.up', view }))).toBe('invalid_trigger_id');
    const opened = await client.views.open({ trigger_id: emulator.issueTriggerId(), view });
    expect(emulator.openedViews()).toMatchObject([{ id: opened.view?.id, type: 'modal' }]);
  });

  it('answers 429 with Retry-After for injected rate limits, then recovers', async () => {
    emulator.injectRateLimit('chat.postMessage', { times: 1, retryAfterSeconds: 7 });
    const impatient = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: emulator.apiUrl,
      rejectRateLimitedCalls: true,
      logLevel: LogLevel.ERROR,
    });
    const error = await impatient.chat
      .postMessage({ channel: 'C0GENERAL', text: 'x' })
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 7 });

    emulator.injectRateLimit('chat.postMessage', { times: 1, retryAfterSeconds: 0 });
    const patient = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: emulator.apiUrl,
      retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
      logLevel: LogLevel.ERROR,
    });
    await patient.chat.postMessage({ channel: 'C0GENERAL', text: 'after retry' });
    expect(emulator.callsTo('chat.postMessage')).toHaveLength(3);
    expect(emulator.messagesIn('C0GENERAL').map((message) => message.text)).toEqual(['after retry']);
  });

  it('fails a method with an injected error the given number of times and records every call', async () => {
    emulator.injectError('reactions.add', 'ratelimited', 1);
    const { ts } = await emulator.postMessage({ user: 'U0ALICE', text: 'hi' });
    expect(
      await slackError(client.reactions.add({ channel: 'C0GENERAL', timestamp: ts, name: 'eyes' })),
    ).toBe('ratelimited');
    await client.reactions.add({ channel: 'C0GENERAL', timestamp: ts, name: 'eyes' });
    expect(emulator.callsTo('reactions.add').map((call) => call.args)).toEqual([
      { channel: 'C0GENERAL', timestamp: ts, name: 'eyes' },
      { channel: 'C0GENERAL', timestamp: ts, name: 'eyes' },
    ]);
    emulator.reset();
    expect(emulator.calls).toEqual([]);
  });

  it('hands out unique, increasing ts values even with a frozen clock', async () => {
    await emulator.stop();
    emulator = await startSlackEmulator({ clock: () => 1_700_000_000_000 });
    const local = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logLevel: LogLevel.ERROR });
    const first = await local.chat.postMessage({ channel: 'C0GENERAL', text: 'a' });
    const second = await local.chat.postMessage({ channel: 'C0GENERAL', text: 'b' });
    expect([first.ts, second.ts]).toEqual(['1700000000.000000', '1700000000.000100']);
  });

  it('tells change listeners about posts, edits, reactions and statuses', async () => {
    const changes: EmulatorChange[] = [];
    emulator.on('change', (change) => changes.push(change));
    const posted = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'a' });
    await client.chat.update({ channel: 'C0GENERAL', ts: posted.ts ?? '', text: 'b' });
    await client.reactions.add({ channel: 'C0GENERAL', timestamp: posted.ts ?? '', name: 'tada' });
    await client.assistant.threads.setStatus({
      channel_id: 'C0GENERAL',
      thread_ts: posted.ts ?? '',
      status: 'x',
    });
    expect(changes.map((change) => change.type)).toEqual([
      'message-posted',
      'message-updated',
      'reaction-changed',
      'status-set',
    ]);
  });
});

describe('events to the app', () => {
  it('delivers a mention as signed app_mention and message events for the same ts', async () => {
    const { ts, deliveries } = await emulator.mention({ user: 'U0ALICE', text: '<@U0BOT> hello' });
    expect(deliveries.map((delivery) => delivery.status)).toEqual([200, 200]);
    expect(sink.requests.every((request) => request.valid)).toBe(true);
    const [mention, message] = eventsIn(sink.requests);
    expect(mention).toMatchObject({
      type: 'event_callback',
      team_id: 'T0001',
      authorizations: [{ team_id: 'T0001', user_id: 'U0BOT', is_bot: true }],
      event: { type: 'app_mention', user: 'U0ALICE', text: '<@U0BOT> hello', ts, channel: 'C0GENERAL' },
    });
    expect(message).toMatchObject({ event: { type: 'message', ts, channel_type: 'channel' } });
    expect(mention?.event_id).not.toBe(message?.event_id);
    expect(emulator.messagesIn('C0GENERAL')).toMatchObject([{ ts, user: 'U0ALICE' }]);
  });

  it('sends thread replies and DMs as message events', async () => {
    const { ts } = await emulator.mention({ user: 'U0ALICE', text: 'start', onlyAppMention: true });
    await emulator.postMessage({ user: 'U0BOB', text: 'more detail', threadTs: ts });
    await emulator.directMessage({ user: 'U0CAROL', text: 'psst' });
    const [, reply, direct] = eventsIn(sink.requests);
    expect(reply).toMatchObject({ event: { type: 'message', thread_ts: ts, parent_user_id: 'U0ALICE' } });
    expect(reply?.event).not.toHaveProperty('subtype');
    expect(direct).toMatchObject({ event: { type: 'message', channel: 'D0CAROL', channel_type: 'im' } });
  });

  it('sets retry headers and lets tests forge bad, stale or malformed requests', async () => {
    const event = { type: 'app_mention', text: 'x' };
    const retried = await emulator.deliverEvent(event, {
      retryNum: 1,
      retryReason: 'http_timeout',
      eventId: 'Ev1',
    });
    expect(retried.status).toBe(200);
    expect(sink.requests[0]?.headers).toMatchObject({
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    });
    expect(eventsIn(sink.requests)[0]?.event_id).toBe('Ev1');

    expect((await emulator.deliverEvent(event, { signingSecret: 'wrong' })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 600;
    expect((await emulator.deliverEvent(event, { timestamp: stale })).status).toBe(401);
    const malformed = await emulator.deliverEvent(event, { rawBody: '{not json' });
    expect([malformed.status, sink.requests.at(-1)?.body]).toEqual([200, '{not json']);
  });

  it('delivers a button click as a signed block_actions form post with a working trigger and response_url', async () => {
    const { ts } = await emulator.mention({ user: 'U0ALICE', text: 'fix it', onlyAppMention: true });
    const blocks = [
      {
        type: 'actions',
        block_id: 'job',
        elements: [{ type: 'button', action_id: 'cancel', value: 'job-1' }],
      },
    ];
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      thread_ts: ts,
      text: 'Working',
      blocks,
    });
    const click = await emulator.clickButton({
      user: 'U0BOB',
      channel: 'C0GENERAL',
      messageTs: posted.ts ?? '',
      actionId: 'cancel',
    });

    const request = sink.requests.at(-1);
    expect(request?.valid).toBe(true);
    const payload = interactivePayload(request!);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0BOB', username: 'bob' },
      container: { type: 'message', message_ts: posted.ts, channel_id: 'C0GENERAL', thread_ts: ts },
      message: { ts: posted.ts, thread_ts: ts, text: 'Working' },
      actions: [{ action_id: 'cancel', block_id: 'job', value: 'job-1', type: 'button' }],
    });

    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Why?' }, blocks: [] };
    await client.views.open({ trigger_id: click.triggerId, view });
    expect(await slackError(client.views.open({ trigger_id: click.triggerId, view }))).toBe(
      'exchanged_trigger_id',
    );

    const answer = await fetch(click.responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Cancelled' }),
    });
    expect(answer.status).toBe(200);
    expect(emulator.responseUrlPosts).toMatchObject([{ body: { text: 'Cancelled' } }]);
    expect(emulator.message('C0GENERAL', posted.ts ?? '')).toMatchObject({ text: 'Cancelled' });
  });

  it('submits an opened modal as a signed view_submission with its values', async () => {
    const view = {
      type: 'modal' as const,
      callback_id: 'save-script',
      blocks: [],
      title: { type: 'plain_text' as const, text: 'Save' },
    };
    const opened = await client.views.open({ trigger_id: emulator.issueTriggerId(), view });
    const values = { name: { input: { type: 'plain_text_input', value: 'deploy' } } };
    const result = await emulator.submitView({ user: 'U0ALICE', view: opened.view?.id ?? '', values });
    expect(result.status).toBe(200);
    expect(interactivePayload(sink.requests.at(-1)!)).toMatchObject({
      type: 'view_submission',
      user: { id: 'U0ALICE' },
      view: { id: opened.view?.id, callback_id: 'save-script', state: { values } },
    });
    expect(emulator.openedViews()).toEqual([]);
  });
});

describe('Socket Mode', () => {
  it('connects a real SocketModeClient and delivers mentions and clicks as acked envelopes', async () => {
    const transport = installSocketMode(emulator, { appToken: TEST_APP_TOKEN });
    const socketClient = new SocketModeClient({
      appToken: TEST_APP_TOKEN,
      clientOptions: { slackApiUrl: emulator.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    const seen: string[] = [];
    socketClient.on('app_mention', async ({ ack, event }) => {
      seen.push(`${event.type}:${event.text}`);
      await ack();
    });
    socketClient.on('message', async ({ ack }) => ack());
    socketClient.on('interactive', async ({ ack, body }) => {
      seen.push(body.type);
      await ack();
    });
    try {
      await socketClient.start();
      await waitForCall(emulator, 'apps.connections.open');
      expect(await slackError(client.apiCall('apps.connections.open'))).toBe('not_allowed_token_type');

      const { deliveries } = await emulator.mention({ user: 'U0ALICE', text: 'over the socket' });
      expect(deliveries.map((delivery) => delivery.status)).toEqual([200, 200]);
      const posted = await client.chat.postMessage({
        channel: 'C0GENERAL',
        text: 'b',
        blocks: [
          {
            type: 'actions',
            elements: [{ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' } }],
          },
        ],
      });
      const click = await emulator.clickButton({
        user: 'U0BOB',
        channel: 'C0GENERAL',
        messageTs: posted.ts ?? '',
        actionId: 'go',
      });
      expect(click.status).toBe(200);
      expect(seen).toEqual(['app_mention:<@U0BOT> over the socket', 'block_actions']);
      expect(sink.requests).toEqual([]);
      expect(transport.received.filter((message) => 'envelope_id' in message)).toHaveLength(3);
    } finally {
      await socketClient.disconnect();
      transport.close();
    }
  });

  it('reconnects when asked to refresh and keeps delivering', async () => {
    const transport = installSocketMode(emulator, { appToken: TEST_APP_TOKEN });
    const socketClient = new SocketModeClient({
      appToken: TEST_APP_TOKEN,
      clientOptions: { slackApiUrl: emulator.apiUrl },
      // Reconnects wait one client ping timeout; pings go every third of it, so pongs are exercised too.
      clientPingTimeout: 300,
      logLevel: LogLevel.ERROR,
    });
    socketClient.on('app_mention', async ({ ack }) => ack());
    socketClient.on('message', async ({ ack }) => ack());
    try {
      await socketClient.start();
      transport.requestReconnect();
      await waitForCall(emulator, 'apps.connections.open', { count: 2 });
      const { deliveries } = await emulator.mention({ user: 'U0ALICE', text: 'still there?' });
      expect(deliveries.map((delivery) => delivery.status)).toEqual([200, 200]);
      expect(transport.connectionsOpened).toBe(2);
    } finally {
      await socketClient.disconnect();
      transport.close();
    }
  });
});
