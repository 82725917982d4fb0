import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidSlackRequest } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestBotScopes } from '../../src/slack/emulator/scopes.js';
import {
  type SlackEmulator,
  type SlackEmulatorOptions,
  startSlackEmulator,
  TEST_APP_TOKEN,
  TEST_BOT_TOKEN,
  TEST_SIGNING_SECRET,
  waitFor,
  waitForCall,
} from '../support/slack-emulator.js';
import { installSocketMode } from '../support/socket-mode.js';

/** An app endpoint that checks Slack's signature with Bolt's own check and records each body. */
async function startEventSink() {
  const bodies: Array<Record<string, unknown>> = [];
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
      if (valid) bodies.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(valid ? 200 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  return { url, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
  return 'no error';
}

/** The manifest's scopes plus what declaring the app an agent adds (https://docs.slack.dev/ai/agent-sessions). */
const agentScopes = [...new Set([...manifestBotScopes(), 'assistant:write'])];
const recipient = { recipient_user_id: 'U0ALICE', recipient_team_id: 'T0001' };

let emulator: SlackEmulator;
let sink: Awaited<ReturnType<typeof startEventSink>>;
let client: WebClient;
let threadTs: string;

async function start(options: Partial<SlackEmulatorOptions> = {}) {
  await emulator?.stop();
  emulator = await startSlackEmulator({ eventsUrl: sink.url, scopes: agentScopes, ...options });
  client = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: emulator.apiUrl, logLevel: LogLevel.ERROR });
  threadTs = (await emulator.mention({ user: 'U0ALICE', text: 'why is CI red?' })).ts;
}

async function startStream(extra: Record<string, unknown> = {}): Promise<string> {
  const started = await client.chat.startStream({
    channel: 'C0GENERAL',
    thread_ts: threadTs,
    ...recipient,
    ...extra,
  });
  return started.ts ?? '';
}

beforeEach(async () => {
  sink = await startEventSink();
  await start();
});

afterEach(async () => {
  await emulator.stop();
  await sink.close();
});

