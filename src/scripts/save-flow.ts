import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Config, isWriter } from '../config.js';
import {
  type ActionRoute,
  defineAction,
  defineView,
  recordIdCodec,
  routeTable,
  type ViewRoute,
} from '../jobs/actions.js';
import type { ReplyAction, ThreadHistory, ThreadRef } from '../jobs/ports.js';
import type { Logger } from '../log.js';
import type { ModalForm, ModalOpener, ResolveRepo, ThreadReplier } from './ports.js';
import { draftFromCommand, pickScriptCommand, type ToolCallRecord } from './propose-draft.js';
import { inlineText } from './script-commands.js';
import { forbiddenSaveMessage, type SaveResult, type ScriptLibrary } from './script-library.js';
import { formatParameter, parseParameterLines, usageLine } from './script-rules.js';
import { allRepos, type ScriptDraft, type ScriptStore } from './script-store.js';

/** "Save as team script" under an answer; the value is the draft id (the job id). */
export const saveOpenAction = defineAction({ id: 'script_save_open', ...recordIdCodec });
/** "Update <name>" when the name is taken; the value is the pending draft's id. */
export const updateConfirmAction = defineAction({ id: 'script_update_confirm', ...recordIdCodec });
/** The save form; its metadata says which draft and thread it belongs to. */
export const saveView = defineView({
  id: 'script_save',
  schema: z.object({
    draftId: z.string().min(1),
    channel: z.string().min(1),
    threadTs: z.string().min(1),
  }),
});

export interface SaveFlowDeps {
  library: ScriptLibrary;
  store: ScriptStore;
  config: Pick<Config, 'access' | 'repos'>;
  history: Pick<ThreadHistory, 'permalink' | 'displayName'>;
  notifier: ThreadReplier;
  modals?: ModalOpener | undefined;
  resolveRepo: ResolveRepo;
  log: Logger;
}

export type { ViewRoute } from '../jobs/actions.js';

/**
 * After an agent answer: a "Save as team script" button when one of its shell commands
 * looks like a script. The draft is stored under the job id until someone clicks.
 */
export function createProposeScriptAction(store: ScriptStore) {
  return (
    jobId: string,
    toolCalls: ToolCallRecord[],
    hints: { request?: string; channel?: string; threadTs?: string } = {},
  ): ReplyAction | undefined => {
    const command = pickScriptCommand(toolCalls);
    if (!command) return undefined;
    const draft = draftFromCommand(command, hints);
    store.saveDraft({
      id: jobId,
      jobId,
      ...draft,
      parameters: [],
      scope: undefined,
      channel: hints.channel,
      threadTs: hints.threadTs,
    });
    return saveOpenAction.button(jobId, 'Save as team script');
  };
}

