// Hostile input (found by a red-team pass, kept as a regression test): a push remote (hostile forge, or a man in the middle of a self-managed
// instance) answers the first git request with a redirect to another host. git follows the
// initial redirect, then rebases every later request (the POST to git-receive-pack) on the
// redirected URL. The token travels as `http.extraHeader`, which git adds to *every* request,
// so the POST carries `Authorization: Basic <user:token>` to the host the redirect named.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pushBranch } from '../../src/forge/git-commands.js';
import type { ForgeKind } from '../../src/forge/providers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

function listen(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void) {
  const server = createServer(handler);
  servers.push(server);
  return new Promise<number>((done) =>
    server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)),
  );
}

function pkt(line: string): string {
  return (line.length + 4).toString(16).padStart(4, '0') + line;
}

function hostRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rt-push-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: '/nonexistent',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'a',
        GIT_AUTHOR_EMAIL: 'a@b',
        GIT_COMMITTER_NAME: 'a',
        GIT_COMMITTER_EMAIL: 'a@b',
      },
    });
  git('init', '-q', '-b', 'main');
  execFileSync('sh', ['-c', 'echo hi > f'], { cwd: dir });
  git('add', 'f');
  git('commit', '-qm', 'x');
  git('branch', 'shipmate/fix-1');
  return join(dir, '.git');
}

async function attack(forge: ForgeKind, token: string) {
  const seen: Array<{ port: 'forge' | 'elsewhere'; method: string; url: string; auth?: string }> = [];
  // The host the redirect names: serves a receive-pack advertisement without asking for auth.
  const elsewhere = await listen((req, res) => {
    seen.push({
      port: 'elsewhere',
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
    });
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-advertisement' });
      res.end(
        pkt('# service=git-receive-pack\n') +
          '0000' +
          pkt(`${'0'.repeat(40)} capabilities^{}\0report-status delete-refs ofs-delta\n`) +
          '0000',
      );
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(500);
      res.end();
    });
  });
  // The configured remote: redirects its first request to another host.
  const remote = await listen((req, res) => {
    seen.push({
      port: 'forge',
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
    });
    res.writeHead(302, {
      location: `http://localhost:${elsewhere}/stolen.git/info/refs?service=git-receive-pack`,
    });
    res.end();
  });
  await pushBranch({
    hostRepo: hostRepo(),
    url: `http://127.0.0.1:${remote}/group/project.git`,
    branch: 'shipmate/fix-1',
    prefix: 'shipmate/',
    defaultBranch: 'main',
    token,
    forge,
  }).catch(() => undefined);
  return seen;
}

describe('hostile input: push credentials follow a redirect to another host', () => {
  for (const forge of ['gitlab', 'gitea', 'bitbucket', 'github'] as const) {
    it(`${forge}: the token is never sent to the host a redirect names`, async () => {
      const token = `${forge}-SECRET-TOKEN-0123456789`;
      const seen = await attack(forge, token);
      const leaked = seen.filter((request) => request.port === 'elsewhere' && request.auth);
      // Shows what reached the other host, decoded.
      const decoded = leaked.map(
        (request) =>
          `${request.method} ${request.url} ${Buffer.from(String(request.auth).replace(/^Basic /, ''), 'base64').toString()}`,
      );
      expect(decoded).toEqual([]);
    }, 30_000);
  }
});

describe('hostile input: what a hostile git remote says reaches the thread as a plain sentence', () => {
  it('an ERR packet cannot put a Markdown link into the push failure', async () => {
    const remote = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-advertisement' });
      res.end(
        `${pkt('# service=git-receive-pack\n')}0000${pkt('ERR Your token expired: [sign in again](https://evil.example/login)\n')}`,
      );
    });
    const said = await pushBranch({
      hostRepo: hostRepo(),
      url: `http://127.0.0.1:${remote}/group/project.git`,
      branch: 'shipmate/fix-1',
      prefix: 'shipmate/',
      defaultBranch: 'main',
      token: 'glpat-Zq8XwV3mN7pL2kR9sT4u',
      forge: 'gitlab',
    }).then(
      () => 'pushed',
      (error: { userMessage?: string }) => String(error.userMessage),
    );
    expect(said).toMatch(/git push failed/);
    expect(said).not.toMatch(/\[[^\]]+\]\(https:\/\/evil\.example/);
  }, 30_000);
});
