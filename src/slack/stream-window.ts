/**
 * The windowed scrubber for streamed answers. The model's text arrives a few characters at a
 * time, and a secret can arrive split across two of those pieces; the scrubber can only
 * recognize it whole. So nothing is sent until the text after it is long enough to hold the
 * longest span any secret (or an encoding of one) can cover: a match that reaches back into
 * what is sent would have to be longer than that.
 *
 * Every offer cleans the whole text so far (scrubber, then Slack syntax), and sends only a
 * continuation of what was sent before. If a later cleaning disagrees with what was already
 * sent, streaming stops (`diverged`): the rest goes out as a message of its own, cleaned whole.
 */
export class StreamWindow {
  private sent = '';
  private mismatch = false;

  constructor(
    private readonly clean: (raw: string) => string,
    /** Characters held back behind the newest text: see `scrubReach` in src/scrub-secrets.ts. */
    private readonly holdBack: number,
    /** Streamed characters at most; past that the answer finishes in a message of its own. */
    private readonly maxChars: number,
  ) {}

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
    const cut = Math.min(safeCut(clean, this.holdBack), this.maxChars);
    if (cut <= this.sent.length) return '';
    const delta = clean.slice(this.sent.length, cut);
    this.sent = clean.slice(0, cut);
    return delta;
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
 * Where the text may be cut: `holdBack` significant characters before its end, moved back to
 * the last whitespace. The scrubber ignores whitespace and invisible characters inside a
 * secret, so only the others count: padding a secret with zero-width spaces cannot stretch it
 * past the window. Returns 0 when nothing may be sent yet.
 */
function safeCut(text: string, holdBack: number): number {
  const ignored = ignoredPositions(text);
  let counted = 0;
  let limit = text.length;
  while (limit > 0 && counted < holdBack) {
    limit -= 1;
    if (!ignored[limit]) counted += 1;
  }
  if (counted < holdBack) return 0;
  for (let index = limit - 1; index >= 0; index -= 1) {
    const code = text.charCodeAt(index);
    if (code === 0x20 || code === 0x0a) return index + 1;
  }
  return 0;
}

/**
 * What the scrubber sees through: whitespace and invisible characters, and the escapes it
 * decodes before matching (`\n`, `\t`, `\u200b`, `%20`: JSON and percent escapes). None of
 * them counts toward the window, so padding a secret with them cannot stretch it past.
 */
const escapes = /\\(?:u[0-9a-fA-F]{4}|[nrtbf"\\/])|%[0-9a-fA-F]{2}/g;

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
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
];

function isIgnored(code: number): boolean {
  return ignoredRanges.some(([from, to]) => code >= from && code <= to);
}
