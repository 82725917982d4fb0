import { isLoopbackHost } from '../config.js';
import { inertCode } from '../jobs/inert-text.js';
/**
 * What the fetch-based forge clients share about what a forge sends back: its words reach the
 * thread only redacted, cut and inert; its links only when they are on the forge's own web host;
 * its answers only within a deadline and a size cap. A forge (or a man in the middle of a
 * self-managed one) is not trusted with any of these.
 */

/** Every request to a forge's API gets this long, then gives up. */
export const forgeTimeoutMs = 30_000;
/** An answer larger than this is not read (the largest real page is far below it). */
export const maxAnswerBytes = 5 * 1024 * 1024;

/** The request's own signal combined with the forge deadline. */
export function forgeSignal(signal?: AbortSignal, timeoutMs = forgeTimeoutMs): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** Whether a fetch failed because the forge deadline passed (not a person's cancel). */
export function timedOut(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

/** The body as text, read as a stream and given up at `cap` bytes: undefined when larger. */
export async function readCapped(response: Response, cap = maxAnswerBytes): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > cap) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** The sentence for an answer over the cap, naming the forge. */
export function tooLargeSentence(forge: string): string {
  return `${forge} sent an answer larger than ${maxAnswerBytes / (1024 * 1024)} MB, so shipmate stopped reading it`;
}

/**
 * Each secret (and its URL-encoded form) replaced, before anything cuts the text: a cut first
 * would leave a secret straddling it unrecognised.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  return out;
}

/**
 * Whitespace collapsed, control characters dropped, at most `max` characters. A cut never
 * leaves the start of a long word behind (a token the redaction could not see whole): the
 * word at the cut goes, and an ellipsis says something was.
 */
export function clip(text: string, max: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, ' ');
  const line = flat.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const separator = /[\s.,;:!?()[\]{}"']/;
  const head = line.slice(0, max);
  const cut = separator.test(line.charAt(max)) ? head : head.replace(/[^\s.,;:!?()[\]{}"']*$/, '');
  return `${cut.trimEnd()}…`;
}

/** Prose that renders as itself in Slack: letters, digits, spaces and plain punctuation. */
const plainProse = /^[\p{L}\p{N} .,:;'"!?()[\]/_#%+=…-]*$/u;
/** What Slack could turn into a link even in plain prose: `](`, a scheme, a domain name. */
const linkLike = /\]\s*\(|:\/\/|www\.|[\p{L}\p{N}-]\.[a-z]{2,}/iu;

/**
 * Text a forge wrote, for a userMessage: redacted first, then cut, then made inert. Plain
 * prose stays as it is; anything else (Markdown, Slack's `<…>` syntax, URLs, domain names,
 * mentions, emphasis) becomes one inline code span, backticks replaced, with `](` and `://`
 * broken as well for a client that renders inside code anyway. Empty when nothing is left.
 */
export function forgeText(text: string, secrets: readonly (string | undefined)[], max = 200): string {
  const line = clip(redactSecrets(text, secrets), max);
  if (!line) return '';
  if (plainProse.test(line) && !linkLike.test(line)) return line;
  // The code span as everywhere else (src/jobs/inert-text.ts), schemes and Slack's <…> broken too.
  return inertCode(
    line.replaceAll('://', ':/ /').replaceAll('<', '‹').replaceAll('>', '›'),
    Number.POSITIVE_INFINITY,
  );
}

/** A name a forge uses for a scope or permission, e.g. `api`, `read_user`, `write:issue`. */
const scopeName = /^[a-z][a-z0-9_:.-]{0,39}$/;

/** The scope names a forge listed, only those that look like one, at most ten. */
export function scopeNames(names: readonly unknown[], secrets: readonly (string | undefined)[]): string[] {
  return names
    .filter((name): name is string => typeof name === 'string' && scopeName.test(name))
    .filter((name) => redactSecrets(name, secrets) === name)
    .slice(0, 10);
}

/**
 * A link the forge sent, when it is https (or http on loopback, for stand-ins) on the forge's
 * own web host, without credentials; otherwise undefined and the caller builds its own.
 */
export function ownLink(candidate: string | null | undefined, webBase: string): string | undefined {
  const url = safeLink(candidate);
  if (!url) return undefined;
  let base: URL;
  try {
    base = new URL(webBase);
  } catch {
    return undefined;
  }
  return new URL(url).host === base.host ? url : undefined;
}

/** Characters that could end a bare link early or start Markdown or Slack syntax after it. */
const unsafeInLink = /[\s[\]()<>|`"'{}\\^*]/;

/**
 * A link that can stand bare in a thread: https (or http on loopback), no credentials, nothing
 * in it that Markdown or Slack would read as syntax. Undefined otherwise.
 */
export function safeLink(candidate: string | null | undefined): string | undefined {
  if (!candidate) return undefined;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!secure || url.username || url.password || unsafeInLink.test(url.href)) return undefined;
  return url.href;
}

/**
 * A repository path as URL path segments, each encoded; undefined when a segment is empty,
 * `.` or `..` (the URL parser would resolve it, even encoded, and leave the repository's API).
 */
export function encodePath(path: string): string | undefined {
  const segments = path.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return undefined;
  return segments.map(encodeURIComponent).join('/');
}

/** A forge's answer, read within the deadline and the size cap. */
export type ForgeAnswer =
  | { kind: 'ok'; response: Response; text: string }
  /** No answer at all: refused, reset, the deadline. */
  | { kind: 'unreachable'; error: unknown }
  | { kind: 'too-large'; response: Response }
  /** An HTTP error status, with the body as text. */
  | { kind: 'refused'; response: Response; text: string };

/**
 * One JSON request to a forge's API, the one way the fetch-based providers talk to theirs:
 * the authorization header only to this URL (fetch drops it on a cross-origin redirect), the
 * deadline, and the body read up to the cap.
 */
export async function forgeFetch(
  url: URL,
  options: {
    method: string;
    authorization: string | undefined;
    body?: unknown;
    signal?: AbortSignal | undefined;
    timeoutMs?: number | undefined;
  },
): Promise<ForgeAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method,
      headers: {
        accept: 'application/json',
        'user-agent': 'shipmate',
        ...(options.authorization ? { authorization: options.authorization } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: forgeSignal(options.signal, options.timeoutMs),
    });
  } catch (error) {
    return { kind: 'unreachable', error };
  }
  let text: string | undefined;
  try {
    text = await readCapped(response);
  } catch (error) {
    return { kind: 'unreachable', error };
  }
  if (text === undefined) return { kind: 'too-large', response };
  return response.ok ? { kind: 'ok', response, text } : { kind: 'refused', response, text };
}

/** JSON, or undefined when the text is none (a proxy's HTML page, a plain-text 401). */
export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
