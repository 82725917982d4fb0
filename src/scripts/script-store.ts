import { z } from 'zod';
import type { Database } from '../storage/database.js';
import type { SqlQueries } from '../storage/sql.js';
import { type SearchQuery, toFtsQuery, toTsQuery } from './fts-query.js';
import { ftsSearch, postgresSearch } from './search-statements.js';

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
  async find(name: string, repo: string | undefined): Promise<ScriptRecord | undefined> {
    const row = await this.db.get<ScriptRow>(
      `SELECT ${scriptColumns} FROM scripts WHERE name = ? AND scope IN (?, '*')
       ORDER BY CASE scope WHEN '*' THEN 1 ELSE 0 END LIMIT 1`,
      name,
      repo ?? allRepos,
    );
    return row ? toScript(row) : undefined;
  }

  async get(id: number): Promise<ScriptRecord | undefined> {
    return readScript(this.db, id);
  }

  /** Scripts `repo` can see (all of them when repo is undefined), by name. */
  async list(repo: string | undefined): Promise<ScriptRecord[]> {
    const rows =
      repo === undefined
        ? await this.db.all<ScriptRow>(`SELECT ${scriptColumns} FROM scripts ORDER BY name, scope`)
        : await this.db.all<ScriptRow>(
            `SELECT ${scriptColumns} FROM scripts WHERE scope IN (?, '*') ORDER BY name, scope`,
            repo,
          );
    return rows.map(toScript);
  }

  /**
   * Best matches first: a hit in the name counts most, then the description, then the body
   * (FTS5's bm25 on SQLite, ts_rank on PostgreSQL, the same weights); equal ranks by name.
   */
  async search(query: SearchQuery, repo: string | undefined, limit: number): Promise<ScriptRecord[]> {
    const scoped = repo !== undefined;
    const scope = repo === undefined ? [] : [repo];
    const sql = this.db.dialect === 'sqlite' ? ftsSearch : postgresSearch;
    const text = this.db.dialect === 'sqlite' ? toFtsQuery(query) : toTsQuery(query);
    const rows = await this.db.all<ScriptRow>(sql(prefixed('s'), scoped), text, ...scope, limit);
    return rows.map(toScript);
  }

  async insert(
    fields: ScriptFields,
    author: string,
    sourcePermalink: string | undefined,
  ): Promise<ScriptRecord> {
    const now = this.clock();
    const content = columns(fields);
    return this.db.transaction(async (tx) => {
      const inserted = await tx.get<{ id: number }>(
        `INSERT INTO scripts (name, scope, description, interpreter, body, parameters, author, updated_by,
           source_permalink, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING id`,
        fields.name,
        fields.scope,
        content.description,
        content.interpreter,
        content.body,
        content.parameters,
        author,
        author,
        sourcePermalink ?? null,
        now,
        now,
      );
      await logChange(tx, fields.name, fields.scope, 'added', author, now);
      return (await readScript(tx, Number(inserted?.id)))!;
    });
  }

  /** Replaces the script's content; the content it had is kept as a version. */
  async update(
    id: number,
    fields: Omit<ScriptFields, 'name' | 'scope'>,
    by: string,
    sourcePermalink: string | undefined,
  ): Promise<ScriptRecord> {
    const now = this.clock();
    return this.db.transaction(async (tx) => {
      const current = await readScript(tx, id);
      if (!current) throw new Error(`script ${id} does not exist`);
      const old = columns(current);
      await tx.run(
        `INSERT INTO script_versions (script_id, version, description, interpreter, body, parameters, saved_by, saved_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        current.version,
        old.description,
        old.interpreter,
        old.body,
        old.parameters,
        current.updatedBy,
        current.updatedAt,
      );
      const next = columns(fields);
      await tx.run(
        `UPDATE scripts SET description = ?, interpreter = ?, body = ?, parameters = ?, updated_by = ?,
           version = version + 1, updated_at = ?, source_permalink = COALESCE(?, source_permalink)
         WHERE id = ?`,
        next.description,
        next.interpreter,
        next.body,
        next.parameters,
        by,
        now,
        sourcePermalink ?? null,
        id,
      );
      await logChange(tx, current.name, current.scope, 'changed', by, now);
      return (await readScript(tx, id))!;
    });
  }

  async delete(id: number, by: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const current = await readScript(tx, id);
      if (!current) return;
      await tx.run('DELETE FROM scripts WHERE id = ?', id);
      await logChange(tx, current.name, current.scope, 'deleted', by, this.clock());
    });
  }

  /** Earlier versions, newest first (the current one is the script row itself). */
  async versions(id: number): Promise<ScriptVersion[]> {
    const rows = await this.db.all<VersionRow>(
      'SELECT * FROM script_versions WHERE script_id = ? ORDER BY version DESC',
      id,
    );
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

  async recordRun(id: number, exitStatus: number, by: string): Promise<void> {
    await this.db.run(
      `UPDATE scripts SET run_count = run_count + 1, last_exit_status = ?, last_run_at = ?, last_run_by = ?
       WHERE id = ?`,
      exitStatus,
      this.clock(),
      by,
      id,
    );
  }

  async saveDraft(draft: Omit<ScriptDraft, 'createdAt'>): Promise<ScriptDraft> {
    const createdAt = this.clock();
    const content = columns(draft);
    await this.db.run(
      `INSERT INTO script_drafts (id, job_id, name, description, interpreter, body, parameters, scope,
         channel, thread_ts, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET job_id = excluded.job_id, name = excluded.name,
         description = excluded.description, interpreter = excluded.interpreter, body = excluded.body,
         parameters = excluded.parameters, scope = excluded.scope, channel = excluded.channel,
         thread_ts = excluded.thread_ts, created_at = excluded.created_at`,
      draft.id,
      draft.jobId ?? null,
      draft.name,
      content.description,
      content.interpreter,
      content.body,
      content.parameters,
      draft.scope ?? null,
      draft.channel ?? null,
      draft.threadTs ?? null,
      createdAt,
    );
    // Drafts nobody clicked are of no use after a week.
    await this.db.run('DELETE FROM script_drafts WHERE created_at < ?', createdAt - 7 * 86_400_000);
    return { ...draft, createdAt };
  }

  async draft(id: string): Promise<ScriptDraft | undefined> {
    const row = await this.db.get<DraftRow>('SELECT * FROM script_drafts WHERE id = ?', id);
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

  async deleteDraft(id: string): Promise<void> {
    await this.db.run('DELETE FROM script_drafts WHERE id = ?', id);
  }

  /** Adds, changes and deletions with from <= at < to, oldest first. */
  async changesBetween(from: number, to: number): Promise<ScriptChange[]> {
    const rows = await this.db.all<EventRow>(
      'SELECT * FROM script_events WHERE at >= ? AND at < ? ORDER BY id',
      from,
      to,
    );
    return rows.map((row) => ({
      name: row.name,
      scope: row.scope,
      change: row.change,
      by: row.by_user ?? undefined,
      at: row.at,
    }));
  }
}

/**
 * The script columns, named: on PostgreSQL `SELECT *` would also ship the `search` tsvector
 * (as large as the body) with every read.
 */
const scriptNames = [
  'id',
  'name',
  'scope',
  'description',
  'interpreter',
  'body',
  'parameters',
  'author',
  'updated_by',
  'source_permalink',
  'version',
  'run_count',
  'last_exit_status',
  'last_run_at',
  'last_run_by',
  'created_at',
  'updated_at',
];
const scriptColumns = scriptNames.join(', ');
const prefixed = (alias: string) => scriptNames.map((name) => `${alias}.${name}`).join(', ');

async function readScript(db: SqlQueries, id: number): Promise<ScriptRecord | undefined> {
  const row = await db.get<ScriptRow>(`SELECT ${scriptColumns} FROM scripts WHERE id = ?`, id);
  return row ? toScript(row) : undefined;
}

async function logChange(
  db: SqlQueries,
  name: string,
  scope: string,
  change: ScriptChange['change'],
  by: string,
  at: number,
): Promise<void> {
  await db.run(
    'INSERT INTO script_events (name, scope, change, by_user, at) VALUES (?, ?, ?, ?, ?)',
    name,
    scope,
    change,
    by,
    at,
  );
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
