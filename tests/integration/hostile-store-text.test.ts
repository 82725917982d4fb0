import { expect, it } from 'vitest';
import { ChangeStore } from '../../src/forge/change-store.js';
import { ScriptStore } from '../../src/scripts/script-store.js';
import { describeBackends } from '../support/backends.js';

/**
 * What the model and the thread write reaches the database as text: a change's title and
 * summary, a team script's body. A hostile model picks that text to break the store: SQL
 * punctuation, the placeholders the seam rewrites (`?`, `$1`), and a NUL, which PostgreSQL's
 * text type cannot store at all ("The character with code zero (sometimes called NUL) cannot
 * be stored", postgresql.org/docs/15/datatype-character.html) while SQLite stores it. On both
 * backends the write must succeed, nothing else may change, and the text reads back the same
 * on both (a NUL becomes U+FFFD, the replacement character).
 */
const hostile = 'q\'); DROP TABLE changes; -- ? $1 "x" \\ \u0000 end';
const readBack = hostile.replace('\u0000', '\uFFFD');

describeBackends('text a hostile model wrote', (open) => {
  it('stores a change summary full of SQL punctuation and a NUL, and nothing else', async () => {
    const db = await open();
    const changes = new ChangeStore(db);
    const change = {
      channel: 'C1',
      threadTs: '1.0',
      userId: 'U1',
      repo: 'shop',
      branch: 'shipmate/fix',
      baseCommit: 'a'.repeat(40),
      labels: [hostile],
    };
    await changes.save({ ...change, jobId: 'j1', title: hostile, summary: hostile });
    await changes.save({ ...change, jobId: 'j2', title: 'plain', summary: 'plain' });
    const stored = await changes.get('j1');
    expect(stored?.title).toBe(readBack);
    expect(stored?.summary).toBe(readBack);
    expect(stored?.labels).toEqual([hostile]); // JSON escapes the NUL itself
    expect((await changes.get('j2'))?.title).toBe('plain');
  });

  it('stores a team script whose body holds a NUL and placeholders, and finds it', async () => {
    const db = await open();
    const scripts = new ScriptStore(db);
    await scripts.insert(
      {
        name: 'weekly-signups',
        scope: '*',
        description: `count signups ${hostile}`,
        interpreter: 'bash',
        body: `echo ${hostile}`,
        parameters: [],
      },
      'U1',
      undefined,
    );
    const [script] = await scripts.list(undefined);
    expect(script?.body).toBe(`echo ${readBack}`);
    expect(script?.description).toBe(`count signups ${readBack}`);
  });
});
