// Red-team probes: the GitLab, Gitea and Bitbucket providers against a hostile forge (or a man
// in the middle on a self-managed instance) played by a small node:http server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BitbucketProvider } from '../../src/forge/bitbucket-provider.js';
import { GiteaProvider } from '../../src/forge/gitea-provider.js';
import { GitLabProvider } from '../../src/forge/gitlab-provider.js';
import type { PullRequestProvider } from '../../src/forge/providers.js';
import { createScrubber } from '../../src/scrub-secrets.js';
import { toSlackText } from '../../src/slack/mention-syntax.js';

const servers: Server[] = [];
afterEach(async () => {
  const open = servers.splice(0);
  for (const server of open) server.closeAllConnections();
  await Promise.all(open.map((server) => new Promise((done) => server.close(done))));
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function listen(handler: Handler, host = '127.0.0.1'): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, host, () => done()));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

const token = 'glpat-Zq8XwV3mN7pL2kR9sT4u'; // same shape for all three; only its literal value matters
const kinds = ['gitlab', 'gitea', 'bitbucket'] as const;
type Kind = (typeof kinds)[number];
const suffix: Record<Kind, string> = { gitlab: '/api/v4', gitea: '/api/v1', bitbucket: '/2.0' };

function provider(kind: Kind, origin: string, timeoutMs?: number): PullRequestProvider {
  const options = { token, apiUrl: `${origin}${suffix[kind]}`, ...(timeoutMs ? { timeoutMs } : {}) };
  if (kind === 'gitlab') return new GitLabProvider('group/project', options);
  if (kind === 'gitea') return new GiteaProvider('owner/repo', options);
  return new BitbucketProvider('workspace/repo', options);
}

/** The error body each forge uses, carrying `message`. */
function errorBody(kind: Kind, message: string): string {
  if (kind === 'bitbucket') return JSON.stringify({ type: 'error', error: { message } });
  return JSON.stringify({ message });
}

async function userMessageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String((error as { userMessage?: string }).userMessage ?? (error as Error).message);
  }
  throw new Error('expected a failure');
}

describe('hostile input: error text that carries the token', () => {
  // Each provider cuts the server's message (GitLab 300 chars for JSON, Gitea and Bitbucket
  // 200) BEFORE replacing the token, so a token that straddles the cut is not recognised: all
  // but its last character reaches the sentence, and the scrubber (which only knows the whole
  // literal) lets that through to Slack and the log.
  const cut: Record<Kind, number> = { gitlab: 300, gitea: 200, bitbucket: 200 };
  for (const kind of kinds) {
    it(`${kind}: a 403 whose message echoes the token near the length cut leaks no part of it`, async () => {
      const pad = 'a'.repeat(cut[kind] - token.length + 1);
      const origin = await listen((_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(errorBody(kind, `${pad} Authorization: ${token}`.replace(`${pad} Authorization: `, pad)));
      });
      const said = await userMessageOf(provider(kind, origin).state(1));
      const inSlack = toSlackText(createScrubber([token])(said));
      expect(inSlack).not.toContain(token.slice(0, 12));
    });
  }

  for (const kind of kinds) {
    it(`${kind}: the whole token echoed in an error is hidden (holds)`, async () => {
      const origin = await listen((_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(errorBody(kind, `bad header Authorization: Bearer ${token}`));
      });
      const said = await userMessageOf(provider(kind, origin).state(1));
      expect(said).not.toContain(token);
    });
  }
});

describe('hostile input: forge error text is shown as a plain sentence', () => {
  for (const kind of kinds) {
    it(`${kind}: an error message cannot put a Markdown link into the thread`, async () => {
      const origin = await listen((_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          errorBody(
            kind,
            'Your token expired. [Re-authorize shipmate here](https://evil.example/oauth) <!channel>',
          ),
        );
      });
      const said = toSlackText(await userMessageOf(provider(kind, origin).state(1)));
      expect(said).not.toContain('<!channel>'); // holds: pings are broken apart
      expect(said).not.toMatch(/\[[^\]]+\]\(https:\/\/evil\.example/); // a live Markdown link in the reply
    });
  }
});

