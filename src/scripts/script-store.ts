import { z } from 'zod';
import type { Database } from '../storage/database.js';

/** The scope of a script visible in every repository. */
export const allRepos = '*';

export const interpreters = ['sh', 'bash', 'node', 'python3'] as const;
export type Interpreter = (typeof interpreters)[number];

/** One named parameter; without a default it is required. The JSON column holds an array of these. */
export const scriptParameterSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  description: z.string().max(200),
  default: z.string().max(1000).optional(),
});
export type ScriptParameter = z.infer<typeof scriptParameterSchema>;
const parametersSchema = z.array(scriptParameterSchema).max(20);

export interface ScriptFields {
  name: string;
  /** A repository name, or `*` for all repositories. */
  scope: string;
  description: string;
  interpreter: Interpreter;
  body: string;
  parameters: ScriptParameter[];
}

export interface ScriptRecord extends ScriptFields {
  id: number;
  author: string;
  updatedBy: string;
  sourcePermalink: string | undefined;
  version: number;
  runCount: number;
  lastExitStatus: number | undefined;
  lastRunAt: number | undefined;
  lastRunBy: string | undefined;
  createdAt: number;
  updatedAt: number;
}

export interface ScriptVersion {
  version: number;
  description: string;
  interpreter: Interpreter;
  body: string;
  parameters: ScriptParameter[];
  savedBy: string;
  savedAt: number;
}

export interface ScriptDraft {
  id: string;
  jobId: string | undefined;
  name: string;
  description: string;
  interpreter: Interpreter;
  body: string;
  parameters: ScriptParameter[];
  scope: string | undefined;
  channel: string | undefined;
  threadTs: string | undefined;
  createdAt: number;
}

export interface ScriptChange {
  name: string;
  scope: string;
  change: 'added' | 'changed' | 'deleted';
  by: string | undefined;
  at: number;
}

/**
 * Scripts, their versions, drafts and change log. Every statement that changes a script
 * also writes its version or event row in the same transaction.
 */
