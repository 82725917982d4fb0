import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, answerText, CHANNEL, Harness, type HarnessOptions, waitFor } from '../support/harness.js';

type ViewBlock = { block_id: string; element: { initial_value?: string } };

/** The values a person submits when they keep every field as the form shows it, with `changes`. */
function keptValues(view: Record<string, unknown>, changes: Record<string, string> = {}) {
  const blocks = (view.blocks ?? []) as ViewBlock[];
  return Object.fromEntries(
    blocks.map((block) => [
      block.block_id,
      {
        [block.block_id]: {
          type: 'plain_text_input',
          value: changes[block.block_id] ?? block.element.initial_value ?? '',
        },
      },
    ]),
  );
}

function initialOf(view: Record<string, unknown>, blockId: string): string | undefined {
  return ((view.blocks ?? []) as ViewBlock[]).find((block) => block.block_id === blockId)?.element
    .initial_value;
}

/** A git remote that holds every request until released (a slow or far-away server), then answers 404. */
async function startStalledRemote() {
  const held: ServerResponse[] = [];
  let released = false;
  let requests = 0;
  const server: Server = createServer((_request, response) => {
    requests += 1;
    if (released) response.writeHead(404).end();
    else held.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/shop.git`,
    requests: () => requests,
    release() {
      released = true;
      for (const response of held.splice(0)) response.writeHead(404).end();
    },
    async stop() {
      this.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const reposConfig = (shopUrl: string) =>
  [
    'repos:',
    '  - name: shop',
    `    url: "${shopUrl}"`,
    '    channels: [C0GENERAL]',
    '  - name: other',
    '    url: "{{repo}}"',
    '',
  ].join('\n');

/** ~10 KiB of bash: more than three 3,000-character form fields. */
const bigScript = [
  ...Array.from(
    { length: 205 },
    (_, index) =>
      `# step ${String(index + 1).padStart(3, '0')}: add up the shipping totals of region ${index + 1}`,
  ),
  'echo "report done"',
].join('\n');

describe('the Save as team script form, as Slack constrains it', () => {
  let h: Harness;
  let remote: Awaited<ReturnType<typeof startStalledRemote>>;
  const options: HarnessOptions = { config: reposConfig('{{repo}}') };

  beforeAll(async () => {
    remote = await startStalledRemote();
    h = await Harness.start(options);
  });

  afterAll(async () => {
    await h.stop();
    await remote.stop();
  });

  async function answerWithScript(command: string, request: string) {
    h.model.enqueue(
      { toolCalls: [{ name: 'shell', arguments: { command } }] },
      { content: 'Done, the report ran.' },
    );
    const { ts } = await h.ask(request);
    const [answer] = await h.waitForAnswers(ts, 1, CHANNEL, 60_000);
    expect(JSON.stringify(answer!.blocks)).toContain('script_save_open');
    return { ts, answer: answer! };
  }

  it('edits a 10 KiB script in several fields of at most 3,000 characters and saves it whole', async () => {
    expect(bigScript.length).toBeGreaterThan(10 * 1024);
    const { ts, answer } = await answerWithScript(
      `cat > /tmp/big.sh <<"EOF"\n${bigScript}\nEOF\nbash /tmp/big.sh`,
      'write a script that adds up the shipping report',
    );
    const opensBefore = h.slack.openedViews().length;
    await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: answer.ts,
      actionId: 'script_save_open',
    });
    const view = await waitFor(() => h.slack.openedViews()[opensBefore], 10_000, 'the save form');
    const parts = ((view.blocks ?? []) as ViewBlock[]).filter((block) =>
      /^body(_\d+)?$/.test(block.block_id),
    );
    expect(parts.map((part) => part.block_id)).toEqual(['body', 'body_2', 'body_3', 'body_4']);
    for (const part of parts) expect(part.element.initial_value?.length ?? 0).toBeLessThanOrEqual(3_000);

    // Two repositories: the form opened with "all" and was then set to the thread's repository.
    await waitFor(
      () => h.slack.callsTo('views.update').length > 0,
      10_000,
      'the form updated with the repository',
    );
    const updated = h.slack.openedViews().find((candidate) => candidate.id === view.id)!;
    const asOpened = h.slack.callsTo('views.open').at(-1)?.args.view as Record<string, unknown>;
    expect(initialOf(asOpened, 'scope')).toBe('all');
    expect(initialOf(updated, 'scope')).toBe('shop');

    await h.slack.submitView({
      user: ALICE,
      view: String(view.id),
      values: keptValues(updated, { name: 'shipping-report' }),
    });
    await waitFor(
      () =>
        h.slack
          .botMessagesInThread(CHANNEL, ts)
          .some((message) => /Saved team script `shipping-report`/.test(JSON.stringify(message))),
      10_000,
      'the saved confirmation',
    );

    const shown = await h.ask('script shipping-report');
    const replies = await h.waitForAnswers(shown.ts);
    const text = replies.map(answerText).join('\n');
    let at = 0;
    for (const line of bigScript.split('\n')) {
      const found = text.indexOf(line, at);
      expect(found, `line "${line}" in order`).toBeGreaterThanOrEqual(0);
      at = found + line.length;
    }
  });

  it('opens the form at once while the repository’s default branch is still being asked of a slow remote', async () => {
    const { answer } = await answerWithScript(
      'cat > /tmp/count.sh <<"EOF"\nls src | wc -l\nEOF\nbash /tmp/count.sh',
      'count the files in src with a script',
    );
    // After a restart nothing is cached: the thread's repository now points at a remote that
    // does not answer, so resolving it (git ls-remote for its default branch) takes as long as
    // that remote does, far past the 3 seconds Slack gives a trigger_id.
    options.config = reposConfig(remote.url);
    await h.restart();

    const opensBefore = h.slack.openedViews().length;
    const updatesBefore = h.slack.callsTo('views.update').length;
    const click = await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: answer.ts,
      actionId: 'script_save_open',
    });
    expect(click.status).toBe(200);
    const view = await waitFor(() => h.slack.openedViews()[opensBefore], 10_000, 'the save form');
    expect(h.slack.callsTo('views.open').at(-1)?.args.trigger_id).toBe(click.triggerId);
    expect(initialOf(view, 'scope')).toBe('all');
    await waitFor(() => remote.requests() > 0, 10_000, 'git asking the slow remote');
    expect(h.slack.callsTo('views.update')).toHaveLength(updatesBefore);

    remote.release();
    await waitFor(
      () => h.slack.callsTo('views.update').length > updatesBefore,
      20_000,
      'the form updated once git gave up',
    );
    const updated = h.slack.openedViews().find((candidate) => candidate.id === view.id)!;
    expect(initialOf(updated, 'scope')).toBe('shop');
    expect(h.app.logs.some((line) => line.msg === 'script-form-open-failed')).toBe(false);
  });
});

