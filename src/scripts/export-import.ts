import { readdir } from 'node:fs/promises';
import type { Workspace } from '../workspace/types.js';
import { parseScriptFile, renderScriptFile, scriptsFolder } from './script-file.js';
import { checkScript } from './script-rules.js';
import { allRepos, type ScriptRecord, type ScriptStore } from './script-store.js';

export interface ImportReport {
  added: string[];
  updated: string[];
  unchanged: string[];
  /** One sentence per file that could not be imported. */
  skipped: string[];
}

/** Writes every script the repository can see to `.shipmate/scripts/` in the worktree; returns the paths. */
export async function exportScripts(
  store: ScriptStore,
  workspace: Workspace,
  options: { repo?: string } = {},
): Promise<string[]> {
  const paths: string[] = [];
  for (const script of await store.list(options.repo)) {
    const file = renderScriptFile(script);
    await workspace.writeFile(file.path, file.content);
    paths.push(file.path);
  }
  return paths;
}

/**
 * Reads `.shipmate/scripts/` from the worktree into the library. A file whose script exists
 * updates it only when something differs (the old body is kept as a version); new names
 * are added for the repository (or for all when no repo is given).
 */
export async function importScripts(
  store: ScriptStore,
  workspace: Workspace,
  author: string,
  options: { repo?: string } = {},
): Promise<ImportReport> {
  const report: ImportReport = { added: [], updated: [], unchanged: [], skipped: [] };
  for (const fileName of await listScriptFiles(workspace)) {
    const parsed = parseScriptFile(fileName, await workspace.readFile(`${scriptsFolder}/${fileName}`));
    if (!parsed.ok) {
      report.skipped.push(parsed.problem);
      continue;
    }
    const checked = checkScript({ ...parsed.script, scope: options.repo ?? allRepos });
    if (!checked.ok) {
      report.skipped.push(`${fileName}: ${checked.problems.join(' ')}`);
      continue;
    }
    const fields = checked.fields;
    const existing = await store.find(fields.name, options.repo);
    if (!existing) {
      await store.insert(fields, author, undefined);
      report.added.push(fields.name);
    } else if (sameContent(existing, fields)) {
      report.unchanged.push(fields.name);
    } else {
      await store.update(existing.id, fields, author, undefined);
      report.updated.push(fields.name);
    }
  }
  return report;
}

export function describeImport(report: ImportReport): string {
  const list = (names: string[]) => names.map((name) => `\`${name}\``).join(', ');
  const lines = [
    report.added.length > 0 ? `Added: ${list(report.added)}.` : undefined,
    report.updated.length > 0 ? `Updated: ${list(report.updated)} (earlier versions kept).` : undefined,
    report.unchanged.length > 0 ? `Unchanged: ${list(report.unchanged)}.` : undefined,
    ...report.skipped.map((problem) => `Skipped ${problem}`),
  ].filter((line): line is string => line !== undefined);
  return lines.length > 0 ? lines.join('\n') : `There are no script files in \`${scriptsFolder}/\`.`;
}

async function listScriptFiles(workspace: Workspace): Promise<string[]> {
  let entries: Array<{ name: string; isFile(): boolean }>;
  try {
    // resolvePath confines the folder to the worktree (no symlink out); files are then read through readFile.
    entries = await readdir(workspace.resolvePath(scriptsFolder), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
}

type Content = Pick<ScriptRecord, 'description' | 'interpreter' | 'body' | 'parameters'>;

function sameContent(a: Content, b: Content): boolean {
  return JSON.stringify(toComparable(a)) === JSON.stringify(toComparable(b));
}

function toComparable(script: Content) {
  return {
    description: script.description,
    interpreter: script.interpreter,
    body: script.body,
    parameters: script.parameters.map((parameter) => ({
      name: parameter.name,
      description: parameter.description,
      default: parameter.default ?? null,
    })),
  };
}
