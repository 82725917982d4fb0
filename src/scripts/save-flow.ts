import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Config, isWriter } from '../config.js';
import { describeError } from '../errors.js';
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
import type { ModalField, ModalForm, ModalOpener, OpenedModal, ResolveRepo, ThreadReplier } from './ports.js';
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
  return async (
    jobId: string,
    toolCalls: ToolCallRecord[],
    hints: { request?: string; channel?: string; threadTs?: string } = {},
  ): Promise<ReplyAction | undefined> => {
    const command = pickScriptCommand(toolCalls);
    if (!command) return undefined;
    const draft = draftFromCommand(command, hints);
    await store.saveDraft({
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
    const draft = await deps.store.draft(draftId);
    if (!draft)
      return void (await say(thread, 'That draft is no longer available; ask me to save the script again.'));
    if (!isWriter(deps.config, action.user)) return void (await say(thread, forbiddenSaveMessage));
    const bySaying = `Say “save that as a script called ${draft.name}” and I will save it.`;
    if (!deps.modals || !action.triggerId) {
      return void (await say(thread, `I cannot open a form here. ${bySaying}`));
    }
    // Slack takes the click's trigger_id for 3 seconds only, so the form opens at once with
    // what is known now; the thread's repository (which may need a `git ls-remote` for its
    // default branch) is resolved afterwards and put into the open form.
    const shown = draft.scope ?? onlyRepo(deps.config) ?? allRepos;
    const form = saveForm(draft, shown, thread);
    if ('refusal' in form) return void (await say(thread, `${form.refusal} ${bySaying}`));
    let opened: OpenedModal | undefined;
    try {
      opened = await deps.modals.open(action.triggerId, form);
    } catch (error) {
      deps.log.warn({ err: error, draftId }, 'script-form-open-failed');
      return void (await say(thread, `I could not open the form (${describeError(error)}). ${bySaying}`));
    }
    if (draft.scope !== undefined || !opened) return;
    let resolved: string = allRepos;
    try {
      resolved = (await deps.resolveRepo(thread.channel, thread.threadTs))?.name ?? allRepos;
    } catch (error) {
      deps.log.warn({ err: error, draftId }, 'script-form-repo-unresolved');
      return;
    }
    if (resolved === shown) return;
    const updated = saveForm(draft, resolved, thread);
    if ('refusal' in updated) return;
    try {
      await opened.update(updated);
    } catch (error) {
      // Closed or submitted meanwhile: what they submit is what counts.
      deps.log.info({ err: error, draftId }, 'script-form-update-failed');
    }
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
      body: joinedBody(values),
      parameters: parsed.parameters,
    };
    // Keep what they typed so the button reopens the form with their edits.
    const kept = await deps.store.draft(draftId);
    if (kept)
      await deps.store.saveDraft({
        ...kept,
        ...input,
        interpreter: input.interpreter as ScriptDraft['interpreter'],
        scope,
      });
    if (problems.length > 0) return void (await say(thread, `Not saved: ${problems.join(' ')}`));
    const permalink = await deps.history.permalink(channel, threadTs);
    const result = await deps.library.save(input, { userId: submission.user, permalink, update: false });
    if (result.kind === 'exists') {
      const pending = await deps.store.saveDraft({
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
    if (result.kind === 'saved') await deps.store.deleteDraft(draftId);
  });

  const confirmUpdate = updateConfirmAction.route(async (pendingId, action) => {
    const thread = { channel: action.channel, threadTs: action.threadTs ?? action.messageTs };
    const pending = await deps.store.draft(pendingId);
    if (!pending) return void (await say(thread, 'That update was already handled or has expired.'));
    const permalink = await deps.history.permalink(thread.channel, thread.threadTs);
    const result = await deps.library.save(
      { ...pending, scope: pending.scope ?? allRepos },
      { userId: action.user, permalink, update: true },
    );
    if (result.kind === 'saved') await deps.store.deleteDraft(pending.id);
    await say(thread, describeSave(result));
  });

  return { actionRoutes: routeTable(openForm, confirmUpdate), viewRoutes: routeTable(submit) };
}

/** The one configured repository, known without any lookup. */
function onlyRepo(config: Pick<Config, 'repos'>): string | undefined {
  return config.repos.length === 1 ? config.repos[0]?.name : undefined;
}

/**
 * What one plain_text_input holds: max_length is "between 1 and 3000, inclusive"
 * (https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element), and a
 * modal has at most 100 blocks (https://docs.slack.dev/reference/views/modal-views).
 */
export const inputLimit = 3_000;
const maxBodyParts = 90;

/**
 * A script too long for one input, as consecutive parts of at most `limit` characters cut at
 * line ends (the line break between two parts is dropped and put back on submit). Undefined
 * when a single line is longer than an input.
 */
export function splitIntoInputs(text: string, limit = inputLimit): string[] | undefined {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let current: string[] = [];
  let length = 0;
  for (const line of text.split('\n')) {
    if (line.length > limit) return undefined;
    const grown = current.length === 0 ? line.length : length + 1 + line.length;
    if (current.length > 0 && grown > limit) {
      parts.push(current.join('\n'));
      current = [line];
      length = line.length;
    } else {
      current.push(line);
      length = grown;
    }
  }
  parts.push(current.join('\n'));
  return parts;
}

/** The script from its parts (`body`, `body_2`, `body_3` …), in order; an emptied part adds nothing. */
export function joinedBody(values: Record<string, string>): string {
  const parts = Object.entries(values)
    .map(([key, value]) => ({
      index: key === 'body' ? 1 : Number(/^body_(\d+)$/.exec(key)?.[1] ?? Number.NaN),
      value,
    }))
    .filter((part) => Number.isInteger(part.index))
    .sort((a, b) => a.index - b.index);
  if (parts.length <= 1) return parts[0]?.value ?? '';
  return parts
    .map((part) => part.value)
    .filter((value, index) => index === 0 || value !== '')
    .join('\n');
}

const bodyLabel = 'Script (reads parameters as $PARAM_<NAME>)';

function bodyFields(body: string): ModalField[] | { refusal: string } {
  const parts = splitIntoInputs(body);
  if (!parts)
    return {
      refusal: `This script has a line longer than ${inputLimit.toLocaleString('en-US')} characters, more than a Slack form field holds.`,
    };
  if (parts.length > maxBodyParts) return { refusal: 'This script is too long to edit in a Slack form.' };
  if (parts.length === 1) return [{ id: 'body', label: bodyLabel, initial: body, multiline: true }];
  return parts.map((part, index) => ({
    id: index === 0 ? 'body' : `body_${index + 1}`,
    label: `Script, part ${index + 1} of ${parts.length}${index === 0 ? ' (reads parameters as $PARAM_<NAME>)' : ''}`,
    initial: part,
    multiline: true,
    // Parts continue one another; a later one may be emptied.
    optional: index > 0,
  }));
}

function saveForm(
  draft: ScriptDraft,
  scopeValue: string,
  thread: ThreadRef,
): ModalForm | { refusal: string } {
  const scope = scopeValue === allRepos ? 'all' : scopeValue;
  const body = bodyFields(draft.body);
  if ('refusal' in body) return body;
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
      ...body,
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
