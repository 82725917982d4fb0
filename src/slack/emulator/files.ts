import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Files people share in the emulated Slack: the file objects Slack puts on `file_share`
 * messages and returns from `files.info`, and the download the app makes with the bot token.
 * The emulator (slack-emulator.ts) records the message and delivers the events; this module
 * keeps the files and serves their bytes from the emulator's HTTP server.
 */

export interface ShareFileInput {
  name: string;
  content: Buffer | string;
  /** Default: from the name's extension, as Slack derives it. */
  mimetype?: string;
  filetype?: string;
  title?: string;
  /** Hostile tests: the `size` the file object claims; the bytes are then sent without a Content-Length. */
  claimedSize?: number;
  /** Hostile tests: a `url_private_download` that points somewhere else. */
  downloadUrl?: string;
  /** Hostile tests: the download answers `302 Found` with this Location. */
  redirectTo?: string;
}

export interface ShareFilesInput {
  user: string;
  channel?: string;
  threadTs?: string;
  text?: string;
  files: ShareFileInput[];
}

/**
 * A hosted file as Slack describes it (https://docs.slack.dev/reference/objects/file-object):
 * `url_private` / `url_private_download` need "an authorization header with a token that has
 * the files:read scope" (`Authorization: Bearer xoxb-…`).
 */
export interface SlackFileObject {
  id: string;
  created: number;
  timestamp: number;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  pretty_type: string;
  user: string;
  user_team: string;
  editable: boolean;
  size: number;
  mode: 'hosted';
  is_external: boolean;
  external_type: string;
  is_public: boolean;
  public_url_shared: boolean;
  display_as_bot: boolean;
  username: string;
  url_private: string;
  url_private_download: string;
  permalink: string;
}

interface StoredSharedFile {
  object: SlackFileObject;
  content: Buffer;
  claimedSize: number | undefined;
  redirectTo: string | undefined;
}

export interface SharedFilesHost {
  baseUrl(): string;
  teamId(): string;
  botToken(): string;
  scopes(): readonly string[];
  now(): number;
}

/** Slack's own types by extension (https://docs.slack.dev/reference/objects/file-object#types). */
const typesByExtension: Record<string, { mimetype: string; filetype: string; pretty: string }> = {
  png: { mimetype: 'image/png', filetype: 'png', pretty: 'PNG' },
  jpg: { mimetype: 'image/jpeg', filetype: 'jpg', pretty: 'JPEG' },
  jpeg: { mimetype: 'image/jpeg', filetype: 'jpg', pretty: 'JPEG' },
  gif: { mimetype: 'image/gif', filetype: 'gif', pretty: 'GIF' },
  webp: { mimetype: 'image/webp', filetype: 'webp', pretty: 'WebP' },
  txt: { mimetype: 'text/plain', filetype: 'text', pretty: 'Plain Text' },
  log: { mimetype: 'text/plain', filetype: 'text', pretty: 'Plain Text' },
  csv: { mimetype: 'text/csv', filetype: 'csv', pretty: 'CSV' },
  json: { mimetype: 'application/json', filetype: 'json', pretty: 'JSON' },
  diff: { mimetype: 'text/plain', filetype: 'diff', pretty: 'Diff' },
  patch: { mimetype: 'text/plain', filetype: 'patch', pretty: 'Diff' },
  md: { mimetype: 'text/plain', filetype: 'markdown', pretty: 'Markdown (raw)' },
  pdf: { mimetype: 'application/pdf', filetype: 'pdf', pretty: 'PDF' },
  zip: { mimetype: 'application/zip', filetype: 'zip', pretty: 'Zip' },
};

const binary = { mimetype: 'application/octet-stream', filetype: 'binary', pretty: 'Binary' };

/**
 * What Slack answers on a file URL when the token may not read it: its sign-in page, with
 * HTTP 200 and `text/html` (the documented cause is a missing `files:read` scope).
 */
