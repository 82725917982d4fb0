/**
 * The windowed scrubber for streamed answers. The model's text arrives a few characters at a
 * time, and a secret can arrive split across two of those pieces; the scrubber can only
 * recognize it whole. So text is sent only once what follows it rules out a secret reaching
 * back into it:
 * - a token shape or a plain pattern is decided within `holdBack` significant characters of
 *   where it starts (`patternReach` in src/scrub-secrets.ts);
 * - a configured secret, in any form the scrubber knows (`secretNeedles`), is held from where
 *   the text's end could be its beginning, however long it is;
 * - a percent-escape holds everything after it within `escapeReach` (`scrubReach`), since
 *   escapes and literal characters may mix.
 * Significant means not whitespace, not invisible and not an escape of those: the characters
 * matching ignores cannot stretch a secret past the window.
 *
 * Every offer cleans the whole text so far (scrubber, then Slack syntax), and sends only a
 * continuation of what was sent before, cut at whitespace. If a later cleaning disagrees with
 * what was already sent, streaming stops (`diverged`): the rest goes out as a message of its
 * own, cleaned whole.
 */
export interface WindowRules {
  holdBack: number;
  needles: readonly string[];
  escapeReach: number;
}

export class StreamWindow {
  private sent = '';
  private mismatch = false;

  private readonly longestNeedle: number;

  constructor(
    private readonly clean: (raw: string) => string,
    private readonly rules: WindowRules,
    /** Streamed characters at most; past that the answer finishes in a message of its own. */
    private readonly maxChars: number,
  ) {
    this.longestNeedle = Math.max(0, ...rules.needles.map((needle) => needle.length));
  }

  /** The clean text sent so far. */
  get text(): string {
    return this.sent;
  }

  /** True once a cleaning disagreed with what was sent: the rest cannot follow it. */
  get diverged(): boolean {
    return this.mismatch;
  }

  /** True once the cap was reached: the rest follows in a message of its own. */
  get capped(): boolean {
    return this.sent.length >= this.maxChars;
  }

  /** What may be sent now, given the whole raw text so far; '' when nothing new is safe yet. */
  offer(raw: string): string {
    if (this.mismatch || this.capped) return '';
    const clean = this.clean(raw);
    if (!clean.startsWith(this.sent)) {
      this.mismatch = true;
      return '';
    }
    const cut = Math.min(this.safeCut(clean), this.maxChars);
    if (cut <= this.sent.length) return '';
    const delta = clean.slice(this.sent.length, cut);
    this.sent = clean.slice(0, cut);
    return delta;
  }

  /** Where the text may be cut (after a whitespace); 0 when nothing may be sent yet. */
  private safeCut(text: string): number {
    const ignored = ignoredPositions(text);
    // The short window holds only while the text near the end reads as prose; anything like
    // key material, an escape or a redaction there gets the long one.
    const proseOnly = readsAsProse(text, ignored, this.rules.escapeReach);
    const holdBack = proseOnly ? this.rules.holdBack : this.rules.escapeReach;
    const behind = significantBack(ignored, holdBack);
    if (behind === undefined) return 0;
    const limit = Math.min(
      behind,
      unsettledToken(text),
      this.needleStart(text, ignored),
      escapeStart(text, ignored, this.rules.escapeReach),
    );
    for (let index = limit - 1; index >= 0; index -= 1) {
      const code = text.charCodeAt(index);
      if (code === 0x20 || code === 0x0a) return index + 1;
    }
    return 0;
  }

  /**
   * Where the longest end of the text (significant characters only) that begins a configured
   * secret's form starts; the text's length when none does.
   */
  private needleStart(text: string, ignored: Uint8Array): number {
    if (this.longestNeedle === 0) return text.length;
    const positions: number[] = [];
    for (let index = text.length - 1; index >= 0 && positions.length < this.longestNeedle; index -= 1) {
      if (!ignored[index]) positions.push(index);
    }
    positions.reverse();
    const tail = positions.map((index) => text[index]).join('');
    for (let start = 0; start < tail.length; start += 1) {
      const end = tail.slice(start);
      if (this.rules.needles.some((needle) => needle.startsWith(end))) return positions[start] ?? text.length;
    }
    return text.length;
  }

