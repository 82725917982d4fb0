import { Buffer } from 'node:buffer';

/**
 * The last net before text leaves the process (Slack messages, log lines, commits):
 * well-known token shapes and the configured secrets' literal values become [redacted].
 *
 * It also sees through the usual ways a value slips past a plain search:
 * - invisible characters (zero-width space/joiners, word joiner, BOM, soft hyphen, bidi
 *   controls, tag characters) anywhere inside a token or secret;
 * - whitespace inside a token or secret. Configured secrets are matched with whitespace
 *   ignored. A token shape is joined across whitespace only while the next piece looks
 *   like key material (digits, mixed case), not like a word, so "the sk-learn package"
 *   stays as it is;
 * - JSON escapes of those (`\n`, `\t`, `\u200b`), so a serialized log line is scrubbed like
 *   the text it carries;
 * - configured secrets encoded as base64 or base64url (also at any byte offset inside a
 *   larger blob, such as a Basic auth header or a whole .env file, and wrapped over lines),
 *   hex (lower or upper case) and percent-encoding (any mix of %XX, either case).
 *
 * Matching runs on normalized "views" of the text that remember where each character came
 * from. Every match is mapped back to the span of the original text it covers, overlapping
 * spans are merged, and each span becomes [redacted]. Text with no match is returned as is.
 */
export type Scrubber = (text: string) => string;

const redacted = '[redacted]';

/** Patterns that only ever need the text with invisible characters removed. */
const plainPatterns: { pattern: RegExp; keepsPrefix: boolean }[] = [
  { pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, keepsPrefix: false }, // AWS access key ids
  { pattern: /(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+=]{40}/gi, keepsPrefix: true },
  {
    // PEM keys, and OpenPGP's armour ("-----BEGIN PGP PRIVATE KEY BLOCK-----").
    pattern:
      /-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    keepsPrefix: false,
  },
  { pattern: /(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g, keepsPrefix: true }, // credentials in URLs
];

interface TokenShape {
  prefix: string;
  /** Characters of the key after the prefix, as a regex character-class body. */
  body: string;
  min: number;
  /** Must start at a word boundary (like `\b`). */
  wordStart: boolean;
}

const shapeDefinitions: TokenShape[] = [
  { prefix: 'xox[abposr]-', body: 'A-Za-z0-9-', min: 8, wordStart: false }, // Slack bot/user tokens
  { prefix: 'xapp-', body: 'A-Za-z0-9-', min: 8, wordStart: false }, // Slack app-level tokens
  { prefix: 'gh[pousr]_', body: 'A-Za-z0-9', min: 20, wordStart: true }, // GitHub tokens
  { prefix: 'github_pat_', body: 'A-Za-z0-9_', min: 20, wordStart: true },
  { prefix: 'sk-(?:proj-|ant-)?', body: 'A-Za-z0-9_-', min: 20, wordStart: true }, // OpenAI / Anthropic
];

const shapes = shapeDefinitions.map((shape) => ({
  ...shape,
  whole: new RegExp(`${shape.prefix}[${shape.body}]{${shape.min},}`, 'g'),
  chars: asciiTable(new RegExp(`[${shape.body}]`)),
}));

/** Every prefix, one capture group per shape, for the whitespace-free view. */
const prefixes = new RegExp(shapes.map((shape) => `(${shape.prefix})`).join('|'), 'g');

/**
 * A piece that reads like words ends a split token: each of its `-`/`_` parts is a word in
 * ordinary casing (lower, Capitalized, UPPER, camelCase), or a short single-case part with
 * digits such as `v2`, `utf8`, `x86`, `2024`. Random key material rarely looks like that.
 */
const wordPart = /^(?:[A-Z]{1,20}|(?=.{1,20}$)[A-Z]?[a-z]+(?:[A-Z][a-z]+)*|[a-z0-9]{1,8}|[A-Z0-9]{1,8})$/;

const base64Std = asciiTable(/[A-Za-z0-9+/]/);
const base64Url = asciiTable(/[A-Za-z0-9_-]/);
const base64Any = asciiTable(/[A-Za-z0-9+/_-]/);
const wordChars = asciiTable(/\w/);
const hexDigits = asciiTable(/[0-9A-Fa-f]/);

/** A blob wrapped over lines is followed across a line break when the line before is this long. */
const wrappedLine = 40;

/**
 * Removed before matching: zero-width space/non-joiner/joiner, word joiner, BOM, soft hyphen,
 * LRM/RLM, bidi embeddings and isolates, invisible operators, variation selectors, fillers.
 */
const invisibleRanges: [number, number][] = [
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x115f, 0x1160],
  [0x180e, 0x180e],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0x3164, 0x3164],
  // shipmate's own mention markers (src/jobs/mentions.ts): removed later on the way to Slack, so
  // a secret split by one would be joined again after scrubbing.
  [0xe000, 0xe003],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
];
const whitespaceRanges: [number, number][] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0x85, 0x85],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];

