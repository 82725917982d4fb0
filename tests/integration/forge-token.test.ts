import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { pushBranch } from '../../src/forge/git-commands.js';
import {
  type BareRemote,
  createBareRemote,
  createRepo,
  git,
  type TestRepo,
} from '../support/git-fixtures.js';

/**
 * A real smart-HTTP git remote (git http-backend behind node:http) that, like GitHub,
 * wants `Authorization: Basic x-access-token:<token>` to push. It records every header.
 */
class HttpGitRemote {
  readonly authorizations: string[] = [];
  private server: Server | undefined;
  constructor(
    private readonly projectRoot: string,
    private readonly token: string,
  ) {}

  async start(): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://local');
    const header = request.headers.authorization ?? '';
    if (header) this.authorizations.push(header);
    const expected = `Basic ${Buffer.from(`x-access-token:${this.token}`).toString('base64')}`;
    const pushing =
      url.searchParams.get('service') === 'git-receive-pack' || url.pathname.endsWith('/git-receive-pack');
    if (pushing && header !== expected) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('auth required');
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: this.projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        ...(pushing ? { REMOTE_USER: 'x-access-token' } : {}),
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    request.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => cgi.on('close', resolve));
    const output = Buffer.concat(chunks);
    const split = output.indexOf('\r\n\r\n');
    const head = output.subarray(0, split).toString('utf8').split('\r\n');
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of head) {
      const [name, ...rest] = line.split(':');
      if (!name) continue;
      if (name.toLowerCase() === 'status') status = Number.parseInt(rest.join(':').trim(), 10);
      else headers[name] = rest.join(':').trim();
    }
    response.writeHead(status, headers).end(output.subarray(split + 4));
  }
}

const TOKEN = 'ghp_forgeTokenOverHttp0123456789abcdefgh';
let origin: TestRepo;
let remote: BareRemote;
let http: HttpGitRemote;
let remoteUrl: string;

beforeAll(async () => {
  origin = await createRepo({ files: { 'README.md': '# site\n' } });
  remote = await createBareRemote(origin.dir);
  http = new HttpGitRemote(dirname(remote.dir), TOKEN);
  remoteUrl = `${await http.start()}/remote.git`;
  await git(origin.dir, ['switch', '--quiet', '-c', 'shipmate/tidy-readme-1a2b']);
  await git(origin.dir, [
    '-c',
    'user.name=t',
    '-c',
    'user.email=t@t',
    'commit',
    '--quiet',
    '--allow-empty',
    '-m',
    'tidy',
  ]);
});

afterAll(async () => {
  await http?.stop();
  await Promise.all([origin?.cleanup(), remote?.cleanup()]);
});

describe('pushing with the token', () => {
  it('sends the token as a header on the push and writes it nowhere', async () => {
    const branch = 'shipmate/tidy-readme-1a2b';
    await pushBranch({
      hostRepo: join(origin.dir, '.git'),
      url: remoteUrl,
      branch,
      prefix: 'shipmate/',
      defaultBranch: 'main',
      token: TOKEN,
    });
    expect(await git(remote.dir, ['rev-parse', branch])).toBe(await git(origin.dir, ['rev-parse', 'HEAD']));
    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    expect(http.authorizations).toContain(`Basic ${basic}`);
    for (const text of [
      await git(origin.dir, ['config', '--list', '--show-origin']),
      await git(origin.dir, ['log', '--all', '--format=%B']),
      ...(await filesUnder(join(origin.dir, '.git'))),
    ]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(basic);
    }
  });

  it('fails with a plain sentence, and no token, when the remote refuses it', async () => {
    const error = await pushBranch({
      hostRepo: join(origin.dir, '.git'),
      url: remoteUrl,
      branch: 'shipmate/tidy-readme-1a2b',
      prefix: 'shipmate/',
      defaultBranch: 'main',
      token: 'ghp_wrongToken0123456789abcdefghijklmno',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).userMessage).toMatch(/refused my push credentials/);
    expect(
      JSON.stringify({ message: (error as Error).message, user: (error as ProviderError).userMessage }),
    ).not.toMatch(/ghp_wrong|eC1hY2Nlc3/);
  });

  it('does not overwrite a branch someone else moved on the remote, and says so', async () => {
    const branch = 'shipmate/tidy-readme-1a2b';
    await git(origin.dir, ['switch', '--quiet', '-c', 'someone-else', 'main']);
    await git(origin.dir, [
      '-c',
      'user.name=o',
      '-c',
      'user.email=o@o',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'theirs',
    ]);
    await git(origin.dir, ['push', '--quiet', '--force', remote.dir, `someone-else:refs/heads/${branch}`]);
    await git(origin.dir, ['switch', '--quiet', branch]);
    const error = await pushBranch({
      hostRepo: join(origin.dir, '.git'),
      url: remoteUrl,
      branch,
      prefix: 'shipmate/',
      defaultBranch: 'main',
      token: TOKEN,
    }).catch((caught: unknown) => caught);
    expect((error as ProviderError).userMessage).toMatch(/moved on the remote since I last pushed/);
    expect(await git(remote.dir, ['log', '-1', '--format=%s', branch])).toBe('theirs');
  });

  it('refuses the default branch before git runs, even with a valid token', async () => {
    const before = http.authorizations.length;
    await expect(
      pushBranch({
        hostRepo: join(origin.dir, '.git'),
        url: remoteUrl,
        branch: 'main',
        prefix: 'shipmate/',
        defaultBranch: 'main',
        token: TOKEN,
      }),
    ).rejects.toMatchObject({ code: 'push-refused' });
    expect(http.authorizations.length).toBe(before);
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map((entry) => readFile(join(entry.parentPath, entry.name), 'latin1')),
  );
}
