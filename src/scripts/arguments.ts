import { plainEnvName, usageLine } from './script-rules.js';
import type { ScriptParameter } from './script-store.js';

export type ParsedArguments = { ok: true; values: Record<string, string> } | { ok: false; problem: string };

/**
 * `dir=src label='two words' note="it's"` → a map. Values are plain strings: nothing in them
 * is ever read as shell syntax, they only travel as environment variables.
 */
export function parseArguments(text: string): ParsedArguments {
  const values: Record<string, string> = {};
  const pattern = /\s*([A-Za-z_][\w-]*)=(?:'([^']*)'|"([^"]*)"|([^\s'"]\S*|(?=\s|$)))/y;
  let index = 0;
  const input = text.trim();
  while (index < input.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(input);
    if (!match?.[1]) {
      return {
        ok: false,
        problem: `I could not read \`${input.slice(index).trim()}\`: write parameters as \`key=value\`, quoting values with spaces ('…' or "…").`,
      };
    }
    const key = match[1].toLowerCase();
    if (key in values) return { ok: false, problem: `\`${key}\` is given twice.` };
    values[key] = match[2] ?? match[3] ?? match[4] ?? '';
    index = pattern.lastIndex;
    if (index < input.length && !/\s/.test(input[index] ?? '')) {
      return { ok: false, problem: `Put a space between parameters (after \`${key}=…\`).` };
    }
  }
  return { ok: true, values };
}

export type BoundArguments = { ok: true; env: Record<string, string> } | { ok: false; usage: string };

/** Checks the values against the script's parameters; unknown or missing ones give the usage line. */
export function bindArguments(
  name: string,
  parameters: ScriptParameter[],
  values: Record<string, string>,
): BoundArguments {
  const known = new Map(parameters.map((parameter) => [parameter.name, parameter]));
  const unknown = Object.keys(values).filter((key) => !known.has(key));
  const missing = parameters.filter(
    (parameter) => parameter.default === undefined && values[parameter.name] === undefined,
  );
  const problems = [
    ...(unknown.length > 0
      ? [`\`${name}\` has no parameter ${unknown.map((key) => `\`${key}\``).join(', ')}.`]
      : []),
    ...(missing.length > 0
      ? [`Missing ${missing.map((parameter) => `\`${parameter.name}\``).join(', ')}.`]
      : []),
  ];
  if (problems.length > 0)
    return { ok: false, usage: `${problems.join(' ')}\n${usageLine(name, parameters)}` };
  const env: Record<string, string> = {};
  for (const parameter of parameters) {
    const value = values[parameter.name] ?? parameter.default ?? '';
    env[`PARAM_${plainEnvName(parameter.name)}`] = value;
    env[plainEnvName(parameter.name)] = value;
  }
  return { ok: true, env };
}
