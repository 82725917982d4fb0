import { formatParameter, normalizeBody, parseParameterLine } from './script-rules.js';
import type { Interpreter, ScriptParameter } from './script-store.js';

export const scriptsFolder = '.shipmate/scripts';

const kinds: Record<Interpreter, { ext: string; shebang: string; comment: string }> = {
  sh: { ext: 'sh', shebang: '#!/bin/sh', comment: '#' },
  bash: { ext: 'bash', shebang: '#!/usr/bin/env bash', comment: '#' },
  node: { ext: 'js', shebang: '#!/usr/bin/env node', comment: '//' },
  python3: { ext: 'py', shebang: '#!/usr/bin/env python3', comment: '#' },
};

export interface ScriptFileContent {
  name: string;
  description: string;
  interpreter: Interpreter;
  parameters: ScriptParameter[];
  body: string;
}

export function scriptFilePath(name: string, interpreter: Interpreter): string {
  return `${scriptsFolder}/${name}.${kinds[interpreter].ext}`;
}

/**
 * `.shipmate/scripts/<name>.<ext>`: a shebang, a small header of `shipmate:` comments for the
 * description and parameters, then the body. Runnable as is, readable in review.
 */
export function renderScriptFile(script: ScriptFileContent): { path: string; content: string } {
  const kind = kinds[script.interpreter];
  const header = [
    `${kind.comment} shipmate: description: ${script.description}`,
    ...script.parameters.map((parameter) => `${kind.comment} shipmate: param ${formatParameter(parameter)}`),
  ];
  return {
    path: scriptFilePath(script.name, script.interpreter),
    content: [kind.shebang, ...header, script.body].join('\n'),
  };
}

export type ParsedScriptFile = { ok: true; script: ScriptFileContent } | { ok: false; problem: string };

/** The inverse of renderScriptFile; the interpreter comes from the shebang, else the extension. */
export function parseScriptFile(fileName: string, content: string): ParsedScriptFile {
  const match = /^([a-z0-9][a-z0-9-]*)\.(sh|bash|js|py)$/.exec(fileName);
  if (!match?.[1] || !match[2])
    return { ok: false, problem: `${fileName}: not a script file name (name.sh, .bash, .js or .py)` };
  const lines = content.replace(/\r\n?/g, '\n').split('\n');
  const shebang = lines[0]?.startsWith('#!') ? lines.shift() : undefined;
  const interpreter = interpreterOf(shebang, match[2]);
  let description = '';
  const parameters: ScriptParameter[] = [];
  while (lines.length > 0) {
    const header = /^(?:#|\/\/) shipmate: (description|param)(?::| ) ?(.*)$/.exec(lines[0] ?? '');
    if (!header) break;
    lines.shift();
    if (header[1] === 'description') {
      description = (header[2] ?? '').trim();
      continue;
    }
    const parameter = parseParameterLine(header[2] ?? '');
    if (typeof parameter === 'string') return { ok: false, problem: `${fileName}: ${parameter}` };
    parameters.push(parameter);
  }
  return {
    ok: true,
    script: { name: match[1], description, interpreter, parameters, body: normalizeBody(lines.join('\n')) },
  };
}

function interpreterOf(shebang: string | undefined, ext: string): Interpreter {
  if (shebang) {
    if (/\bpython3?\b/.test(shebang)) return 'python3';
    if (/\bnode\b/.test(shebang)) return 'node';
    if (/\bbash\b/.test(shebang)) return 'bash';
    if (/\/sh\b/.test(shebang)) return 'sh';
  }
  return ({ sh: 'sh', bash: 'bash', js: 'node', py: 'python3' } as const)[ext as 'sh'] ?? 'bash';
}
