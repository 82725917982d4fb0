import { type Config, isWriter } from '../config.js';
import type { Logger } from '../log.js';
import type { CommandResult, Workspace } from '../workspace/types.js';
import { bindArguments } from './arguments.js';
import { toSearchQuery } from './fts-query.js';
import { exitStatusOf, runScriptBody } from './run-script.js';
import { checkScript, type ScriptInput } from './script-rules.js';
import { allRepos, type ScriptRecord, type ScriptStore } from './script-store.js';

export type SaveResult =
  | { kind: 'saved'; script: ScriptRecord; change: 'added' | 'updated' }
  | { kind: 'forbidden' }
  | { kind: 'invalid'; problems: string[] }
  | { kind: 'exists'; existing: ScriptRecord };

export type RunResult =
  | { kind: 'usage'; usage: string }
  | { kind: 'ran'; script: ScriptRecord; result: CommandResult };

export type DeleteResult = { kind: 'deleted' } | { kind: 'missing' } | { kind: 'forbidden'; author: string };

export const forbiddenSaveMessage =
  'Saving team scripts is limited to the writers listed in the shipmate configuration (`access.writers`). Ask one of them to save it.';

/** The library's rules in one place, shared by the tools, the command words and the save button. */
export class ScriptLibrary {
  constructor(
    readonly store: ScriptStore,
    private readonly config: Pick<Config, 'access'>,
    private readonly log: Logger,
  ) {}

  /** A write action: needs a writer; a name clash is refused unless `update` is set. */
  async save(
    input: ScriptInput,
    by: { userId: string; permalink?: string | undefined; update: boolean },
  ): Promise<SaveResult> {
    if (!isWriter(this.config, by.userId)) return { kind: 'forbidden' };
    const checked = checkScript(input);
    if (!checked.ok) return { kind: 'invalid', problems: checked.problems };
    const fields = checked.fields;
    const existing = await this.store.find(fields.name, fields.scope === allRepos ? undefined : fields.scope);
    if (existing && !by.update) return { kind: 'exists', existing };
    if (existing) {
      const script = await this.store.update(existing.id, fields, by.userId, by.permalink);
      this.log.info({ script: script.name, version: script.version, by: by.userId }, 'script-updated');
      return { kind: 'saved', script, change: 'updated' };
    }
    const script = await this.store.insert(fields, by.userId, by.permalink);
    this.log.info({ script: script.name, scope: script.scope, by: by.userId }, 'script-added');
    return { kind: 'saved', script, change: 'added' };
  }

  find(name: string, repo: string | undefined): Promise<ScriptRecord | undefined> {
    return this.store.find(name.toLowerCase(), repo);
  }

  /** Every word must match; when nothing does, any word may. */
  async search(text: string, repo: string | undefined, limit = 10): Promise<ScriptRecord[]> {
    const all = toSearchQuery(text, 'all');
    if (!all) return [];
    const strict = await this.store.search(all, repo, limit);
    if (strict.length > 0 || all.words.length < 2) return strict;
    return this.store.search({ ...all, mode: 'any' }, repo, limit);
  }

  /** For the agent's starting context: a few scripts that share uncommon words with the request. */
  async relevant(request: string, repo: string, limit = 3): Promise<ScriptRecord[]> {
    const query = toSearchQuery(request, 'any', { dropStopwords: true });
    return query ? this.store.search(query, repo, limit) : [];
  }

  async run(
    script: ScriptRecord,
    values: Record<string, string>,
    options: { workspace: Workspace; userId: string; timeoutMs: number; signal?: AbortSignal },
  ): Promise<RunResult> {
    const bound = bindArguments(script.name, script.parameters, values);
    if (!bound.ok) return { kind: 'usage', usage: bound.usage };
    const result = await runScriptBody({
      workspace: options.workspace,
      script,
      env: bound.env,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await this.store.recordRun(script.id, exitStatusOf(result), options.userId);
    this.log.info(
      { script: script.name, exitCode: result.exitCode, durationMs: result.durationMs, by: options.userId },
      'script-ran',
    );
    return { kind: 'ran', script: (await this.store.get(script.id)) ?? script, result };
  }

  /** Its author or a writer may delete a script (everyone is a writer when `access.writers` is not set). */
  async remove(name: string, repo: string | undefined, userId: string): Promise<DeleteResult> {
    const script = await this.find(name, repo);
    if (!script) return { kind: 'missing' };
    if (script.author !== userId && !isWriter(this.config, userId))
      return { kind: 'forbidden', author: script.author };
    await this.store.delete(script.id, userId);
    this.log.info({ script: script.name, by: userId }, 'script-deleted');
    return { kind: 'deleted' };
  }
}
