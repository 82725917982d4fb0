import { expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ScriptLibrary } from '../../src/scripts/script-library.js';
import { type ScriptFields, ScriptStore } from '../../src/scripts/script-store.js';
import { postgresSearch } from '../../src/scripts/search-statements.js';
import type { Database } from '../../src/storage/database.js';
import { describeBackends } from '../support/backends.js';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const day = 86_400_000;

function script(name: string, content: Partial<ScriptFields> = {}): ScriptFields {
  return {
    name,
    scope: 'shop',
    description: 'Does a thing',
    interpreter: 'sh',
    body: 'echo hi\n',
    parameters: [],
    ...content,
  };
}

/** A library on `db` whose clock the test moves. */
function newLibrary(db: Database) {
  const clock = { now: 1_780_000_000_000 };
  const store = new ScriptStore(db, () => clock.now);
  const library = new ScriptLibrary(store, { access: { writers: [] } }, createLogger({ level: 'silent' }));
  const names = async (text: string, repo: string | undefined = 'shop') =>
    (await library.search(text, repo)).map((found) => found.name);
  return { clock, store, library, names };
}

describeBackends('script search', (open, backend) => {
  it('finds a hyphenated name by either half, by the whole and by a prefix', async () => {
    const { store, names } = newLibrary(await open());
    await store.insert(
      script('weekly-signups', { description: 'Prints the week in numbers' }),
      ALICE,
      undefined,
    );
    await store.insert(script('count-js'), ALICE, undefined);
    for (const text of ['weekly', 'signups', 'weekly-signups', 'WEEKLY-Signups', 'week', 'sign'])
      expect(await names(text), text).toEqual(['weekly-signups']);
    expect(await names('ups')).toEqual([]);
  });

  it('wants every word, and takes any word only when no script has them all', async () => {
    const { store, names } = newLibrary(await open());
    await store.insert(script('count-js', { description: 'Counts JavaScript files' }), ALICE, undefined);
    await store.insert(script('count-signups', { description: 'Counts signups by plan' }), ALICE, undefined);
    expect(await names('counts signups')).toEqual(['count-signups']);
    expect(await names('javascript deploy')).toEqual(['count-js']);
    expect(await names('deploy')).toEqual([]);
  });

  it('finds words inside file names, paths, variables and typographic punctuation', async () => {
    const { store, names } = newLibrary(await open());
    await store.insert(
      script('plans', {
        description: 'Reads package.json — counts “active” users',
        body: 'tail -n +2 fixtures/signups.csv | grep "$PARAM_PLAN" # see https://example.com/docs\n',
      }),
      ALICE,
      undefined,
    );
    for (const text of [
      'package',
      'json',
      'active',
      'users',
      'fixtures',
      'csv',
      'param',
      'plan',
      'example',
      'docs',
    ])
      expect(await names(text), text).toEqual(['plans']);
    expect(await names('fixtures/signups.csv')).toEqual(['plans']);
  });

  it('ranks a hit in the name first, then the description, then the body; equal ranks by name', async () => {
    const { store, names } = newLibrary(await open());
    await store.insert(script('b-helper', { body: 'echo deploy\n' }), ALICE, undefined);
    await store.insert(script('release', { description: 'Checks a deploy is done' }), ALICE, undefined);
    await store.insert(script('a-helper', { body: 'echo deploy\n' }), ALICE, undefined);
    await store.insert(script('deploy-notes', { description: 'Writes notes' }), ALICE, undefined);
    expect(await names('deploy')).toEqual(['deploy-notes', 'release', 'a-helper', 'b-helper']);
  });

  it('never reads query syntax from what a person typed', async () => {
    const { store, names } = newLibrary(await open());
    await store.insert(script('signups-by-plan'), ALICE, undefined);
    expect(await names('signups" OR name:* NEAR(')).toEqual(['signups-by-plan']);
    for (const text of ["'&|!:*", "signups') | ('x", 'signups & !plan', 'signups <-> x:A', '"', 'NOT', '*'])
      await expect(names(text), text).resolves.toBeInstanceOf(Array);
    expect(await names("signups') | ('x")).toEqual(['signups-by-plan']);
  });

  it('offers the agent scripts that share uncommon words with its request', async () => {
    const { store, library } = newLibrary(await open());
    await store.insert(
      script('signups-by-plan', { description: 'Counts signups by plan' }),
      ALICE,
      undefined,
    );
    const relevant = async (request: string) =>
      (await library.relevant(request, 'shop')).map((found) => found.name);
    expect(await relevant('how many signups are in the fixtures?')).toEqual(['signups-by-plan']);
    expect(await relevant('can you run the script for me?')).toEqual([]);
  });

  it('keeps the index in step with updates and deletions', async () => {
    const { store, names } = newLibrary(await open());
    const saved = await store.insert(script('report', { description: 'Weekly totals' }), ALICE, undefined);
    await store.update(saved.id, { ...script('report'), description: 'Monthly totals' }, BOB, undefined);
    expect(await names('weekly')).toEqual([]);
    expect(await names('monthly')).toEqual(['report']);
    await store.delete(saved.id, BOB);
    expect(await names('monthly')).toEqual([]);
  });

  // A team's library grows; a search that rebuilds every script's document scans them all.
  // PostgreSQL only: SQLite searches through FTS5, which has no query plan to look at.
  if (backend === 'postgres') {
    it('searches through the GIN index on PostgreSQL, paths split as on SQLite', async () => {
      const db = await open();
      const { store, names } = newLibrary(db);
      await store.insert(script('signups', { body: 'cat fixtures/signups.csv\n' }), ALICE, undefined);
      expect(await names('csv')).toEqual(['signups']);
      const plan = await db.transaction(async (tx) => {
        // With sequential scans priced out, the planner takes the index if the query can use it.
        await tx.exec('SET LOCAL enable_seqscan = off');
        return tx.all<{ 'QUERY PLAN': string }>(`EXPLAIN ${postgresSearch('s.id', false)}`, 'csv:*', 10);
      });
      expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/Index Scan on scripts_search/);
    });
  }
});