/** Anything worth a view without invisible characters: one of them, a tag character, a `\u` escape. */
const invisibleHint = new RegExp(
  `[${invisibleRanges.map(([from, to]) => `${unicodeEscape(from)}-${unicodeEscape(to)}`).join('')}]|\\uDB40[\\uDC00-\\uDC7F]|\\\\u`,
);

const percentEscape = /%[0-9A-Fa-f]{2}/;

const kindInvisible = 1;
const kindWhitespace = 2;
const kindBackslash = 3;
const kindTagHigh = 4;
const charKinds = kindsOfChars();

// Gap flags: what was removed just before a view character.
const gapInvisible = 1;
const gapWhitespace = 2;
const gapSingleBreak = 4;

interface View {
  text: string;
  /** Original index of each view character; null when the view is the original text. */
  start: Int32Array | null;
  /** Original end of each view character; null when every character is one code unit. */
  end: Int32Array | null;
  /** Gap flags before each view character; null when nothing was removed. */
  gap: Uint8Array | null;
}

/**
 * Arrays for one kind of view, reused from call to call: a scrubber runs synchronously, and
 * allocating typed arrays costs more than the rest of scrubbing a log line. Very large texts
 * get arrays of their own so that they are not kept.
 */
class Scratch {
  private size = 0;
  codes = new Uint16Array(0);
  start = new Int32Array(0);
  end = new Int32Array(0);
  gap = new Uint8Array(0);

  constructor(private readonly keep: boolean) {}

  reserve(length: number): Scratch {
    if (this.keep && length > keptLength) return new Scratch(false).reserve(length);
    if (length > this.size) {
      this.size = this.keep ? Math.min(Math.max(length, 2 * this.size, 1024), keptLength) : length;
      this.codes = new Uint16Array(this.size);
      this.start = new Int32Array(this.size);
      this.end = new Int32Array(this.size);
      this.gap = new Uint8Array(this.size + 1);
    } else this.gap.fill(0, 0, length + 1);
    return this;
  }
}

const keptLength = 1 << 20;
const visibleScratch = new Scratch(true);
const joinedScratch = new Scratch(true);
const decodedScratch = new Scratch(true);

interface Needle {
  text: string;
  /** For base64 cores: the alphabet of the run to redact around it. */
  base64: Uint8Array | null;
}

/**
 * How far back a token shape or a plain pattern can reach from the newest text before it is
 * decided, in characters that are not whitespace or invisible (matching ignores those): the
 * longest is `aws_secret_access_key=` and its 40 characters; a token shape is decided within
 * its prefix and its minimum length (`github_pat_` + 20). Configured secrets, whose encodings
 * are longer, are held back by `secretNeedles` instead (src/slack/stream-window.ts).
 */
export const patternReach = 64;

/**
 * Every form in which a configured secret is matched (the literal, its JSON, hex and base64
 * forms), for the streamed answer's window: text whose end could be the start of one of these
 * is held back. Percent-escapes are held back by the window itself.
 */
export function secretNeedles(secrets: readonly string[] = []): string[] {
  const literals = [...new Set(secrets.filter((secret) => secret.length >= 8))];
  return [...new Set([...literals, ...literalNeedles(literals).map((needle) => needle.text)])];
}

/** The longest span (significant characters) a configured secret covers: as percent-escapes. */
export function scrubReach(secrets: readonly string[] = []): number {
  const longest = Math.max(0, ...secrets.map((secret) => secret.length));
  return Math.max(200, 3 * longest + 16);
}

export function createScrubber(secrets: readonly string[] = []): Scrubber {
  const literals = [...new Set(secrets.filter((secret) => secret.length >= 8))];
  const exact = literals.map((text) => ({ text, base64: null }));
  const needles = literalNeedles(literals);

  return (text: string) => {
    if (text.length === 0) return text;
    const spans: number[] = [];

    const original = identity(text);
    for (const literal of exact) addOccurrences(spans, original, literal);

    const visible = invisibleHint.test(text) ? normalize(text, false) : original;
    for (const { pattern, keepsPrefix } of plainPatterns) {
      scanPlain(spans, original, pattern, keepsPrefix);
      if (visible.start) scanPlain(spans, visible, pattern, keepsPrefix);
    }
    for (const shape of shapes) scanShape(spans, visible, shape);

    const joined = normalize(text, true);
    scanJoinedShapes(spans, joined);
    if (needles.length > 0) {
      const decoded = percentEscape.test(joined.text) ? percentDecode(joined) : null;
      for (const needle of needles) {
        addOccurrences(spans, joined, needle);
        if (decoded) addOccurrences(spans, decoded, needle);
      }
    }

    return spans.length === 0 ? text : redact(text, spans);
  };
}