const loginPage = `<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head><body><div id="page"><h1>Sign in to Emulated Team</h1><form id="signin_form" action="/signin" method="post"><input type="email" name="email"><input type="password" name="password"><button type="submit" id="signin_btn">Sign in</button></form></div></body></html>`;

export class EmulatedSharedFiles {
  private readonly files = new Map<string, StoredSharedFile>();
  private counter = 0;

  constructor(private readonly host: SharedFilesHost) {}

  /** Stores one file a user shares and returns its file object, as the message will carry it. */
  add(input: ShareFileInput, user: string): SlackFileObject {
    this.counter += 1;
    const id = `F0S${String(this.counter).padStart(8, '0')}`;
    const extension = /\.([a-z0-9]+)$/i.exec(input.name)?.[1]?.toLowerCase() ?? '';
    const known = typesByExtension[extension] ?? binary;
    const content = typeof input.content === 'string' ? Buffer.from(input.content) : input.content;
    const team = this.host.teamId();
    const base = `${this.host.baseUrl()}/files-pri/${team}-${id}`;
    const encoded = encodeURIComponent(input.name);
    const seconds = Math.floor(this.host.now() / 1000);
    const object: SlackFileObject = {
      id,
      created: seconds,
      timestamp: seconds,
      name: input.name,
      title: input.title ?? input.name,
      mimetype: input.mimetype ?? known.mimetype,
      filetype: input.filetype ?? known.filetype,
      pretty_type: known.pretty,
      user,
      user_team: team,
      editable: false,
      size: input.claimedSize ?? content.length,
      mode: 'hosted',
      is_external: false,
      external_type: '',
      is_public: true,
      public_url_shared: false,
      display_as_bot: false,
      username: '',
      url_private: `${base}/${encoded}`,
      url_private_download: input.downloadUrl ?? `${base}/download/${encoded}`,
      permalink: `https://emulated.slack.local/files/${user}/${id}/${encoded}`,
    };
    this.files.set(id, {
      object,
      content,
      claimedSize: input.claimedSize,
      redirectTo: input.redirectTo,
    });
    return structuredClone(object);
  }

  content(id: string): Buffer | undefined {
    return this.files.get(id)?.content;
  }

  /**
   * https://docs.slack.dev/reference/methods/files.info: "Gets information about a file"
   * (bot scope files:read, checked by the emulator from scopes.ts); undefined for an unknown
   * id, which the emulator answers with `file_not_found`. Slack Connect messages carry only `file_access: "check_file_info"` and the id,
   * so this is where the app finds the URL then
   * (https://docs.slack.dev/reference/events/message/file_share, "Slack Connect files").
   */
  info(args: Record<string, unknown>): Record<string, unknown> | undefined {
    const id = typeof args.file === 'string' ? args.file : '';
    const file = this.files.get(id);
    if (!file) return undefined;
    return { file: structuredClone(file.object), comments: [], response_metadata: { next_cursor: '' } };
  }

  /** Whether a request path is a file URL this module serves. */
  serves(path: string): boolean {
    return path.startsWith('/files-pri/');
  }

  /**
   * GET on `url_private` / `url_private_download`. With the bot token and `files:read` the
   * bytes; otherwise Slack's sign-in page with 200 and text/html, as Slack answers an
   * unauthorized file request.
   */
  serve(request: IncomingMessage, response: ServerResponse, path: string): void {
    const id = /^\/files-pri\/[^/]+-(F[A-Z0-9]+)\//.exec(path)?.[1];
    const file = id ? this.files.get(id) : undefined;
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('file not found');
      return;
    }
    if (file.redirectTo) {
      response.writeHead(302, { location: file.redirectTo });
      response.end();
      return;
    }
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token !== this.host.botToken() || !this.host.scopes().includes('files:read')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(loginPage);
      return;
    }
    const headers: Record<string, string> = { 'content-type': file.object.mimetype };
    // A claimed size goes with a chunked body: no Content-Length to trust or to check against.
    if (file.claimedSize === undefined) headers['content-length'] = String(file.content.length);
    response.writeHead(200, headers);
    response.end(file.content);
  }
}
