import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, answerText, BOB, CHANNEL, Harness, waitFor } from '../support/harness.js';

const countScript = {
  name: 'count-ts',
  description: 'Counts TypeScript files under a directory',
  interpreter: 'bash',
  body: 'find "$PARAM_DIR" -name "*.ts" | wc -l | tr -d " "; echo "dir=$PARAM_DIR"',
  parameters: [{ name: 'dir', description: 'Directory to scan', default: 'src' }],
};

describe('team scripts', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start();
  });

  afterAll(async () => {
    await h.stop();
  });

  it('saves a script through the agent, then anyone runs it by name with no model call', async () => {
    h.model.enqueue(
      { toolCalls: [{ name: 'save_script', arguments: countScript }] },
      { content: 'Saved `count-ts`.' },
    );
    const saved = await h.ask('save a script that counts the TypeScript files');
    await h.waitForAnswers(saved.ts);
    expect(String(h.model.lastRequest().body.messages.at(-1)?.content)).toMatch(/saved|count-ts/i);

    const requests = h.model.requests.length;
    const run = await h.ask('run count-ts', { user: BOB });
    const [result] = await h.waitForAnswers(run.ts);
    expect(answerText(result!)).toMatch(/\b1\b[\s\S]*dir=src/);
    expect(h.model.requests.length).toBe(requests);

    const hostile = await h.ask(`run count-ts dir='$(touch /tmp/shipmate-pwned-e2e)'`, { user: BOB });
    const [echoed] = await h.waitForAnswers(hostile.ts);
    expect(answerText(echoed!)).toContain('dir=$(touch /tmp/shipmate-pwned-e2e)');

    const list = await h.ask('scripts');
    const [listed] = await h.waitForAnswers(list.ts);
    expect(answerText(listed!)).toContain('count-ts');
    const search = await h.ask('scripts typescript');
    const [found] = await h.waitForAnswers(search.ts);
    expect(answerText(found!)).toContain('count-ts');
    const missing = await h.ask('run no-such-script');
    const [notFound] = await h.waitForAnswers(missing.ts);
    expect(answerText(notFound!)).toMatch(/no-such-script/);
  });

  it('offers Save as team script under an answer that wrote a script, and saves it from the form', async () => {
    h.model.enqueue(
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
    const { ts } = await h.ask('how many files are in src? write a small script for it');
    const [answer] = await h.waitForAnswers(ts);
    expect(JSON.stringify(answer!.blocks)).toContain('script_save_open');
    await h.slack.clickButton({
      user: ALICE,
      channel: CHANNEL,
      messageTs: answer!.ts,
      actionId: 'script_save_open',
    });
    const view = await waitFor(() => h.slack.openedViews().at(-1), 10_000, 'the save form');
    const blocks = (view.blocks ?? []) as Array<{ block_id: string; element: { initial_value?: string } }>;
    const values = Object.fromEntries(
      blocks.map((block) => [
        block.block_id,
        {
          [block.block_id]: {
            type: 'plain_text_input',
            value: block.block_id === 'name' ? 'count-src' : (block.element.initial_value ?? ''),
          },
        },
      ]),
    );
    await h.slack.submitView({ user: ALICE, view: String(view.id), values });
    await waitFor(
      () => h.slack.botMessagesInThread(CHANNEL, ts).some((m) => /count-src/.test(JSON.stringify(m))),
      10_000,
      'a saved confirmation',
    );
  });
});