export class ScriptStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The script called `name` that `repo` can see: its own first, then one for all repositories. */
  find(name: string, repo: string | undefined): ScriptRecord | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM scripts WHERE name = ? AND scope IN (?, '*')
         ORDER BY CASE scope WHEN '*' THEN 1 ELSE 0 END LIMIT 1`,
      )
      .get(name, repo ?? allRepos);
    return row ? toScript(row as ScriptRow) : undefined;
  }

  get(id: number): ScriptRecord | undefined {
    const row = this.db.prepare('SELECT * FROM scripts WHERE id = ?').get(id);
    return row ? toScript(row as ScriptRow) : undefined;
  }

  /** Scripts `repo` can see (all of them when repo is undefined), by name. */
  list(repo: string | undefined): ScriptRecord[] {
    const rows =
      repo === undefined
        ? this.db.prepare('SELECT * FROM scripts ORDER BY name, scope').all()
        : this.db.prepare(`SELECT * FROM scripts WHERE scope IN (?, '*') ORDER BY name, scope`).all(repo);
    return (rows as ScriptRow[]).map(toScript);
  }

  /** Best matches first (bm25; a hit in the name counts most). `match` must be a safe FTS5 query. */
  search(match: string, repo: string | undefined, limit: number): ScriptRecord[] {
    const scoped = repo === undefined ? '' : `AND s.scope IN (?, '*')`;
    const rows = this.db
      .prepare(
        `SELECT s.* FROM scripts_fts JOIN scripts s ON s.id = scripts_fts.rowid
         WHERE scripts_fts MATCH ? ${scoped}
         ORDER BY bm25(scripts_fts, 10.0, 5.0, 1.0) LIMIT ?`,
      )
      .all(...(repo === undefined ? [match, limit] : [match, repo, limit]));
    return (rows as ScriptRow[]).map(toScript);
  }

  insert(fields: ScriptFields, author: string, sourcePermalink: string | undefined): ScriptRecord {
    const now = this.clock();
    return this.db.transaction(() => {
      const result = this.db
        .prepare(
          `INSERT INTO scripts (name, scope, description, interpreter, body, parameters, author, updated_by,
             source_permalink, created_at, updated_at)
           VALUES (@name, @scope, @description, @interpreter, @body, @parameters, @author, @author,
             @sourcePermalink, @now, @now)`,
        )
        .run({
          ...columns(fields),
          name: fields.name,
          scope: fields.scope,
          author,
          sourcePermalink: sourcePermalink ?? null,
          now,
        });
      this.logChange(fields.name, fields.scope, 'added', author, now);
      return this.get(Number(result.lastInsertRowid))!;
    })();
  }

  /** Replaces the script's content; the content it had is kept as a version. */
  update(
    id: number,
    fields: Omit<ScriptFields, 'name' | 'scope'>,
    by: string,
    sourcePermalink: string | undefined,
  ): ScriptRecord {
    const now = this.clock();
    return this.db.transaction(() => {
      const current = this.get(id);
      if (!current) throw new Error(`script ${id} does not exist`);
      this.db
        .prepare(
          `INSERT INTO script_versions (script_id, version, description, interpreter, body, parameters, saved_by, saved_at)
           VALUES (@id, @version, @description, @interpreter, @body, @parameters, @updatedBy, @updatedAt)`,
        )
        .run({
          ...columns(current),
          id,
          version: current.version,
          updatedBy: current.updatedBy,
          updatedAt: current.updatedAt,
        });
      this.db
        .prepare(
          `UPDATE scripts SET description = @description, interpreter = @interpreter, body = @body,
             parameters = @parameters, updated_by = @by, version = version + 1, updated_at = @now,
             source_permalink = COALESCE(@sourcePermalink, source_permalink)
           WHERE id = @id`,
        )
        .run({ ...columns(fields), by, now, id, sourcePermalink: sourcePermalink ?? null });
      this.logChange(current.name, current.scope, 'changed', by, now);
      return this.get(id)!;
    })();
  }

  delete(id: number, by: string): void {
    this.db.transaction(() => {
      const current = this.get(id);
      if (!current) return;
      this.db.prepare('DELETE FROM scripts WHERE id = ?').run(id);
      this.logChange(current.name, current.scope, 'deleted', by, this.clock());
    })();
  }

  /** Earlier versions, newest first (the current one is the script row itself). */
  versions(id: number): ScriptVersion[] {
    const rows = this.db
      .prepare('SELECT * FROM script_versions WHERE script_id = ? ORDER BY version DESC')
      .all(id) as VersionRow[];
    return rows.map((row) => ({
      version: row.version,
      description: row.description,
      interpreter: row.interpreter as Interpreter,
      body: row.body,
      parameters: readParameters(row.parameters),
      savedBy: row.saved_by,
      savedAt: row.saved_at,
    }));
  }

  recordRun(id: number, exitStatus: number, by: string): void {
    this.db
      .prepare(
        `UPDATE scripts SET run_count = run_count + 1, last_exit_status = ?, last_run_at = ?, last_run_by = ?
         WHERE id = ?`,
      )
      .run(exitStatus, this.clock(), by, id);
  }

  saveDraft(draft: Omit<ScriptDraft, 'createdAt'>): ScriptDraft {
    const createdAt = this.clock();
    this.db
      .prepare(
        `INSERT OR REPLACE INTO script_drafts (id, job_id, name, description, interpreter, body, parameters, scope,
           channel, thread_ts, created_at)
         VALUES (@id, @jobId, @name, @description, @interpreter, @body, @parameters, @scope, @channel, @threadTs, @createdAt)`,
      )
      .run({
        ...columns(draft),
        id: draft.id,
        name: draft.name,
        jobId: draft.jobId ?? null,
        scope: draft.scope ?? null,
        channel: draft.channel ?? null,
        threadTs: draft.threadTs ?? null,
        createdAt,
      });
    // Drafts nobody clicked are of no use after a week.
    this.db.prepare('DELETE FROM script_drafts WHERE created_at < ?').run(createdAt - 7 * 86_400_000);
    return { ...draft, createdAt };
  }

  draft(id: string): ScriptDraft | undefined {
    const row = this.db.prepare('SELECT * FROM script_drafts WHERE id = ?').get(id) as DraftRow | undefined;
    if (!row) return undefined;
    return {
      id: row.id,
      jobId: row.job_id ?? undefined,
      name: row.name,
      description: row.description,
      interpreter: row.interpreter as Interpreter,
      body: row.body,
      parameters: readParameters(row.parameters),
      scope: row.scope ?? undefined,
      channel: row.channel ?? undefined,
      threadTs: row.thread_ts ?? undefined,
      createdAt: row.created_at,
    };
  }

  deleteDraft(id: string): void {
    this.db.prepare('DELETE FROM script_drafts WHERE id = ?').run(id);
  }

  /** Adds, changes and deletions with from <= at < to, oldest first. */
  changesBetween(from: number, to: number): ScriptChange[] {
    const rows = this.db
      .prepare('SELECT * FROM script_events WHERE at >= ? AND at < ? ORDER BY id')
      .all(from, to) as EventRow[];
    return rows.map((row) => ({
      name: row.name,
      scope: row.scope,
      change: row.change,
      by: row.by_user ?? undefined,
      at: row.at,
    }));
  }

  private logChange(
    name: string,
    scope: string,
    change: ScriptChange['change'],
    by: string,
    at: number,
  ): void {
    this.db
      .prepare('INSERT INTO script_events (name, scope, change, by_user, at) VALUES (?, ?, ?, ?, ?)')
      .run(name, scope, change, by, at);
  }
}

/** The content columns every script, version and draft row has. */
function columns(content: Pick<ScriptFields, 'description' | 'interpreter' | 'body' | 'parameters'>) {
  return {
    description: content.description,
    interpreter: content.interpreter,
    body: content.body,
    parameters: JSON.stringify(content.parameters),
  };
}

/** The JSON column, checked on the way out; a row that does not parse reads as no parameters. */
function readParameters(json: string): ScriptParameter[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    // A corrupt column must not make the whole library unreadable; the script still runs.
    return [];
  }
  const parsed = parametersSchema.safeParse(raw);
  return parsed.success ? parsed.data : [];
}

interface ScriptRow {
  id: number;
  name: string;
  scope: string;
  description: string;
  interpreter: string;
  body: string;
  parameters: string;
  author: string;
  updated_by: string;
  source_permalink: string | null;
  version: number;
  run_count: number;
  last_exit_status: number | null;
  last_run_at: number | null;
  last_run_by: string | null;
  created_at: number;
  updated_at: number;
}

interface VersionRow {
  version: number;
  description: string;
  interpreter: string;
  body: string;
  parameters: string;
  saved_by: string;
  saved_at: number;
}

interface DraftRow {
  id: string;
  job_id: string | null;
  name: string;
  description: string;
  interpreter: string;
  body: string;
  parameters: string;
  scope: string | null;
  channel: string | null;
  thread_ts: string | null;
  created_at: number;
}

interface EventRow {
  name: string;
  scope: string;
  change: ScriptChange['change'];
  by_user: string | null;
  at: number;
}

function toScript(row: ScriptRow): ScriptRecord {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    description: row.description,
    interpreter: row.interpreter as Interpreter,
    body: row.body,
    parameters: readParameters(row.parameters),
    author: row.author,
    updatedBy: row.updated_by,
    sourcePermalink: row.source_permalink ?? undefined,
    version: row.version,
    runCount: row.run_count,
    lastExitStatus: row.last_exit_status ?? undefined,
    lastRunAt: row.last_run_at ?? undefined,
    lastRunBy: row.last_run_by ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