describeBackends('the script store', (open) => {
  it('shows a repository its own scripts and those for all repositories, its own first', async () => {
    const { store, names } = newLibrary(await open());
    await store.insert(script('report', { scope: '*', description: 'Totals everywhere' }), ALICE, undefined);
    await store.insert(script('report', { description: 'Totals everywhere' }), BOB, undefined);
    await store.insert(script('billing-only', { scope: 'billing' }), BOB, undefined);
    expect((await store.find('report', 'shop'))?.author).toBe(BOB);
    expect((await store.find('report', 'billing'))?.author).toBe(ALICE);
    expect((await store.find('report', undefined))?.scope).toBe('*');
    expect(await store.find('billing-only', 'shop')).toBeUndefined();
    const listed = async (repo: string | undefined) =>
      (await store.list(repo)).map((found) => `${found.name}@${found.scope}`);
    expect(await listed('shop')).toEqual(['report@*', 'report@shop']);
    expect(await listed(undefined)).toEqual(['billing-only@billing', 'report@*', 'report@shop']);
    expect(await names('totals', 'billing')).toEqual(['report']);
    expect(await names('totals', undefined)).toEqual(['report', 'report']);
  });

  it('keeps every replaced version, newest first, and the source thread unless a new one is given', async () => {
    const { clock, store } = newLibrary(await open());
    const first = await store.insert(script('report', { body: 'echo 1\n' }), ALICE, 'https://thread/1');
    clock.now += 1000;
    await store.update(first.id, { ...script('report'), body: 'echo 2\n' }, BOB, undefined);
    clock.now += 1000;
    const third = await store.update(
      first.id,
      {
        ...script('report'),
        body: 'echo 3\n',
        interpreter: 'bash',
        parameters: [{ name: 'dir', description: 'Where' }],
      },
      ALICE,
      'https://thread/3',
    );
    expect(third).toMatchObject({
      version: 3,
      body: 'echo 3\n',
      interpreter: 'bash',
      parameters: [{ name: 'dir', description: 'Where' }],
      author: ALICE,
      updatedBy: ALICE,
      sourcePermalink: 'https://thread/3',
      createdAt: first.createdAt,
      updatedAt: first.createdAt + 2000,
    });
    expect((await store.get(first.id))?.sourcePermalink).toBe('https://thread/3');
    const versions = await store.versions(first.id);
    expect(versions.map((version) => [version.version, version.body, version.savedBy])).toEqual([
      [2, 'echo 2\n', BOB],
      [1, 'echo 1\n', ALICE],
    ]);
    expect(versions[1]?.savedAt).toBe(first.createdAt);
    await expect(store.update(9999, script('x'), BOB, undefined)).rejects.toThrow(/does not exist/);
  });

  it('refuses a second script of the same name in the same scope and leaves no trace of it', async () => {
    const { store } = newLibrary(await open());
    await store.insert(script('report'), ALICE, undefined);
    await expect(store.insert(script('report'), BOB, undefined)).rejects.toThrow();
    expect((await store.changesBetween(0, Number.MAX_SAFE_INTEGER)).length).toBe(1);
  });

  it('counts runs with the last result and who ran it', async () => {
    const { clock, store } = newLibrary(await open());
    const saved = await store.insert(script('report'), ALICE, undefined);
    expect(saved).toMatchObject({ runCount: 0, lastExitStatus: undefined, lastRunAt: undefined });
    await store.recordRun(saved.id, 0, BOB);
    clock.now += 5;
    await store.recordRun(saved.id, 2, ALICE);
    expect(await store.get(saved.id)).toMatchObject({
      runCount: 2,
      lastExitStatus: 2,
      lastRunBy: ALICE,
      lastRunAt: clock.now,
    });
  });

  it('keeps a draft until it is deleted or a week old, and replaces one saved again', async () => {
    const { clock, store } = newLibrary(await open());
    const draft = {
      id: 'job-1',
      jobId: 'job-1',
      name: 'count-rows',
      description: 'Counts rows',
      interpreter: 'python3' as const,
      body: 'print(1)\n',
      parameters: [],
      scope: undefined,
      channel: 'C1',
      threadTs: '1.0',
    };
    await store.saveDraft(draft);
    expect(await store.draft('job-1')).toEqual({ ...draft, createdAt: clock.now });
    await store.saveDraft({
      ...draft,
      name: 'edited',
      scope: 'shop',
      parameters: [{ name: 'n', description: 'N' }],
    });
    expect(await store.draft('job-1')).toMatchObject({
      name: 'edited',
      scope: 'shop',
      parameters: [{ name: 'n', description: 'N' }],
    });
    await store.saveDraft({
      ...draft,
      id: 'other',
      jobId: undefined,
      channel: undefined,
      threadTs: undefined,
    });
    expect(await store.draft('other')).toMatchObject({
      jobId: undefined,
      channel: undefined,
      threadTs: undefined,
    });
    await store.deleteDraft('other');
    expect(await store.draft('other')).toBeUndefined();

    clock.now += 7 * day + 1;
    await store.saveDraft({ ...draft, id: 'job-2' });
    expect(await store.draft('job-1')).toBeUndefined();
    expect(await store.draft('job-2')).toBeDefined();
  });

  it('logs adds, changes and deletions for the digest, oldest first, in a half-open window', async () => {
    const { clock, store } = newLibrary(await open());
    const start = clock.now;
    const saved = await store.insert(script('report'), ALICE, undefined);
    clock.now += 1000;
    await store.update(saved.id, script('report', { body: 'echo 2\n' }), BOB, undefined);
    clock.now += 1000;
    await store.delete(saved.id, ALICE);
    await store.delete(saved.id, ALICE);
    expect(await store.changesBetween(start, start + 2001)).toEqual([
      { name: 'report', scope: 'shop', change: 'added', by: ALICE, at: start },
      { name: 'report', scope: 'shop', change: 'changed', by: BOB, at: start + 1000 },
      { name: 'report', scope: 'shop', change: 'deleted', by: ALICE, at: start + 2000 },
    ]);
    expect((await store.changesBetween(start + 1, start + 2000)).map((change) => change.change)).toEqual([
      'changed',
    ]);
    expect(await store.versions(saved.id)).toEqual([]);
  });
});
