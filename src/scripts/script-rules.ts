import {
  type Interpreter,
  interpreters,
  type ScriptFields,
  type ScriptParameter,
  scriptParameterSchema,
} from './script-store.js';

export const namePattern = /^[a-z0-9][a-z0-9-]{1,48}$/;
export const maxBodyBytes = 64 * 1024;
const maxDescription = 200;

/** Environment names a parameter may not take over (they steer the shell or the interpreter). */
const reservedEnvNames = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'PWD',
  'OLDPWD',
  'SHELL',
  'USER',
  'IFS',
  'ENV',
  'CDPATH',
  'LANG',
  'TERM',
  'SHELLOPTS',
  'PS4',
]);
const reservedEnvPrefixes = ['BASH', 'LD_', 'LC_', 'GIT_', 'NODE_', 'NPM_', 'PYTHON', 'SHIPMATE_', 'PARAM_'];

export interface ScriptInput {
  name: string;
  scope: string;
  description: string;
  interpreter: string;
  body: string;
  parameters: ScriptParameter[];
}

export type Checked = { ok: true; fields: ScriptFields } | { ok: false; problems: string[] };

/** Checks what a person or the model wants to save; every problem is a sentence they can act on. */
export function checkScript(input: ScriptInput): Checked {
  const problems: string[] = [];
  const name = input.name.trim().toLowerCase();
  if (!namePattern.test(name)) {
    problems.push(
      `The name "${input.name}" is not usable: use 2 to 49 lowercase letters, digits and dashes, starting with a letter or digit (for example \`weekly-signups\`).`,
    );
  }
  const description = input.description.replace(/\s+/g, ' ').trim();
  if (description.length === 0) problems.push('Add a one-line description of what the script does.');
  if (description.length > maxDescription)
    problems.push(`Keep the description under ${maxDescription} characters.`);
  const interpreter = input.interpreter.trim() as Interpreter;
  if (!interpreters.includes(interpreter))
    problems.push(`The interpreter must be one of ${interpreters.join(', ')} (got "${input.interpreter}").`);
  const body = normalizeBody(input.body);
  if (body.trim().length === 0) problems.push('The script body is empty.');
  if (Buffer.byteLength(body, 'utf8') > maxBodyBytes)
    problems.push(`The script is larger than ${maxBodyBytes / 1024} KiB; keep team scripts small.`);
  problems.push(...checkParameters(input.parameters));
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    fields: { name, scope: input.scope, description, interpreter, body, parameters: input.parameters },
  };
}

function checkParameters(parameters: ScriptParameter[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (parameters.length > 20) problems.push('A script takes at most 20 parameters.');
  for (const parameter of parameters) {
    const parsed = scriptParameterSchema.safeParse(parameter);
    if (!parsed.success) {
      problems.push(
        `The parameter "${parameter.name}" is not usable: names are 1 to 32 lowercase letters, digits or underscores starting with a letter, descriptions under 200 characters.`,
      );
      continue;
    }
    if (seen.has(parameter.name)) problems.push(`The parameter "${parameter.name}" is listed twice.`);
    seen.add(parameter.name);
    const env = plainEnvName(parameter.name);
    if (reservedEnvNames.has(env) || reservedEnvPrefixes.some((prefix) => env.startsWith(prefix)))
      problems.push(
        `The parameter name "${parameter.name}" would replace the ${env} environment variable; choose another name.`,
      );
  }
  return problems;
}

/** Line endings made plain; a leading shebang is dropped (the interpreter field decides how it runs). */
export function normalizeBody(body: string): string {
  const text = body.replace(/\r\n?/g, '\n');
  const withoutShebang = text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1 || text.length) : text;
  return withoutShebang.endsWith('\n') || withoutShebang.length === 0
    ? withoutShebang
    : `${withoutShebang}\n`;
}

/** `dir` → `DIR`; the script also gets `PARAM_DIR`. */
export function plainEnvName(parameter: string): string {
  return parameter.toUpperCase();
}

/** `run weekly-signups plan=<plan> [since=7d]`: what a person types, with the descriptions below. */
export function usageLine(name: string, parameters: ScriptParameter[]): string {
  const words = parameters.map((parameter) =>
    parameter.default === undefined
      ? `${parameter.name}=<${parameter.name}>`
      : `[${parameter.name}=${parameter.default || '…'}]`,
  );
  const head = `Usage: \`run ${[name, ...words].join(' ')}\``;
  const details = parameters.map(
    (parameter) =>
      `- \`${parameter.name}\`: ${parameter.description || '(no description)'}${parameter.default === undefined ? ' (required)' : ` (default: \`${parameter.default}\`)`}`,
  );
  return [head, ...details].join('\n');
}

/**
 * Parameters in the one-line form used by the modal and the exported file header:
 * `dir: Directory to scan (default: src)`; without a default it is required.
 */
export function formatParameter(parameter: ScriptParameter): string {
  const tail = parameter.default === undefined ? '' : ` (default: ${parameter.default})`;
  return `${parameter.name}: ${parameter.description}${tail}`;
}

export function parseParameterLine(line: string): ScriptParameter | string {
  const match = /^\s*([A-Za-z][\w]*)\s*(?::\s*(.*?))?\s*$/.exec(line);
  if (!match?.[1])
    return `"${line.trim()}" is not a parameter line; write \`name: description (default: value)\`.`;
  let description = match[2] ?? '';
  let fallback: string | undefined;
  const withDefault = /^(.*?)\s*\(default:\s?(.*)\)$/.exec(description);
  if (withDefault) {
    description = withDefault[1] ?? '';
    fallback = withDefault[2] ?? '';
  }
  description = description.replace(/\s*\(required\)$/, '');
  return {
    name: match[1].toLowerCase(),
    description,
    ...(fallback === undefined ? {} : { default: fallback }),
  };
}

/** Several parameter lines (blank lines ignored); the problems, if any, instead. */
export function parseParameterLines(text: string): { parameters: ScriptParameter[]; problems: string[] } {
  const parameters: ScriptParameter[] = [];
  const problems: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = parseParameterLine(line);
    if (typeof parsed === 'string') problems.push(parsed);
    else parameters.push(parsed);
  }
  return { parameters, problems };
}