describe('streamed messages', () => {
  it('keeps each call, the text and the task cards, and stores task cards between the text like Slack', async () => {
    const ts = await startStream({ chunks: [{ type: 'markdown_text', text: 'Looking at ' }] });
    await client.chat.appendStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [
        { type: 'task_update', id: 'read', title: 'Reading the code', status: 'in_progress' },
        { type: 'markdown_text', text: 'the **build**.' },
      ],
    });
    await client.chat.appendStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [
        {
          type: 'task_update',
          id: 'read',
          title: 'Reading the code',
          status: 'complete',
          details: '3 files',
        },
      ],
    });
    const actions = {
      type: 'actions',
      elements: [{ type: 'button', action_id: 'retry', text: { type: 'plain_text', text: 'Retry' } }],
    };
    const stopped = await client.chat.stopStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [{ type: 'markdown_text', text: ' Done.' }],
      blocks: [actions],
    });

    const stream = emulator.streamOf('C0GENERAL', ts);
    expect(stream).toMatchObject({ state: 'completed', stoppedBy: 'app', taskDisplayMode: 'timeline' });
    expect(stream?.text).toBe('Looking at the **build**. Done.');
    expect(stream?.calls.map((call) => [call.method, call.chunks.map((chunk) => chunk.type)])).toEqual([
      ['chat.startStream', ['markdown_text']],
      ['chat.appendStream', ['task_update', 'markdown_text']],
      ['chat.appendStream', ['task_update']],
      ['chat.stopStream', ['markdown_text']],
    ]);
    expect(stream?.tasks).toEqual([
      {
        id: 'read',
        title: 'Reading the code',
        status: 'complete',
        details: '3 files',
        statusHistory: ['in_progress', 'complete'],
      },
    ]);

    const replies = await client.conversations.replies({ channel: 'C0GENERAL', ts: threadTs });
    const stored = replies.messages?.find((message) => message.ts === ts);
    expect(stored?.text).toBe('Looking at the **build**. Done.');
    expect(stored?.blocks?.map((block) => block.type)).toEqual([
      'rich_text',
      'task_card',
      'rich_text',
      'actions',
    ]);
    expect(stored?.blocks?.[1]).toMatchObject({
      task_id: 'read',
      status: 'complete',
      details: { type: 'rich_text', elements: [{ elements: [{ type: 'text', text: '3 files' }] }] },
    });
    expect(JSON.stringify(stored?.blocks?.[2])).toContain('"bold":true');
    expect(stopped.message).toMatchObject({ ts, text: 'Looking at the **build**. Done.' });
    const again = await client.conversations.replies({ channel: 'C0GENERAL', ts: threadTs });
    expect(again.messages?.find((message) => message.ts === ts)?.blocks).toEqual(stored?.blocks);
  });

  it('stores plan mode as one plan block where its first task arrived, with the plan title', async () => {
    const ts = await startStream({
      task_display_mode: 'plan',
      chunks: [{ type: 'markdown_text', text: 'Plan:' }],
    });
    await client.chat.appendStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [
        { type: 'plan_update', title: 'Fix the build' },
        { type: 'task_update', id: 'a', title: 'Find the failing test', status: 'complete' },
        { type: 'task_update', id: 'b', title: 'Patch it', status: 'pending' },
      ],
    });
    await client.chat.stopStream({ channel: 'C0GENERAL', ts });
    expect(emulator.streamOf('C0GENERAL', ts)?.plan).toEqual({ title: 'Fix the build' });
    const stored = emulator.storedMessage('C0GENERAL', ts);
    expect(stored?.blocks?.map((block) => block.type)).toEqual(['rich_text', 'plan']);
    expect(stored?.blocks?.[1]).toMatchObject({
      title: 'Fix the build',
      tasks: [
        { type: 'task_card', task_id: 'a', status: 'complete' },
        { type: 'task_card', task_id: 'b', status: 'pending' },
      ],
    });
  });

  const badChunks: Array<[string, unknown]> = [
    ['an unknown chunk type', [{ type: 'thinking', text: 'hmm' }]],
    ['chunks that are not a list', { type: 'markdown_text', text: 'x' }],
    ['markdown_text without text', [{ type: 'markdown_text' }]],
    ['plan_update without a title', [{ type: 'plan_update' }]],
    ['task_update without an id', [{ type: 'task_update', title: 'Read', status: 'complete' }]],
    ['task_update without a title', [{ type: 'task_update', id: 't', status: 'complete' }]],
    [
      'task_update with status "completed"',
      [{ type: 'task_update', id: 't', title: 'Read', status: 'completed' }],
    ],
    [
      'task_update with object details',
      [{ type: 'task_update', id: 't', title: 'R', status: 'error', details: {} }],
    ],
    [
      'task_update with a bare URL source',
      [{ type: 'task_update', id: 't', title: 'R', status: 'pending', sources: ['https://x'] }],
    ],
    [
      'a blocks chunk of 51 blocks',
      [{ type: 'blocks', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }],
    ],
  ];
  it.each(badChunks)('refuses %s with invalid_chunks', async (_name, chunks) => {
    const ts = await startStream();
    const call = client.apiCall('chat.appendStream', { channel: 'C0GENERAL', ts, chunks });
    expect(await slackError(call)).toBe('invalid_chunks');
    expect(emulator.streamOf('C0GENERAL', ts)?.calls).toHaveLength(1);
    expect(
      await slackError(
        client.apiCall('chat.startStream', {
          channel: 'C0GENERAL',
          thread_ts: threadTs,
          ...recipient,
          chunks,
        }),
      ),
    ).toBe('invalid_chunks');
  });

  it('refuses markdown_text and chunks in one call, and a stream that switches between them', async () => {
    const both = client.apiCall('chat.startStream', {
      channel: 'C0GENERAL',
      thread_ts: threadTs,
      ...recipient,
      markdown_text: 'a',
      chunks: [{ type: 'markdown_text', text: 'b' }],
    });
    expect(await slackError(both)).toBe('cannot_provide_both_markdown_text_and_chunks');
    const ts = await startStream({ markdown_text: 'plain ' });
    const switched = client.chat.appendStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [{ type: 'task_update', id: 't', title: 'Read', status: 'pending' }],
    });
    expect(await slackError(switched)).toBe('streaming_mode_mismatch');
    await client.chat.appendStream({ channel: 'C0GENERAL', ts, markdown_text: 'text' });
    expect(emulator.streamOf('C0GENERAL', ts)?.text).toBe('plain text');
  });

  it('refuses more than 12,000 characters in one call and in one message', async () => {
    const long = 'x'.repeat(12_001);
    expect(await slackError(startStream({ markdown_text: long }))).toBe('msg_too_long');
    const ts = await startStream({ chunks: [{ type: 'markdown_text', text: 'x'.repeat(7_000) }] });
    const tooMuch = client.chat.appendStream({
      channel: 'C0GENERAL',
      ts,
      chunks: [{ type: 'markdown_text', text: 'y'.repeat(6_000) }],
    });
    expect(await slackError(tooMuch)).toBe('msg_too_long');
    expect(emulator.streamOf('C0GENERAL', ts)?.text).toHaveLength(7_000);
  });

  it('needs recipient_user_id and recipient_team_id in a channel, not in a DM', async () => {
    const base = { channel: 'C0GENERAL', thread_ts: threadTs };
    expect(await slackError(client.chat.startStream({ ...base, recipient_team_id: 'T0001' }))).toBe(
      'missing_recipient_user_id',
    );
    expect(await slackError(client.chat.startStream({ ...base, recipient_user_id: 'U0ALICE' }))).toBe(
      'missing_recipient_team_id',
    );
    expect(
      await slackError(
        client.chat.startStream({ ...base, recipient_user_id: 'U0NOBODY', recipient_team_id: 'T0001' }),
      ),
    ).toBe('user_not_found');
    const dm = await emulator.directMessage({ user: 'U0BOB', text: 'hi' });
    const channel = emulator.directChannelId('U0BOB');
    const started = await client.chat.startStream({ channel, thread_ts: dm.ts, markdown_text: 'Hello' });
    expect(emulator.streamOf(channel, started.ts ?? '')).toMatchObject({
      state: 'in_progress',
      text: 'Hello',
    });
  });

  it('refuses an invalid task_display_mode, an empty append, and a missing thread_ts', async () => {
    expect(await slackError(startStream({ task_display_mode: 'cards' }))).toBe('invalid_arguments');
    const ts = await startStream();
    expect(await slackError(client.apiCall('chat.appendStream', { channel: 'C0GENERAL', ts }))).toBe(
      'no_text',
    );
    expect(await slackError(client.apiCall('chat.startStream', { channel: 'C0GENERAL', ...recipient }))).toBe(
      'invalid_arguments',
    );
  });

  it('refuses appends and stops on messages that are not streaming, and on messages it does not own', async () => {
    const ts = await startStream({ markdown_text: 'a' });
    await client.chat.stopStream({ channel: 'C0GENERAL', ts });
    expect(await slackError(client.chat.appendStream({ channel: 'C0GENERAL', ts, markdown_text: 'b' }))).toBe(
      'message_not_in_streaming_state',
    );
    expect(await slackError(client.chat.stopStream({ channel: 'C0GENERAL', ts }))).toBe(
      'message_not_in_streaming_state',
    );
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      thread_ts: threadTs,
      text: 'plain',
    });
    expect(
      await slackError(
        client.chat.appendStream({ channel: 'C0GENERAL', ts: posted.ts ?? '', markdown_text: 'b' }),
      ),
    ).toBe('message_not_in_streaming_state');
    expect(
      await slackError(client.chat.appendStream({ channel: 'C0GENERAL', ts: threadTs, markdown_text: 'b' })),
    ).toBe('message_not_owned_by_app');
    expect(await slackError(client.chat.stopStream({ channel: 'C0GENERAL', ts: '1.000001' }))).toBe(
      'message_not_found',
    );
  });

  it('refuses stopStream blocks past 50 and leaves the stream open', async () => {
    const ts = await startStream({ markdown_text: 'a' });
    const blocks = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(await slackError(client.chat.stopStream({ channel: 'C0GENERAL', ts, blocks }))).toBe(
      'invalid_blocks',
    );
    expect(emulator.streamOf('C0GENERAL', ts)?.state).toBe('in_progress');
    const badSession = client.apiCall('chat.stopStream', {
      channel: 'C0GENERAL',
      ts,
      session_status: 'done',
    });
    expect(await slackError(badSession)).toBe('invalid_arguments');
    expect(emulator.streamOf('C0GENERAL', ts)?.state).toBe('in_progress');
  });

  it('answers missing_scope for streaming without chat:write', async () => {
    await start({ scopes: agentScopes.filter((scope) => scope !== 'chat:write') });
    const refused = await client
      .apiCall('chat.startStream', { channel: 'C0GENERAL', thread_ts: threadTs, ...recipient })
      .catch((error: { data?: Record<string, unknown> }) => error.data);
    expect(refused).toMatchObject({ ok: false, error: 'missing_scope', needed: 'chat:write' });
  });
});

