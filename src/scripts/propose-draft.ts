import { z } from 'zod';
import { namePattern } from './script-rules.js';
import type { Interpreter } from './script-store.js';

export interface ToolCallRecord {
  name: string;
  input: unknown;
}

export interface DraftScript {
  name: string;
  description: string;
  interpreter: Interpreter;
  body: string;
}

const shellInput = z.object({ command: z.string() });
const scriptExtensions: Record<string, Interpreter> = {
  sh: 'sh',
  bash: 'bash',
  py: 'python3',
  js: 'node',
  mjs: 'node',
  cjs: 'node',
};

/**
 * The shell command of an agent run worth offering as a team script: the last one that is
 * multi-line, writes a script file, or runs one. Undefined when the run already saved a script.
 */
export function pickScriptCommand(toolCalls: ToolCallRecord[]): string | undefined {
  if (toolCalls.some((call) => call.name === 'save_script')) return undefined;
  const commands = toolCalls
    .filter((call) => call.name === 'shell')
    .map((call) => shellInput.safeParse(call.input))
    .flatMap((parsed) => (parsed.success ? [parsed.data.command] : []));
  return commands.reverse().find(looksLikeScript);
}

export function looksLikeScript(command: string): boolean {
  const lines = command.split('\n').filter((line) => line.trim() !== '');
  if (lines.length >= 2) return true;
  if (/<<-?\s*['"]?\w+/.test(command)) return true;
  if (/(?:>|\btee)\s*\S+\.(?:sh|bash|py|js|mjs|cjs)\b/.test(command)) return true;
  if (/\b(?:bash|sh|python3?|node)\s+(?:\S+\/)?[\w.-]+\.(?:sh|bash|py|js|mjs|cjs)\b/.test(command))
    return true;
  if (/(?:^|[;&|]\s*)\.\/[\w.-]+/.test(command) || /\bchmod\s+\+x\b/.test(command)) return true;
  return /^\s*(?:node\s+-e|python3?\s+-c)\s+'/.test(command);
}

/** Name, description, interpreter and body proposed from the command and the request. */
export function draftFromCommand(command: string, hints: { request?: string | undefined } = {}): DraftScript {
  const extracted = extractBody(command);
  return {
    name: proposeName(command, hints.request),
    description: proposeDescription(command, hints.request),
    ...extracted,
  };
}

function extractBody(command: string): { interpreter: Interpreter; body: string } {
  const inline = /^\s*(node\s+-e|python3?\s+-c)\s+'([^']*)'\s*$/.exec(command);
  if (inline?.[2] !== undefined)
    return { interpreter: inline[1]?.startsWith('node') ? 'node' : 'python3', body: `${inline[2]}\n` };
  const piped = /^\s*(python3?|node|bash|sh)\s+(?:-\s+)?<<-?\s*['"]?(\w+)['"]?\n([\s\S]*?)\n\2\s*$/.exec(
    command,
  );
  if (piped?.[3] !== undefined)
    return { interpreter: interpreterOf(piped[1] ?? 'bash'), body: `${piped[3]}\n` };
  const written =
    /^\s*cat\s*>\s*(\S+)\.(\w+)\s*<<-?\s*['"]?(\w+)['"]?\n([\s\S]*?)\n\3\s*\n\s*(?:\w+\s+)?\1\.\2\s*$/.exec(
      command,
    );
  const interpreter = written?.[2] ? scriptExtensions[written[2]] : undefined;
  if (written?.[4] !== undefined && interpreter) return { interpreter, body: `${written[4]}\n` };
  return { interpreter: 'bash', body: command.endsWith('\n') ? command : `${command}\n` };
}

function interpreterOf(word: string): Interpreter {
  if (word.startsWith('python')) return 'python3';
  return word === 'node' ? 'node' : word === 'sh' ? 'sh' : 'bash';
}

const fillerWords = new Set(
  'a an the of to for in on and please can you could me us our my from with by all that this it'.split(' '),
);

function proposeName(command: string, request: string | undefined): string {
  const file = /([A-Za-z][\w-]*)\.(?:sh|bash|py|js|mjs|cjs)\b/.exec(command)?.[1];
  const fromFile = file ? slug(file) : '';
  if (namePattern.test(fromFile) && !/^(?:tmp|temp|script|run|main|test)$/.test(fromFile)) return fromFile;
  const words = (request ?? '').toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const fromRequest = slug(
    words
      .filter((word) => !fillerWords.has(word))
      .slice(0, 4)
      .join('-'),
  );
  return namePattern.test(fromRequest) ? fromRequest : 'team-script';
}

function proposeDescription(command: string, request: string | undefined): string {
  const text = (request ?? '')
    .replace(/\u{E000}[^\u{E001}]*\u{E001}/gu, '') // mentions people wrote (src/jobs/mentions.ts)
    .replace(/\s+/g, ' ')
    .trim();
  const sentence = text.split(/(?<=[.?!])\s/)[0] ?? '';
  const chosen = sentence || `Runs: ${command.split('\n')[0] ?? command}`;
  return chosen.length > 150 ? `${chosen.slice(0, 149)}…` : chosen;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
}