export function createSaveFlow(deps: SaveFlowDeps): {
  actionRoutes: Record<typeof saveOpenAction.id | typeof updateConfirmAction.id, ActionRoute>;
  viewRoutes: Record<typeof saveView.id, ViewRoute>;
} {
  const say = (thread: ThreadRef, markdown: string, actions?: ReplyAction[]) =>
    deps.notifier.reply(thread, { markdown, ...(actions ? { actions } : {}) });

  const openForm = saveOpenAction.route(async (draftId, action) => {
    const thread = { channel: action.channel, threadTs: action.threadTs ?? action.messageTs };
    const draft = deps.store.draft(draftId);
    if (!draft)
      return void (await say(thread, 'That draft is no longer available; ask me to save the script again.'));
    if (!isWriter(deps.config, action.user)) return void (await say(thread, forbiddenSaveMessage));
    if (!deps.modals || !action.triggerId) {
      return void (await say(
        thread,
        `I cannot open a form here. Say “save that as a script called ${draft.name}” and I will save it.`,
      ));
    }
    const scope = draft.scope ?? (await deps.resolveRepo(thread.channel, thread.threadTs))?.name ?? 'all';
    await deps.modals.open(action.triggerId, saveForm(draft, scope === allRepos ? 'all' : scope, thread));
  });

  const submit = saveView.route(async ({ draftId, channel, threadTs }, submission) => {
    const thread = { channel, threadTs };
    const values = submission.values;
    const parsed = parseParameterLines(values.parameters ?? '');
    const scopeWord = (values.scope ?? '').trim();
    const scope = scopeWord === '' || scopeWord.toLowerCase() === 'all' ? allRepos : scopeWord;
    const problems = [...parsed.problems];
    if (scope !== allRepos && !deps.config.repos.some((repo) => repo.name === scope))
      problems.push(
        `There is no repository called \`${scope}\`; write one of ${deps.config.repos.map((repo) => `\`${repo.name}\``).join(', ')} or \`all\`.`,
      );
    const input = {
      name: values.name ?? '',
      scope,
      description: values.description ?? '',
      interpreter: (values.interpreter ?? '').trim(),
      body: values.body ?? '',
      parameters: parsed.parameters,
    };
    // Keep what they typed so the button reopens the form with their edits.
    const kept = deps.store.draft(draftId);
    if (kept)
      deps.store.saveDraft({
        ...kept,
        ...input,
        interpreter: input.interpreter as ScriptDraft['interpreter'],
        scope,
      });
    if (problems.length > 0) return void (await say(thread, `Not saved: ${problems.join(' ')}`));
    const permalink = await deps.history.permalink(channel, threadTs);
    const result = deps.library.save(input, { userId: submission.user, permalink, update: false });
    if (result.kind === 'exists') {
      const pending = deps.store.saveDraft({
        id: randomUUID(),
        jobId: undefined,
        ...input,
        interpreter: input.interpreter as ScriptDraft['interpreter'],
        scope,
        channel,
        threadTs,
      });
      const by = await deps.history.displayName(result.existing.author);
      return void (await say(
        thread,
        `A team script called \`${result.existing.name}\` already exists (“${inlineText(result.existing.description)}”, saved by ${by}, version ${result.existing.version}). Replace it with this one? The current version stays in its history.`,
        [updateConfirmAction.button(pending.id, `Update ${result.existing.name}`, 'primary')],
      ));
    }
    await say(thread, describeSave(result));
    if (result.kind === 'saved') deps.store.deleteDraft(draftId);
  });

  const confirmUpdate = updateConfirmAction.route(async (pendingId, action) => {
    const thread = { channel: action.channel, threadTs: action.threadTs ?? action.messageTs };
    const pending = deps.store.draft(pendingId);
    if (!pending) return void (await say(thread, 'That update was already handled or has expired.'));
    const permalink = await deps.history.permalink(thread.channel, thread.threadTs);
    const result = deps.library.save(
      { ...pending, scope: pending.scope ?? allRepos },
      { userId: action.user, permalink, update: true },
    );
    if (result.kind === 'saved') deps.store.deleteDraft(pending.id);
    await say(thread, describeSave(result));
  });

  return { actionRoutes: routeTable(openForm, confirmUpdate), viewRoutes: routeTable(submit) };
}

function saveForm(draft: ScriptDraft, scope: string, thread: ThreadRef): ModalForm {
  return {
    ...saveView.form({ draftId: draft.id, channel: thread.channel, threadTs: thread.threadTs }),
    title: 'Save as team script',
    submitLabel: 'Save',
    fields: [
      { id: 'name', label: 'Name (lowercase, dashes)', initial: draft.name, multiline: false },
      { id: 'description', label: 'What it does', initial: draft.description, multiline: false },
      {
        id: 'interpreter',
        label: 'Interpreter (sh, bash, node, python3)',
        initial: draft.interpreter,
        multiline: false,
      },
      {
        id: 'parameters',
        label: 'Parameters, one a line: name: description (default: value)',
        initial: draft.parameters.map(formatParameter).join('\n'),
        multiline: true,
        optional: true,
      },
      {
        id: 'body',
        label: 'Script (reads parameters as $PARAM_<NAME>)',
        initial: draft.body,
        multiline: true,
      },
      { id: 'scope', label: 'Repository, or "all"', initial: scope, multiline: false },
    ],
  };
}

function describeSave(result: SaveResult): string {
  switch (result.kind) {
    case 'forbidden':
      return forbiddenSaveMessage;
    case 'invalid':
      return `Not saved: ${result.problems.join(' ')}`;
    case 'exists':
      return `A team script called \`${result.existing.name}\` already exists.`;
    case 'saved': {
      const what =
        result.change === 'added'
          ? 'Saved'
          : `Updated (version ${result.script.version}; earlier versions kept)`;
      return `${what} team script \`${result.script.name}\`. Anyone can run it:\n${usageLine(result.script.name, result.script.parameters)}`;
    }
  }
}