describe('agent sessions', () => {
  const setStatus = (args: Record<string, unknown>) =>
    client.apiCall('agents.sessions.setStatus', { channel_id: 'C0GENERAL', thread_ts: threadTs, ...args });

  it('creates the session on the first status, keeps its title, and records every status', async () => {
    const created = await setStatus({
      status: 'processing',
      title: 'Why CI is red',
      initiator_user_id: 'U0ALICE',
    });
    expect(created).toMatchObject({
      ok: true,
      status: 'processing',
      agent_status: 'processing',
      title: 'Why CI is red',
    });
    expect(created).not.toHaveProperty('warning');
    await setStatus({ status: 'suspended', title: 'ignored: the session exists' });
    await setStatus({ status: 'active' });
    expect(emulator.agentSession('C0GENERAL', threadTs)).toMatchObject({
      status: 'active',
      title: 'Why CI is red',
      initiatorUserId: 'U0ALICE',
      statusHistory: ['processing', 'suspended', 'active'],
    });
  });

  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown status', { status: 'done' }, 'invalid_status'],
    ['no thread_ts', { status: 'processing', thread_ts: undefined }, 'thread_ts_required'],
    ['a title past 200 characters', { status: 'processing', title: 't'.repeat(201) }, 'invalid_arguments'],
    ['an unknown initiator', { status: 'processing', initiator_user_id: 'U0NOBODY' }, 'user_not_found'],
  ];
  it.each(refusals)('refuses %s', async (_name, args, error) => {
    expect(await slackError(setStatus(args))).toBe(error);
    expect(emulator.agentSession('C0GENERAL', threadTs)).toBeUndefined();
  });

  it('refuses a channel the bot is not in (not_authorized)', async () => {
    emulator.addChannel({ id: 'C0OTHER', name: 'other', botIsMember: false });
    const call = client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0OTHER',
      thread_ts: threadTs,
      status: 'processing',
    });
    expect(await slackError(call)).toBe('not_authorized');
  });

  it('needs chat:write and an app declared as an agent (assistant:write)', async () => {
    await start({ scopes: agentScopes.filter((scope) => scope !== 'assistant:write') });
    const undeclared = await setStatus({ status: 'processing' }).catch(
      (error: { data?: unknown }) => error.data,
    );
    expect(undeclared).toMatchObject({ error: 'missing_scope', needed: 'assistant:write' });
    await start({ scopes: agentScopes.filter((scope) => scope !== 'chat:write') });
    const noChatWrite = await setStatus({ status: 'processing' }).catch(
      (error: { data?: unknown }) => error.data,
    );
    expect(noChatWrite).toMatchObject({ error: 'missing_scope', needed: 'chat:write' });
    expect(emulator.agentSession('C0GENERAL', threadTs)).toBeUndefined();
  });

  it('warns while the app is not subscribed to agent_session_stopped, and shows no Stop', async () => {
    await start({ subscribesToAgentSessionStopped: false });
    const answer = await setStatus({ status: 'processing' });
    expect(answer).toMatchObject({ ok: true, warning: 'missing_agent_session_stopped_event_subscription' });
    await expect(emulator.clickStop('C0GENERAL', threadTs, 'U0ALICE')).rejects.toThrow(/not subscribed/);
  });

  it('leaves processing when the stream stops: active by default, or the session_status given', async () => {
    await setStatus({ status: 'processing' });
    const first = await startStream({ markdown_text: 'a' });
    await client.chat.stopStream({ channel: 'C0GENERAL', ts: first });
    expect(emulator.agentSession('C0GENERAL', threadTs)?.status).toBe('active');
    await setStatus({ status: 'processing' });
    const second = await startStream({ markdown_text: 'b' });
    await client.apiCall('chat.stopStream', {
      channel: 'C0GENERAL',
      ts: second,
      session_status: 'suspended',
    });
    expect(emulator.agentSession('C0GENERAL', threadTs)).toMatchObject({
      status: 'suspended',
      statusHistory: ['processing', 'active', 'processing', 'suspended'],
    });
  });
});

