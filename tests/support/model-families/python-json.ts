/**
 * Python's `json` module as Python-based servers (vLLM) and Python chat templates show it:
 * `json.loads` error messages, and `json.dumps` text (", " and ": " separators, ASCII only).
 *
 * The messages follow CPython's C scanner (Modules/_json.c), which `json.loads` uses by default:
 * "Expecting value", "Expecting ',' delimiter", "Expecting property name enclosed in double quotes",
 * "Expecting ':' delimiter", "Unterminated string starting at", "Invalid control character at",
 * "Invalid \\escape", "Extra data", each followed by ": line L column C (char P)". Python 3.13 added
 * "Illegal trailing comma before end of object/array"; this follows 3.12 and earlier, where a trailing
 * comma reads as a missing property name or value. Checked against two reports of vLLM's answer:
 * vllm-project/vllm#43995 ("Expecting ',' delimiter: line 1 column 54 (char 53)") and #48922
 * ("Unterminated string starting at: line 1 column 9 (char 8)" for `{"cmd": "`).
 */

/** The message `json.loads(text)` raises, or undefined when Python would accept the text. */
export function pythonJsonLoadsError(text: string): string | undefined {
  try {
    const scanner = new Scanner(text);
    const end = scanner.skipSpace(scanner.value(scanner.skipSpace(0)));
    if (end !== text.length) throw new DecodeError('Extra data', end);
    return undefined;
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    const line = text.slice(0, error.position).split('\n').length;
    const column = error.position - text.lastIndexOf('\n', error.position - 1);
    return `${error.message}: line ${line} column ${column} (char ${error.position})`;
  }
}

/** `json.dumps(value)` with Python's defaults. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NaN';
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([key, item]) => `${quote(key)}: ${pythonJsonDumps(item)}`).join(', ')}}`;
}

class DecodeError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

class Scanner {
  constructor(private readonly text: string) {}

  skipSpace(index: number): number {
    let at = index;
    while (at < this.text.length && ' \t\n\r'.includes(this.text[at]!)) at += 1;
    return at;
  }

  /** Scans one value at `index` and returns the index after it. */
  value(index: number): number {
    const char = this.text[index];
    if (char === '"') return this.string(index);
    if (char === '{') return this.object(index);
    if (char === '[') return this.array(index);
    for (const word of ['null', 'true', 'false', 'NaN', 'Infinity', '-Infinity']) {
      if (this.text.startsWith(word, index)) return index + word.length;
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(this.text.slice(index));
    if (number) return index + number[0].length;
    throw new DecodeError('Expecting value', index);
  }

  private string(start: number): number {
    let at = start + 1;
    while (at < this.text.length) {
      const char = this.text[at]!;
      if (char === '"') return at + 1;
      if (char.charCodeAt(0) < 0x20) throw new DecodeError('Invalid control character at', at);
      if (char === '\\') {
        const escaped = this.text[at + 1];
        if (escaped === undefined) break;
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(at + 2, at + 6))) {
            throw new DecodeError('Invalid \\uXXXX escape', at + 1);
          }
          at += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(escaped)) throw new DecodeError('Invalid \\escape', at);
        at += 2;
        continue;
      }
      at += 1;
    }
    throw new DecodeError('Unterminated string starting at', start);
  }

  private object(start: number): number {
    let at = this.skipSpace(start + 1);
    if (this.text[at] === '}') return at + 1;
    for (;;) {
      if (this.text[at] !== '"')
        throw new DecodeError('Expecting property name enclosed in double quotes', at);
      at = this.skipSpace(this.string(at));
      if (this.text[at] !== ':') throw new DecodeError("Expecting ':' delimiter", at);
      at = this.skipSpace(this.value(this.skipSpace(at + 1)));
      if (this.text[at] === '}') return at + 1;
      if (this.text[at] !== ',') throw new DecodeError("Expecting ',' delimiter", at);
      at = this.skipSpace(at + 1);
    }
  }

  private array(start: number): number {
    let at = this.skipSpace(start + 1);
    if (this.text[at] === ']') return at + 1;
    for (;;) {
      at = this.skipSpace(this.value(at));
      if (this.text[at] === ']') return at + 1;
      if (this.text[at] !== ',') throw new DecodeError("Expecting ',' delimiter", at);
      at = this.skipSpace(at + 1);
    }
  }
}

function quote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char === '\b') out += '\\b';
    else if (char === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += asciiEscape(char);
    else out += char;
  }
  return `${out}"`;
}

/** ensure_ascii: every non-ASCII character as \uXXXX (astral ones as a surrogate pair). */
function asciiEscape(char: string): string {
  let out = '';
  for (let index = 0; index < char.length; index += 1) {
    out += `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`;
  }
  return out;
}