/** Everything to look for in the whitespace-free view, per configured secret. */
function literalNeedles(literals: readonly string[]): Needle[] {
  const found = new Map<string, Uint8Array | null>();
  const add = (text: string, base64: Uint8Array | null = null) => {
    if (text.length < 8) return;
    const known = found.get(text);
    if (known === undefined || known === null) found.set(text, base64);
    else if (base64 && known !== base64) found.set(text, base64Any);
  };
  for (const literal of literals) {
    const bytes = Buffer.from(literal, 'utf8');
    add(stripInvisible(literal));
    add(JSON.stringify(literal).slice(1, -1));
    add(bytes.toString('latin1')); // what percent-decoding yields for non-ASCII secrets
    add(bytes.toString('hex'));
    add(bytes.toString('hex').toUpperCase());
    for (let offset = 0; offset < 3; offset++) {
      // Inside a larger blob the secret starts at some byte offset; characters that also
      // depend on the unknown neighbouring bytes are dropped at both ends.
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
      const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
      const url = core.replaceAll('+', '-').replaceAll('/', '_');
      if (url === core) add(core, base64Any);
      else {
        add(core, base64Std);
        add(url, base64Url);
      }
    }
  }
  return [...found].map(([text, base64]) => ({ text, base64 }));
}

function identity(text: string): View {
  return { text, start: null, end: null, gap: null };
}

const startOf = (view: View, index: number) => (view.start ? view.start[index]! : index);
const endOf = (view: View, index: number) =>
  view.end ? view.end[index]! : view.start ? view.start[index]! + 1 : index + 1;
const gapAt = (view: View, index: number) => (view.gap ? view.gap[index]! : 0);
const inTable = (table: Uint8Array, code: number) => code < 128 && table[code] === 1;

/**
 * The text without invisible characters (and, when `dropWhitespace`, without whitespace),
 * counting JSON escapes of those (`\n`, `\r`, `\t`, `\f`, `\uXXXX`) as the characters.
 */
function normalize(text: string, dropWhitespace: boolean): View {
  const n = text.length;
  const { codes, start, gap } = (dropWhitespace ? joinedScratch : visibleScratch).reserve(n);
  let length = 0;
  // What was removed since the last kept character.
  let pending = 0;
  let spaces = 0;
  let breaks = 0;

  const kinds = charKinds; // a local is faster in this loop than the module binding
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    const kind = kinds[code]!;
    let skip = 0;
    if (kind === kindInvisible) skip = 1;
    else if (kind === kindWhitespace) skip = dropWhitespace ? 1 : 0;
    else if (kind !== 0) skip = removableAt(text, i, kind, dropWhitespace);
    if (skip <= 0) {
      if (pending !== 0) {
        gap[length] = pending | (breaks === 1 && spaces === 0 ? gapSingleBreak : 0);
        pending = spaces = breaks = 0;
      }
      codes[length] = code;
      start[length++] = i;
      if (skip === -1) {
        // An escaped backslash: both stay, and what follows is no escape.
        codes[length] = code;
        start[length++] = ++i;
      }
      continue;
    }
    // The character removed: itself, or what a `\uXXXX` or `\n`-style escape stands for.
    let char = code;
    if (skip === 6) char = Number.parseInt(text.slice(i + 2, i + 6), 16);
    else if (code === 0x5c) char = whitespaceEscape(text.charCodeAt(i + 1)) ?? code;
    if (charKinds[char] !== kindWhitespace) pending |= gapInvisible;
    else {
      pending |= gapWhitespace;
      if (char === 0x0a) breaks++;
      else if (char === 0x0d) {
        if (!(text.charCodeAt(i + skip) === 0x0a || text.startsWith('\\n', i + skip))) breaks++;
      } else spaces++;
    }
    i += skip - 1;
  }
  if (length === n) return identity(text);
  return { text: fromCodes(codes, length), start, end: null, gap };
}

/**
 * How many code units at `index` (a backslash or a high surrogate) the normalizer drops:
 * 0 for none, -1 for an escaped backslash (kept, with what follows taken literally).
 */