describe('the native Stop', () => {
  it('is refused unless the session is processing', async () => {
    await expect(emulator.clickStop('C0GENERAL', threadTs, 'U0ALICE')).rejects.toThrow(/no agent session/);
    await client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'active',
    });
    await expect(emulator.clickStop('C0GENERAL', threadTs, 'U0ALICE')).rejects.toThrow(
      /only while the session is processing/,
    );
    expect(
      sink.bodies.filter((body) => (body.event as { type?: string }).type === 'agent_session_stopped'),
    ).toEqual([]);
  });

  it("stops the thread's streams, sends agent_session_stopped signed, and leaves the status to the app", async () => {
    await client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'processing',
    });
    const ts = await startStream({ markdown_text: 'Working' });
    const elsewhere = (await emulator.mention({ user: 'U0BOB', text: 'other thread' })).ts;
    const other = await client.chat.startStream({
      channel: 'C0GENERAL',
      thread_ts: elsewhere,
      ...recipient,
      markdown_text: 'x',
    });

    const { streamingMessageTs } = await emulator.clickStop('C0GENERAL', threadTs, 'U0ALICE');
    expect(streamingMessageTs).toEqual([ts]);
    const envelope = sink.bodies.find(
      (body) => (body.event as { type?: string }).type === 'agent_session_stopped',
    );
    expect(envelope).toMatchObject({
      type: 'event_callback',
      team_id: 'T0001',
      event: {
        type: 'agent_session_stopped',
        channel: 'C0GENERAL',
        thread_ts: threadTs,
        user: 'U0ALICE',
        streaming_message_ts: [ts],
      },
    });
    expect(typeof (envelope?.event as { event_ts?: unknown } | undefined)?.event_ts).toBe('string');
    expect(emulator.streamOf('C0GENERAL', ts)).toMatchObject({
      state: 'completed',
      stoppedBy: 'user',
      text: 'Working',
    });
    expect(emulator.streamOf('C0GENERAL', other.ts ?? '')?.state).toBe('in_progress');
    expect(emulator.agentSession('C0GENERAL', threadTs)?.status).toBe('processing');
    expect(
      await slackError(client.chat.appendStream({ channel: 'C0GENERAL', ts, markdown_text: 'more' })),
    ).toBe('message_not_in_streaming_state');
    expect(await slackError(client.chat.stopStream({ channel: 'C0GENERAL', ts }))).toBe(
      'message_not_in_streaming_state',
    );
  });

  it('says so with an empty streaming_message_ts when no stream was active', async () => {
    await client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'processing',
    });
    expect((await emulator.clickStop('C0GENERAL', threadTs, 'U0BOB')).streamingMessageTs).toEqual([]);
    const event = sink.bodies
      .map((body) => body.event as Record<string, unknown>)
      .find((e) => e.type === 'agent_session_stopped');
    expect(event).toMatchObject({ user: 'U0BOB', streaming_message_ts: [] });
  });

  it('arrives over Socket Mode when the app uses it', async () => {
    const transport = installSocketMode(emulator, { appToken: TEST_APP_TOKEN });
    const socketClient = new SocketModeClient({
      appToken: TEST_APP_TOKEN,
      clientOptions: { slackApiUrl: emulator.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    const seen: Array<Record<string, unknown>> = [];
    socketClient.on('agent_session_stopped', async ({ ack, event }) => {
      seen.push(event);
      await ack();
    });
    try {
      await socketClient.start();
      await waitForCall(emulator, 'apps.connections.open');
      await client.apiCall('agents.sessions.setStatus', {
        channel_id: 'C0GENERAL',
        thread_ts: threadTs,
        status: 'processing',
      });
      await emulator.clickStop('C0GENERAL', threadTs, 'U0ALICE');
      await waitFor(() => seen.length === 1, { description: 'agent_session_stopped over the socket' });
      expect(seen[0]).toMatchObject({ type: 'agent_session_stopped', thread_ts: threadTs });
      expect(
        sink.bodies.filter((body) => (body.event as { type?: string }).type === 'agent_session_stopped'),
      ).toEqual([]);
    } finally {
      await socketClient.disconnect();
      transport.close();
    }
  });
});

describe('workspaces that refuse the agent methods', () => {
  const agentCalls = () => [
    client.apiCall('chat.startStream', { channel: 'C0GENERAL', thread_ts: threadTs, ...recipient }),
    client.apiCall('chat.appendStream', { channel: 'C0GENERAL', ts: threadTs, markdown_text: 'x' }),
    client.apiCall('chat.stopStream', { channel: 'C0GENERAL', ts: threadTs }),
    client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'processing',
    }),
  ];

  it('answers unknown_method in an older workspace and still posts', async () => {
    await start({ agentRefusal: { kind: 'older-workspace' } });
    expect(await Promise.all(agentCalls().map(slackError))).toEqual(Array(4).fill('unknown_method'));
    const posted = await client.chat.postMessage({
      channel: 'C0GENERAL',
      thread_ts: threadTs,
      text: 'fallback',
    });
    expect(posted.ok).toBe(true);
  });

  it('answers feature_disabled for sessions where the feature is off, streams still working', async () => {
    await start({ agentRefusal: { kind: 'feature-disabled' } });
    const session = client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'processing',
    });
    expect(await slackError(session)).toBe('feature_disabled');
    const ts = await startStream({ markdown_text: 'still streams' });
    expect(emulator.streamOf('C0GENERAL', ts)?.text).toBe('still streams');
  });

  it('answers a named refusal for the methods given, and can be changed while running', async () => {
    emulator.setAgentRefusal({
      kind: 'error',
      error: 'not_allowed_token_type',
      methods: ['chat.startStream'],
    });
    expect(await slackError(startStream())).toBe('not_allowed_token_type');
    const session = await client.apiCall('agents.sessions.setStatus', {
      channel_id: 'C0GENERAL',
      thread_ts: threadTs,
      status: 'processing',
    });
    expect(session.ok).toBe(true);
    emulator.setAgentRefusal(undefined);
    expect(await startStream()).toMatch(/^\d+\.\d{6}$/);
  });
});
