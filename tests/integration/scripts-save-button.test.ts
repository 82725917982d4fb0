import { expect, it } from 'vitest';
import type { RepoConfig } from '../../src/config.js';
import type { IncomingAction } from '../../src/handlers/types.js';
import type { ModalForm, Reply, ThreadHistory } from '../../src/jobs/ports.js';
import { createLogger } from '../../src/log.js';
import { createScriptsRoom, type ScriptsRoom } from '../../src/scripts/create-scripts-room.js';
import type { Database } from '../../src/storage/database.js';
import { describeBackends } from '../support/backends.js';

const CHANNEL = 'C0SCRIPTS';
const THREAD = '1700000000.000100';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';

const repo: RepoConfig & { defaultBranch: string } = {
  name: 'shop',
  url: '/nowhere',
  defaultBranch: 'main',
  channels: [CHANNEL],
  checks: [],
  allowedDomains: [],
  allowLifecycleScripts: false,
  allowWorkflowChanges: false,
};

const history: ThreadHistory = {
  fetch: async () => [],
  displayName: async (userId) => (userId === ALICE ? 'Alice' : 'Bob'),
  permalink: async (channel, ts) => `https://example.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
};

async function newRoom(db: Database, options: { writers?: string[]; modals?: boolean } = {}) {
  const forms: Array<{ triggerId: string; form: ModalForm }> = [];
  const replies: Reply[] = [];
  const room: ScriptsRoom = createScriptsRoom({
    config: {
      access: { writers: options.writers ?? [] },
      repos: [repo],
      limits: {
        maxSteps: 40,
        wallTimeSeconds: 600,
        commandTimeoutSeconds: 30,
        jobTokens: 400_000,
        maxChangedFiles: 10,
        maxChangedLines: 400,
        maxFileBytes: 1024 ** 2,
        worktreeIdleHours: 72,
        modelIdleSeconds: 120,
      },
    },
    db,
    workspaces: {
      acquire: async () => {
        throw new Error('the save flow never needs a worktree');
      },
    },
    history,
    notifier: { reply: async (_thread, reply) => void replies.push(reply) },
    log: createLogger({ level: 'silent' }),
    ...(options.modals === false
      ? {}
      : { modals: { open: async (triggerId, form) => void forms.push({ triggerId, form }) } }),
    resolveRepo: () => repo,
  });
  return { room, forms, replies };
}

const pythonCommand = "python3 - <<'EOF'\nimport os\nprint(os.environ.get('PARAM_PLAN', 'all'))\nEOF";

function click(actionId: string, value: string, user: string): IncomingAction {
  return {
    actionId,
    value,
    user,
    channel: CHANNEL,
    messageTs: '1700000000.000200',
    threadTs: THREAD,
    triggerId: 'T-1',
  };
}

function values(form: ModalForm, changes: Record<string, string> = {}): Record<string, string> {
  return { ...Object.fromEntries(form.fields.map((field) => [field.id, field.initial])), ...changes };
}

describeBackends('Save as team script button', (open) => {
  it('offers the button after a script-like command, opens an editable form and saves what was submitted', async () => {
    const { room, forms, replies } = await newRoom(await open());
    const action = await room.proposeScriptAction(
      'job-1',
      [{ name: 'shell', input: { command: pythonCommand } }],
      {
        request: 'Count signups by plan from the fixtures.',
      },
    );
    expect(action).toEqual({ actionId: 'script_save_open', label: 'Save as team script', value: 'job-1' });
    expect(
      await room.proposeScriptAction('job-2', [{ name: 'shell', input: { command: 'ls' } }]),
    ).toBeUndefined();

    await room.actions.script_save_open(click('script_save_open', 'job-1', ALICE));
    expect(forms).toHaveLength(1);
    const form = forms[0]!.form;
    expect(form.callbackId).toBe('script_save');
    expect(values(form)).toMatchObject({
      name: 'count-signups-plan-fixtures',
      description: 'Count signups by plan from the fixtures.',
      interpreter: 'python3',
      body: "import os\nprint(os.environ.get('PARAM_PLAN', 'all'))\n",
      scope: 'shop',
    });

    await room.views.script_save({
      callbackId: 'script_save',
      user: ALICE,
      privateMetadata: form.privateMetadata,
      values: values(form, { name: 'signups', parameters: 'plan: Plan to count (default: all)' }),
    });
    expect(replies.at(-1)?.markdown).toMatch(/^Saved team script `signups`/);
    expect(replies.at(-1)?.markdown).toContain('`run signups [plan=all]`');
    expect(await room.store.find('signups', 'shop')).toMatchObject({
      author: ALICE,
      interpreter: 'python3',
      parameters: [{ name: 'plan', description: 'Plan to count', default: 'all' }],
      sourcePermalink: `https://example.slack.com/archives/${CHANNEL}/p1700000000000100`,
    });
  });

  it('asks before replacing a script of the same name, and updates on the Update button', async () => {
    const { room, forms, replies } = await newRoom(await open());
    await room.proposeScriptAction('job-1', [{ name: 'shell', input: { command: pythonCommand } }]);
    await room.actions.script_save_open(click('script_save_open', 'job-1', ALICE));
    const form = forms[0]!.form;
    await room.views.script_save({
      callbackId: 'script_save',
      user: ALICE,
      privateMetadata: form.privateMetadata,
      values: values(form, { name: 'signups' }),
    });

    await room.proposeScriptAction('job-3', [
      { name: 'shell', input: { command: 'for p in pro free; do\n  echo $p\ndone' } },
    ]);
    await room.actions.script_save_open(click('script_save_open', 'job-3', BOB));
    const second = forms[1]!.form;
    await room.views.script_save({
      callbackId: 'script_save',
      user: BOB,
      privateMetadata: second.privateMetadata,
      values: values(second, { name: 'signups' }),
    });
    const ask = replies.at(-1)!;
    expect(ask.markdown).toMatch(/already exists .*saved by Alice, version 1\)\. Replace it/);
    expect((await room.store.find('signups', 'shop'))?.interpreter).toBe('python3');
    const update = ask.actions?.[0];
    expect(update).toMatchObject({ actionId: 'script_update_confirm', label: 'Update signups' });

    await room.actions.script_update_confirm(click('script_update_confirm', update!.value, BOB));
    expect(replies.at(-1)?.markdown).toMatch(
      /^Updated \(version 2; earlier versions kept\) team script `signups`/,
    );
    const script = (await room.store.find('signups', 'shop'))!;
    expect(script).toMatchObject({ interpreter: 'bash', updatedBy: BOB, version: 2 });
    expect((await room.store.versions(script.id))[0]).toMatchObject({
      version: 1,
      interpreter: 'python3',
      savedBy: ALICE,
    });

    await room.actions.script_update_confirm(click('script_update_confirm', update!.value, BOB));
    expect(replies.at(-1)?.markdown).toMatch(/already handled/);
  });

  it('re-checks the writer list on click and on submit', async () => {
    const { room, forms, replies } = await newRoom(await open(), { writers: [ALICE] });
    await room.proposeScriptAction('job-1', [{ name: 'shell', input: { command: pythonCommand } }]);
    await room.actions.script_save_open(click('script_save_open', 'job-1', BOB));
    expect(forms).toHaveLength(0);
    expect(replies.at(-1)?.markdown).toMatch(/limited to the writers/);

    await room.actions.script_save_open(click('script_save_open', 'job-1', ALICE));
    const form = forms[0]!.form;
    await room.views.script_save({
      callbackId: 'script_save',
      user: BOB,
      privateMetadata: form.privateMetadata,
      values: values(form),
    });
    expect(replies.at(-1)?.markdown).toMatch(/limited to the writers/);
    expect(await room.store.list('shop')).toEqual([]);
  });

  it('reports problems in the form and keeps the edits for the next click', async () => {
    const { room, forms, replies } = await newRoom(await open());
    await room.proposeScriptAction('job-1', [{ name: 'shell', input: { command: pythonCommand } }]);
    await room.actions.script_save_open(click('script_save_open', 'job-1', ALICE));
    const form = forms[0]!.form;
    await room.views.script_save({
      callbackId: 'script_save',
      user: ALICE,
      privateMetadata: form.privateMetadata,
      values: values(form, { name: 'Bad Name', description: 'Better words' }),
    });
    expect(replies.at(-1)?.markdown).toMatch(/Not saved: The name "Bad Name" is not usable/);
    await room.actions.script_save_open(click('script_save_open', 'job-1', ALICE));
    expect(values(forms[1]!.form)).toMatchObject({ name: 'Bad Name', description: 'Better words' });

    await room.views.script_save({
      callbackId: 'script_save',
      user: ALICE,
      privateMetadata: '{not json',
      values: {},
    });
    expect(replies).toHaveLength(1);
  });

  it('explains how to save by asking when no form can be opened', async () => {
    const { room, replies } = await newRoom(await open(), { modals: false });
    await room.proposeScriptAction('job-1', [{ name: 'shell', input: { command: pythonCommand } }]);
    await room.actions.script_save_open(click('script_save_open', 'job-1', ALICE));
    expect(replies.at(-1)?.markdown).toMatch(/save that as a script called/);
  });
});