function removableAt(text: string, index: number, kind: number, dropWhitespace: boolean): number {
  const next = text.charCodeAt(index + 1);
  if (kind === kindTagHigh) return isTagLow(next) ? 2 : 0;
  if (next === 0x5c) return -1;
  if (whitespaceEscape(next) !== undefined) return dropWhitespace ? 2 : 0;
  if (next !== 0x75 || !isHex4(text, index + 2)) return 0;
  const escaped = charKinds[Number.parseInt(text.slice(index + 2, index + 6), 16)];
  return escaped === kindInvisible || (escaped === kindWhitespace && dropWhitespace) ? 6 : 0;
}

function fromCodes(codes: Uint16Array, length: number): string {
  return Buffer.from(codes.buffer, codes.byteOffset, length * 2).toString('utf16le');
}

/** The character a JSON escape `\n`, `\r`, `\t` or `\f` stands for. */
function whitespaceEscape(letter: number): number | undefined {
  if (letter === 0x6e) return 0x0a;
  if (letter === 0x72) return 0x0d;
  if (letter === 0x74) return 0x09;
  return letter === 0x66 ? 0x0c : undefined;
}

/** The whitespace-free view with %XX decoded (to the byte, as a Latin-1 character). */
function percentDecode(view: View): View {
  const source = view.text;
  const n = source.length;
  const { codes, start, end, gap } = decodedScratch.reserve(n);
  const from = view.start;
  const gaps = view.gap;
  let length = 0;
  let pending = 0;
  for (let i = 0; i < n; ) {
    let code = source.charCodeAt(i);
    let width = 1;
    if (
      code === 0x25 &&
      inTable(hexDigits, source.charCodeAt(i + 1)) &&
      inTable(hexDigits, source.charCodeAt(i + 2))
    ) {
      code = Number.parseInt(source.slice(i + 1, i + 3), 16);
      width = 3;
    }
    const before = (gaps ? gaps[i]! : 0) | pending;
    if (width === 3 && charKinds[code] === kindWhitespace) pending = before | gapWhitespace;
    else {
      codes[length] = code;
      start[length] = from ? from[i]! : i;
      end[length] = (from ? from[i + width - 1]! : i + width - 1) + 1; // the source view has no ends
      gap[length] = before;
      length++;
      pending = 0;
    }
    i += width;
  }
  return { text: fromCodes(codes, length), start, end, gap };
}

function scanPlain(spans: number[], view: View, pattern: RegExp, keepsPrefix: boolean): void {
  pattern.lastIndex = 0;
  for (let match = pattern.exec(view.text); match; match = pattern.exec(view.text)) {
    const from = match.index + (keepsPrefix ? (match[1]?.length ?? 0) : 0);
    addSpan(spans, view, from, match.index + match[0].length);
  }
}

/** A token shape where nothing but invisible characters splits it. */
function scanShape(spans: number[], view: View, shape: (typeof shapes)[number]): void {
  const { whole } = shape;
  whole.lastIndex = 0;
  for (let match = whole.exec(view.text); match; match = whole.exec(view.text)) {
    if (shape.wordStart && !atWordStart(view, match.index)) {
      whole.lastIndex = match.index + 1;
      continue;
    }
    addSpan(spans, view, match.index, match.index + match[0].length);
  }
}

/**
 * Token shapes split by whitespace, in the view without it. After the prefix and the piece
 * attached to it, each further piece is joined while it looks like key material; a piece that
 * reads like a word ends the token, so prose after a bare prefix is left alone.
 */
function scanJoinedShapes(spans: number[], view: View): void {
  const { text } = view;
  const n = text.length;
  prefixes.lastIndex = 0;
  for (let match = prefixes.exec(text); match; match = prefixes.exec(text)) {
    const shape = shapes[match.slice(1).findIndex((group) => group !== undefined)]!;
    const at = match.index;
    const bodyStart = at + match[0].length;
    prefixes.lastIndex = at + 1;
    if (shape.wordStart && !atWordStart(view, at)) continue;
    const isBody = (index: number) => index < n && inTable(shape.chars, text.charCodeAt(index));
    const split = (index: number) => (gapAt(view, index) & gapWhitespace) !== 0;
    let end = bodyStart;
    while (isBody(end) && !split(end)) end++;
    while (isBody(end) && split(end)) {
      let pieceEnd = end + 1;
      while (isBody(pieceEnd) && !split(pieceEnd)) pieceEnd++;
      if (looksLikeWords(text.slice(end, pieceEnd))) break;
      end = pieceEnd;
    }
    if (end - bodyStart >= shape.min) {
      addSpan(spans, view, at, end);
      prefixes.lastIndex = end;
    }
  }
}

