import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { inertCode } from '../jobs/inert-text.js';
import type { ThreadFile } from '../jobs/job-kinds.js';
import type { FileDownload, ThreadFiles } from '../jobs/ports.js';
import type { Logger } from '../log.js';

/**
 * Files people share in a thread, read on the host with the bot token. The token goes only
 * to Slack's file host (files.slack.com, or the configured Slack API's own host for the
 * emulator), never along a redirect; the bytes are counted as they arrive (a size or a
 * Content-Length is a claim); Slack's sign-in page (what a token without `files:read` gets)
 * is recognised and said as such. Every failure is one sentence, never a thrown error.
 */

/**
 * The part of Slack's file object shipmate reads (https://docs.slack.dev/reference/objects/file-object).
 * Slack Connect messages carry only the id and `file_access: "check_file_info"`; the URL then
 * comes from files.info (https://docs.slack.dev/reference/events/message/file_share).
 */
const slackFileSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().max(1_000).optional(),
  title: z.string().max(1_000).optional(),
  mimetype: z.string().max(200).optional(),
  filetype: z.string().max(100).optional(),
  size: z.number().int().nonnegative().optional(),
  mode: z.string().optional(),
  url_private_download: z.string().max(4_000).optional(),
  url_private: z.string().max(4_000).optional(),
});

/** Slack's file objects (untrusted) as ThreadFiles; deleted files and malformed entries are left out. */
export function threadFilesFrom(raw: unknown): ThreadFile[] {
  if (!Array.isArray(raw)) return [];
  return raw.slice(0, 50).flatMap((entry) => {
    const parsed = slackFileSchema.safeParse(entry);
    // "tombstone": the file was deleted; "hidden_by_limit": beyond a free workspace's history.
    if (!parsed.success || parsed.data.mode === 'tombstone' || parsed.data.mode === 'hidden_by_limit')
      return [];
    return [toThreadFile(parsed.data)];
  });
}

function toThreadFile(file: z.infer<typeof slackFileSchema>): ThreadFile {
  const url = file.url_private_download ?? file.url_private;
  return {
    id: file.id,
    name: file.name || file.title || file.id,
    ...(file.mimetype ? { mimetype: file.mimetype } : {}),
    ...(file.filetype ? { filetype: file.filetype } : {}),
    ...(file.size !== undefined ? { size: file.size } : {}),
    ...(url ? { url } : {}),
  };
}

export interface SlackThreadFilesOptions {
  client: WebClient;
  botToken: string;
  /** SLACK_API_URL when set (the emulator, GovSlack): its host serves files too. */
  apiUrl: string | undefined;
  log: Logger;
  /** Per download (default 30 s). */
  timeoutMs?: number;
}

const slackFileHost = 'https://files.slack.com';
const scopeSentence = 'shipmate needs the files:read scope';

export class SlackThreadFiles implements ThreadFiles {
  private readonly origins: Set<string>;
  private readonly timeoutMs: number;

  constructor(private readonly options: SlackThreadFilesOptions) {
    this.origins = new Set([slackFileHost, ...(options.apiUrl ? [originOf(options.apiUrl)] : [])]);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async download(
    file: ThreadFile,
    options: { maxBytes: number; signal: AbortSignal },
  ): Promise<FileDownload> {
    const name = displayName(file.name);
    const located = file.url ? file : await this.locate(file);
    if ('ok' in located) return located;
    // Slack's size first (no request for a file known to be too large); the bytes are counted anyway.
    if (located.size !== undefined && located.size > options.maxBytes)
      return refused('too-large', tooLargeSentence(name, options.maxBytes));
    const url = parseUrl(located.url ?? '');
    if (!url || !this.origins.has(url.origin)) {
      this.options.log.warn({ fileId: file.id, host: url?.host }, 'file-link-not-slack');
      return refused('refused', `I could not read ${name}: its download link does not point to Slack.`);
    }
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      // https://docs.slack.dev/reference/objects/file-object: url_private_download needs
      // "Authorization: Bearer" with a token that has files:read. `manual`: a redirect is not
      // followed, so the token never travels on to wherever it points.
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${this.options.botToken}` },
        redirect: 'manual',
        signal,
      });
      return await this.read(response, file, name, options.maxBytes);
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      const timedOut = (error as Error).name === 'TimeoutError';
      this.options.log.warn({ fileId: file.id, err: error }, 'file-download-failed');
      return refused(
        'failed',
        `I could not read ${name}: the download ${timedOut ? 'timed out' : 'failed'}.`,
      );
    }
  }

  /** The file's URL from files.info, when the message did not carry one (Slack Connect). */
  private async locate(file: ThreadFile): Promise<ThreadFile | FileDownload> {
    const name = displayName(file.name);
    try {
      const result = await this.options.client.files.info({ file: file.id });
      const [found] = threadFilesFrom([result.file]);
      if (found?.url) return { ...found, name: file.name || found.name };
      return refused('failed', `I could not read ${name}: Slack gave no download link for it.`);
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      this.options.log.warn({ fileId: file.id, code }, 'files-info-failed');
      return code === 'missing_scope'
        ? refused('no-access', `I could not read ${name}: ${scopeSentence}.`)
        : refused('failed', `I could not read ${name}: Slack did not find it (${code ?? 'error'}).`);
    }
  }

  private async read(response: Response, file: ThreadFile, name: string, maxBytes: number) {
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      this.options.log.warn({ fileId: file.id, status: response.status }, 'file-download-redirected');
      return refused(
        'refused',
        `I could not read ${name}: Slack answered with a redirect, which shipmate does not follow with its token.`,
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      return refused('failed', `I could not read ${name}: Slack answered HTTP ${response.status}.`);
    }
    // Without access Slack serves its sign-in page: HTTP 200, text/html.
    const type = response.headers.get('content-type') ?? '';
    if (/^text\/html/i.test(type) && !/html/i.test(file.mimetype ?? '')) {
      await response.body?.cancel();
      this.options.log.warn({ fileId: file.id }, 'file-download-sign-in-page');
      return refused('no-access', `I could not read ${name}: ${scopeSentence}.`);
    }
    const bytes = await readCapped(response, maxBytes);
    if (!bytes) return refused('too-large', tooLargeSentence(name, maxBytes));
    return { ok: true as const, bytes };
  }
}

/** The body, or undefined as soon as it passes `maxBytes` (the rest is never read). */
async function readCapped(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

export function tooLargeSentence(name: string, maxBytes: number): string {
  return `I did not read ${name}: it is larger than the ${formatSize(maxBytes)} limit for a shared file.`;
}

function refused(reason: Exclude<FileDownload, { ok: true }>['reason'], sentence: string): FileDownload {
  return { ok: false, reason, sentence };
}

/** A name for a sentence: one line, no Slack syntax, short. */
function displayName(name: string): string {
  return inertCode(name) || 'a file';
}

function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined; // not a URL at all: refused like a link elsewhere
  }
}

function originOf(apiUrl: string): string {
  return parseUrl(apiUrl)?.origin ?? slackFileHost;
}
