import { forPostgres } from '../migration-dialect.js';

/**
 * The team script library: one row per script (name unique per scope: a repo name or '*'
 * for all repos), every replaced version kept, an FTS5 index over name, description and
 * body kept in step by triggers, drafts behind the "Save as team script" button, and a
 * change log for digests. On PostgreSQL the index is a weighted `tsvector` column (GIN), the
 * same weights as FTS5's bm25 call: name, then description, then body.
 */
const scripts = `
CREATE TABLE scripts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  description TEXT NOT NULL,
  interpreter TEXT NOT NULL CHECK (interpreter IN ('sh','bash','node','python3')),
  body TEXT NOT NULL,
  parameters TEXT NOT NULL DEFAULT '[]',
  author TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  source_permalink TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  run_count INTEGER NOT NULL DEFAULT 0,
  last_exit_status INTEGER,
  last_run_at INTEGER,
  last_run_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (scope, name)
);

CREATE TABLE script_versions (
  script_id INTEGER NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  interpreter TEXT NOT NULL,
  body TEXT NOT NULL,
  parameters TEXT NOT NULL,
  saved_by TEXT NOT NULL,
  saved_at INTEGER NOT NULL,
  PRIMARY KEY (script_id, version)
);
`;

/** SQLite: an FTS5 index kept in step by triggers. */
const fts5 = `
CREATE VIRTUAL TABLE scripts_fts USING fts5(
  name, description, body,
  content = 'scripts', content_rowid = 'id'
);
CREATE TRIGGER scripts_fts_insert AFTER INSERT ON scripts BEGIN
  INSERT INTO scripts_fts (rowid, name, description, body) VALUES (new.id, new.name, new.description, new.body);
END;
CREATE TRIGGER scripts_fts_delete AFTER DELETE ON scripts BEGIN
  INSERT INTO scripts_fts (scripts_fts, rowid, name, description, body)
    VALUES ('delete', old.id, old.name, old.description, old.body);
END;
CREATE TRIGGER scripts_fts_update AFTER UPDATE OF name, description, body ON scripts BEGIN
  INSERT INTO scripts_fts (scripts_fts, rowid, name, description, body)
    VALUES ('delete', old.id, old.name, old.description, old.body);
  INSERT INTO scripts_fts (rowid, name, description, body) VALUES (new.id, new.name, new.description, new.body);
END;
`;

const drafts = `
CREATE TABLE script_drafts (
  id TEXT PRIMARY KEY,
  job_id TEXT,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  interpreter TEXT NOT NULL,
  body TEXT NOT NULL,
  parameters TEXT NOT NULL DEFAULT '[]',
  scope TEXT,
  channel TEXT,
  thread_ts TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX script_drafts_job ON script_drafts (job_id);

CREATE TABLE script_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  change TEXT NOT NULL CHECK (change IN ('added','changed','deleted')),
  by_user TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX script_events_at ON script_events (at);
`;

/**
 * PostgreSQL: a generated tsvector in the 'simple' configuration (no stemming, like FTS5's
 * unicode61 tokenizer), weighted A/B/C so ts_rank ranks a hit in the name first.
 */
const tsvector = `
ALTER TABLE scripts ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('simple', name), 'A') ||
  setweight(to_tsvector('simple', description), 'B') ||
  setweight(to_tsvector('simple', body), 'C')
) STORED;
CREATE INDEX scripts_search ON scripts USING GIN (search);
`;

export const sql = scripts + fts5 + drafts;
export const postgres = forPostgres(scripts) + tsvector + forPostgres(drafts);