  /**
   * The rest of the final text after what was sent, when what was sent is its beginning;
   * undefined when it is not (the caller posts the final text whole instead).
   */
  rest(final: string): string | undefined {
    const clean = this.clean(final);
    if (!clean.startsWith(this.sent)) return undefined;
    return clean.slice(this.sent.length);
  }
}

/**
 * What the scrubber sees through: whitespace and invisible characters, and the escapes it
 * decodes before matching (`\n`, `\t`, `\u200b`, `%20`: JSON and percent escapes). None of
 * them counts toward the window, so padding a secret with them cannot stretch it past.
 */
const escapes = /\\(?:u[0-9a-fA-F]{4}|[nrtbf"\\/])|%[0-9a-fA-F]{2}/g;

/**
 * A word as prose has it: letters (any case, no digits), a short number, or Markdown marks,
 * with the punctuation around them. Key material and its encodings rarely look like this, and
 * a secret split into such words is still caught by `needleStart`.
 */
const proseWord =
  /^[("'`*_[]*(?:[A-Za-z]{1,40}(?:['’][a-z]{1,2})?|\d{1,6}(?:[.,]\d{1,3})?%?|[-*#>|~=+]{1,6})[)"'`*_\].,;:!?]*$/;

/** Whether every word within `reach` significant characters of the end reads as prose. */
function readsAsProse(text: string, ignored: Uint8Array, reach: number): boolean {
  const from = significantBack(ignored, reach) ?? 0;
  const words = text.slice(from).split(/\s+/).filter(Boolean);
  // The first word may be cut by `from`; it is judged whole, from the text before it.
  const start = text.lastIndexOf(' ', from) + 1;
  const first = text.slice(start).split(/\s+/, 1)[0] ?? '';
  return [first, ...words].every((word) => !word || proseWord.test(word));
}

/**
 * A token shape's prefix whose token is not decided yet: the scrubber joins the pieces after
 * it across whitespace while they look like key material, however long they are, so it is held
 * until a piece that reads as prose follows it.
 */
const shapePrefix = /(?<![A-Za-z0-9])(?:xox[abposr]-|xapp-|gh[pousr]_|github_pat_|sk-)/g;

function unsettledToken(text: string): number {
  let last: number | undefined;
  for (const match of text.matchAll(shapePrefix)) last = match.index;
  if (last === undefined) return text.length;
  const after = text.slice(last).split(/\s+/);
  // after[0] is the prefix's own piece; a complete piece after it that reads as prose settles it.
  const complete = after.slice(1, -1);
  return complete.some((piece) => proseWord.test(piece)) ? text.length : last;
}

/** The first percent-escape within `reach` significant characters of the end; else the length. */
function escapeStart(text: string, ignored: Uint8Array, reach: number): number {
  percent.lastIndex = significantBack(ignored, reach) ?? 0;
  const found = percent.exec(text);
  return found ? found.index : text.length;
}

const percent = /%[0-9a-fA-F]{2}/g;

/**
 * Where the text stands `count` significant characters before its end; undefined when it has
 * fewer than that.
 */
function significantBack(ignored: Uint8Array, count: number): number | undefined {
  let from = ignored.length;
  for (let counted = 0; counted < count; ) {
    if (from === 0) return undefined;
    from -= 1;
    if (!ignored[from]) counted += 1;
  }
  return from;
}

function ignoredPositions(text: string): Uint8Array {
  const ignored = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index += 1) {
    if (isIgnored(text.charCodeAt(index))) ignored[index] = 1;
  }
  for (const match of text.matchAll(escapes)) ignored.fill(1, match.index, match.index + match[0].length);
  return ignored;
}

/** Whitespace, the invisible characters the scrubber removes before matching, and surrogate halves. */
const ignoredRanges: [number, number][] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0x85, 0x85],
  [0xa0, 0xa0],
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x115f, 0x1160],
  [0x1680, 0x1680],
  [0x180e, 0x180e],
  [0x2000, 0x200f],
  [0x2028, 0x202f],
  [0x205f, 0x2064],
  [0x2066, 0x206f],
  [0x3000, 0x3000],
  [0x3164, 0x3164],
  [0xd800, 0xdfff],
  [0xe000, 0xe003],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
];

function isIgnored(code: number): boolean {
  return ignoredRanges.some(([from, to]) => code >= from && code <= to);
}
