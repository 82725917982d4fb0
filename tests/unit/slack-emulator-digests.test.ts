import { Writable } from 'node:stream';
import { LogLevel, type Logger as SlackLogger, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createDigestsRoom, type DigestsRoom } from '../../src/digests/create-digests-room.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { createLogger } from '../../src/log.js';
import { SlackThreadHistory } from '../../src/slack/slack-thread-history.js';
import type { Database } from '../../src/storage/database.js';
import { describeBackends } from '../support/backends.js';
import {
  type SlackEmulator,
  startSlackEmulator,
  TEST_BOT_TOKEN,
  waitFor,
} from '../support/slack-emulator.js';

const quiet: SlackLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

/**
 * The digests room against the emulator through the app's own Slack code (SlackThreadHistory
 * and a WebClient post), with the clock in the test's hands: a due digest joins its public
 * channel before reading and posting, and a private one is reported for `/invite @shipmate`.
 */
describeBackends('digests in channels shipmate has not joined', (open) => {
  let db: Database;
  let emulator: SlackEmulator;
  let room: DigestsRoom;
  let now: number;
  const lines: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    db = await open();
    now = Date.parse('2026-03-30T07:00:30Z');
    lines.length = 0;
    emulator = await startSlackEmulator({
      channels: [
        { id: 'C0GENERAL', name: 'general' },
        { id: 'C0NEWS', name: 'news', botIsMember: false },
        { id: 'G0LEADS', name: 'leads', botIsMember: false },
      ],
    });
    const client = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: emulator.apiUrl,
      logger: quiet,
      retryConfig: { retries: 0 },
    });
    const log = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
          done();
        },
      }),
    });
    const history = new SlackThreadHistory(client, () => emulator.botUserId, log);
    room = createDigestsRoom({
      config: {
        digests: [
          { channel: 'C0NEWS', schedule: '* * * * *', timezone: 'UTC' },
          { channel: 'G0LEADS', schedule: '* * * * *', timezone: 'UTC' },
        ],
        repos: [],
      } as Pick<Config, 'digests' | 'repos'>,
      db,
      clock: () => now,
      log,
      post: async (channel, markdown) =>
        (
          await client.chat.postMessage({
            channel,
            text: 'Digest',
            blocks: [{ type: 'markdown', text: markdown }],
          })
        ).ts,
      jobs: new JobQueue(db, { clock: () => now }),
      history,
      permalinks: (channel, ts) => history.permalink(channel, ts),
      mirrorPathFor: () => undefined,
    });
  });

  afterEach(async () => {
    await room.stop?.();
    await emulator.stop();
  });

  it('joins a public channel before its scheduled digest and reports the private one for an invite', async () => {
    await room.seedFromConfig();
    now += 2 * 60_000;
    const results = await room.scheduler.tick(now);

    expect(results.map((result) => result.status).sort()).toEqual(['failed', 'posted']);
    expect(emulator.callsTo('conversations.join').map((call) => call.args.channel)).toEqual(['C0NEWS']);
    expect(emulator.isBotMember('C0NEWS')).toBe(true);
    const posted = emulator.messagesIn('C0NEWS').filter((message) => message.bot_id);
    expect(posted).toHaveLength(1);
    expect(emulator.messagesIn('G0LEADS')).toEqual([]);

    expect(room.channelsNeedingInvite()).toEqual(['G0LEADS']);
    const warning = lines.find((line) => line.msg === 'digest-needs-invite');
    expect(warning).toMatchObject({ channel: 'G0LEADS', fix: 'type /invite @shipmate in channel G0LEADS' });
    const failed = results.find((result) => result.status === 'failed');
    expect(failed).toMatchObject({ error: expect.stringMatching(/\/invite @shipmate/) });

    // Once someone invites shipmate, the next digest posts and the channel leaves the list.
    emulator.setBotMembership('G0LEADS', true);
    now += 11 * 60_000;
    await room.scheduler.tick(now);
    expect(emulator.messagesIn('G0LEADS').filter((message) => message.bot_id)).toHaveLength(1);
    expect(room.channelsNeedingInvite()).toEqual([]);
  });

  it('checks the configured channels at start-up, and names a missing channels:join scope', async () => {
    emulator.setScopes(emulator.scopes.filter((scope) => scope !== 'channels:join'));
    await room.start?.();
    room.scheduler.stop();
    await waitFor(() => room.channelsNeedingInvite().length === 2, { description: 'both channels reported' });
    expect(
      lines.find((line) => line.msg === 'digest-needs-invite' && line.channel === 'C0NEWS'),
    ).toMatchObject({
      reason: 'joining needs the channels:join scope, which the app lacks',
    });
    expect(emulator.isBotMember('C0NEWS')).toBe(false);
  });
});