function looksLikeWords(piece: string): boolean {
  return piece.split(/[-_]+/).every((part) => part === '' || wordPart.test(part));
}

function atWordStart(view: View, index: number): boolean {
  return index === 0 || gapAt(view, index) !== 0 || !inTable(wordChars, view.text.charCodeAt(index - 1));
}

function addOccurrences(spans: number[], view: View, needle: Needle): void {
  const { text } = view;
  let at = text.indexOf(needle.text);
  while (at !== -1) {
    let next = at + 1;
    if (needle.base64) {
      const [from, to] = base64Run(view, at, at + needle.text.length, needle.base64);
      addSpan(spans, view, from, to);
      next = Math.max(next, to); // further occurrences in the same run are redacted with it
    } else addSpan(spans, view, at, at + needle.text.length);
    at = text.indexOf(needle.text, next);
  }
}

/**
 * The whole run of base64 characters around a core: across invisible characters, and across
 * a single line break when the line before it is long (a wrapped blob), then its padding.
 */
function base64Run(view: View, from: number, to: number, alphabet: Uint8Array): [number, number] {
  const { text } = view;
  const n = text.length;
  const isBase64 = (index: number) => index >= 0 && index < n && inTable(alphabet, text.charCodeAt(index));
  const split = (index: number) => (gapAt(view, index) & gapWhitespace) !== 0;
  const wrap = (index: number) => (gapAt(view, index) & gapSingleBreak) !== 0;
  const segmentStart = (index: number) => {
    let at = index;
    while (isBase64(at - 1) && !split(at)) at--;
    return at;
  };

  let start = segmentStart(from);
  while (isBase64(start - 1) && wrap(start) && start - segmentStart(start - 1) >= wrappedLine)
    start = segmentStart(start - 1);

  let end = to;
  let lineStart = to - 1;
  while (lineStart > start && !split(lineStart)) lineStart--;
  for (;;) {
    while (isBase64(end) && !split(end)) end++;
    if (!(isBase64(end) && wrap(end) && end - lineStart >= wrappedLine)) break;
    lineStart = end;
    end++;
  }
  for (let pad = 0; pad < 2 && text[end] === '=' && !split(end); pad++) end++;
  return [start, end];
}

function addSpan(spans: number[], view: View, from: number, to: number): void {
  if (to > from) spans.push(startOf(view, from), endOf(view, to - 1));
}

function redact(text: string, spans: number[]): string {
  const order: number[] = [];
  for (let i = 0; i < spans.length; i += 2) order.push(i);
  order.sort((a, b) => spans[a]! - spans[b]! || spans[b + 1]! - spans[a + 1]!);
  let result = '';
  let done = 0;
  let i = 0;
  while (i < order.length) {
    const from = spans[order[i]!]!;
    let to = spans[order[i]! + 1]!;
    for (i++; i < order.length && spans[order[i]!]! <= to; i++) to = Math.max(to, spans[order[i]! + 1]!);
    result += text.slice(done, from) + redacted;
    done = to;
  }
  return result + text.slice(done);
}

function stripInvisible(text: string): string {
  let result = '';
  for (let i = 0; i < text.length; i++) {
    const kind = charKinds[text.charCodeAt(i)];
    if (kind === kindTagHigh && isTagLow(text.charCodeAt(i + 1))) i++;
    else if (kind !== kindInvisible && kind !== kindWhitespace) result += text[i];
  }
  return result;
}

/** Low surrogate of a Unicode tag character (U+E0000–U+E007F), invisible "ASCII smuggling". */
function isTagLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdc7f;
}

/** What each UTF-16 code unit is to the normalizer. */
function kindsOfChars(): Uint8Array {
  const kinds = new Uint8Array(0x10000);
  for (const [from, to] of invisibleRanges) kinds.fill(kindInvisible, from, to + 1);
  for (const [from, to] of whitespaceRanges) kinds.fill(kindWhitespace, from, to + 1);
  kinds[0x5c] = kindBackslash;
  kinds[0xdb40] = kindTagHigh; // tag characters U+E0000–U+E007F start with it
  return kinds;
}

function unicodeEscape(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function isHex4(text: string, at: number): boolean {
  for (let i = at; i < at + 4; i++) if (!inTable(hexDigits, text.charCodeAt(i))) return false;
  return true;
}

function asciiTable(pattern: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) if (pattern.test(String.fromCharCode(code))) table[code] = 1;
  return table;
}