describe('hostile input: a token is only sent to its own forge’s API host', () => {
  for (const kind of kinds) {
    it(`${kind}: a redirect to another host does not carry the token (holds: fetch drops it)`, async () => {
      const got: string[] = [];
      const other = await listen((req, res) => {
        got.push(String(req.headers.authorization ?? ''));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }, 'localhost');
      const origin = await listen((_req, res) => {
        res.writeHead(307, { location: `${other}/steal` });
        res.end();
      });
      await provider(kind, origin)
        .state(1)
        .catch(() => undefined);
      expect(got.length).toBeGreaterThan(0);
      expect(got.filter(Boolean)).toEqual([]);
    });
  }

  it('bitbucket: a `next` link on another origin is not followed (holds)', async () => {
    const got: string[] = [];
    const other = await listen((req, res) => {
      got.push(String(req.headers.authorization ?? ''));
      res.end('{"values":[]}');
    }, 'localhost');
    const origin = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ values: [], next: `${other}/2.0/page2` }));
    });
    await provider('bitbucket', origin).findOpen('shipmate/x');
    expect(got).toEqual([]);
  });

  it('gitlab: X-Next-Page cannot change the host or path (holds)', async () => {
    const urls: string[] = [];
    let n = 0;
    const origin = await listen((req, res) => {
      urls.push(String(req.url));
      const u = new URL(String(req.url), 'http://x');
      if (u.pathname.endsWith('/user')) {
        res.end('{"id":1,"username":"bot"}');
        return;
      }
      if (u.pathname.endsWith('/merge_requests/1')) {
        res.end('{"iid":1,"web_url":"https://g/x","title":"t","state":"opened"}');
        return;
      }
      n += 1;
      res.writeHead(200, { 'x-next-page': n < 3 ? 'http://evil.example/../../x?y=1#' : '' });
      res.end('[]');
    });
    await provider('gitlab', origin).reviewComments(1);
    expect(urls.every((url) => url.startsWith('/api/v4/'))).toBe(true);
  });
});

describe('hostile input: what a forge answers is shown only when it is the forge’s own', () => {
  for (const kind of kinds) {
    it(`${kind}: a created request’s link must be on the forge’s web host`, async () => {
      const evil = 'https://evil.example/phish';
      const origin = await listen((req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          res.writeHead(201, { 'content-type': 'application/json' });
          const branch = (name: string) => ({ ref: name, branch: { name } });
          if (kind === 'gitlab')
            res.end(JSON.stringify({ iid: 3, web_url: evil, title: 't', state: 'opened' }));
          else if (kind === 'gitea')
            res.end(
              JSON.stringify({
                number: 3,
                html_url: evil,
                title: 't',
                state: 'open',
                head: branch('h'),
                base: branch('main'),
              }),
            );
          else
            res.end(
              JSON.stringify({
                id: 3,
                title: 't',
                state: 'OPEN',
                source: branch('h'),
                destination: branch('main'),
                links: { html: { href: evil } },
              }),
            );
        });
      });
      const opened = await provider(kind, origin).open({
        title: 't',
        body: 'b',
        head: 'shipmate/h',
        base: 'main',
        draft: false,
      });
      // publish-change.ts prints this URL in the thread ("Opened MR !3: <url>") and stores it.
      expect(opened?.url).not.toBe(evil);
    });
  }
});

describe('hostile input: a hostile forge cannot hold a job forever', () => {
  for (const kind of kinds) {
    it(`${kind}: a server that accepts and never answers is given up on, with a sentence`, async () => {
      const origin = await listen(() => {
        /* never answers */
      });
      // The deadline is shortened here; in the app it is forgeTimeoutMs (30 s). Without one the
      // call never settles and the test's own timeout fails it.
      const error = await provider(kind, origin, 300)
        .state(1)
        .then(
          () => undefined,
          (failure: { userMessage?: string }) => failure,
        );
      expect(error?.userMessage).toMatch(/did not answer within/);
    });
  }

  for (const kind of kinds) {
    it(`${kind}: an answer body is read only up to a cap`, async () => {
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const origin = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const write = () => {
          while (sent < 96 && res.write(chunk)) sent += 1;
          if (sent >= 96) res.end('{}');
          else
            res.once('drain', () => {
              sent += 1;
              write();
            });
        };
        write();
      });
      await provider(kind, origin)
        .state(1)
        .catch(() => undefined);
      // 96 MiB of whitespace was read into memory before parsing; a cap of a few MiB would stop it.
      expect(sent).toBeLessThan(32);
    }, 30_000);
  }
});