describe('digests in channels shipmate was never invited to', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({
      config: [
        'repos:',
        '  - name: shop',
        '    url: "{{repo}}"',
        '    channels: [C0GENERAL]',
        'digests:',
        '  - channel: C0NEWS',
        '    schedule: daily 09:00',
        '  - channel: G0LEADS',
        '    schedule: daily 09:00',
        '',
      ].join('\n'),
    });
    // The workspace as an admin set it up: a public channel and a private one, shipmate in neither.
    h.slack.addChannel({ id: 'C0NEWS', name: 'news', botIsMember: false });
    h.slack.addChannel({ id: 'G0LEADS', name: 'leads', isPrivate: true, botIsMember: false });
    await h.restart();
  });

  afterAll(async () => {
    await h.stop();
  });

  it('joins the public channel it has a digest for, and logs which private channel needs /invite @shipmate', async () => {
    const warning = await h.app.waitForLog(
      (line) => line.msg === 'digest-needs-invite' && (line as { channel?: string }).channel === 'G0LEADS',
    );
    expect(warning).toMatchObject({ fix: 'type /invite @shipmate in channel G0LEADS' });
    await waitFor(() => h.slack.isBotMember('C0NEWS'), 10_000, 'shipmate in #news');
    expect(h.slack.callsTo('conversations.join').map((call) => call.args.channel)).toContain('C0NEWS');
    expect(h.slack.callsTo('conversations.join').map((call) => call.args.channel)).not.toContain('G0LEADS');
    expect(h.slack.messagesIn('C0NEWS')).toMatchObject([
      { subtype: 'channel_join', user: h.slack.botUserId },
    ]);

    // Now in the channel, a digest posts there like anywhere else.
    const command = await h.ask('digest now', { channel: 'C0NEWS' });
    await waitFor(
      () => h.slack.messagesIn('C0NEWS').find((message) => message.bot_id && !message.thread_ts),
      30_000,
      'a digest in #news',
    );
    await h.waitForAnswers(command.ts, 1, 'C0NEWS');
  });
});
