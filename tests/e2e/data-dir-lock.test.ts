import { afterAll, describe, expect, it } from 'vitest';
import { answerText, Harness } from '../support/harness.js';

/**
 * One process per data dir (#14): mirrors, worktrees and the SQLite file belong to one
 * process, so a second one started on the same dir is refused with a sentence saying what to
 * change, and a crashed holder does not keep the next start out.
 */
describe('the data dir lock', () => {
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses a second process on the same data dir, and lets the next start in after a crash', async () => {
    h = await Harness.start();
    const first = h.app;
    await expect(h.launch()).rejects.toThrow(/data dir .* is in use by another shipmate process \(pid \d+/);
    expect(await h.app.exitCode()).not.toBe(0);
    expect(h.app.stderr).toContain('give each process its own SHIPMATE_DATA_DIR');

    // The first process never noticed.
    h.slack.setEventsUrl(first.eventsUrl);
    h.model.enqueue({ content: 'still here' });
    const asked = await h.ask('are you still there?');
    expect(answerText((await h.waitForAnswers(asked.ts))[0]!)).toContain('still here');

    await first.crash(); // kill -9: no chance to clean up; the kernel drops the lock
    await h.launch();
    h.model.enqueue({ content: 'back again' });
    const again = await h.ask('and now?');
    expect(answerText((await h.waitForAnswers(again.ts))[0]!)).toContain('back again');

    // After a clean stop the next start gets in too.
    await h.app.stop();
    await h.launch();
  });
});
