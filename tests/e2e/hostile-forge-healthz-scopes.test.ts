// Red-team probe, end to end: GitLab's start-up check reads the token's scopes from
// `GET /personal_access_tokens/self` and, when `api` is missing, writes them into the check's
// message as they came (`GitLab says the token has the scopes … but not api`): neither redacted
// nor cut. /healthz serialises the check results without the secret scrubber, so a forge (or a
// man in the middle of a self-managed instance) that lists the request's own token as a "scope"
// puts the whole GITLAB_TOKEN on the unauthenticated /healthz page.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

const token = 'glpat-Hx7Qm2Vt9Lw4Kp8Rz3Nc';
let forge: Server;
let harness: Harness;

beforeAll(async () => {
  forge = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const sent = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (req.url?.includes('/personal_access_tokens/self')) {
      res.end(JSON.stringify({ scopes: ['read_user', `token=${sent}`], active: true }));
      return;
    }
    res.end('{}');
  });
  await new Promise<void>((done) => forge.listen(0, '127.0.0.1', () => done()));
  const origin = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
  harness = await Harness.start({
    config: 'repos:\n  - { name: lab, url: "{{repo}}", gitlab: group/project }\n',
    env: { GITLAB_TOKEN: token, GITLAB_API_URL: `${origin}/api/v4` },
  });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await new Promise((done) => forge?.close(done));
});

it('the GitLab token is not on /healthz when the forge echoes it as a scope', async () => {
  let health = '';
  for (let tries = 0; tries < 150 && !health; tries += 1) {
    const body = (await (await fetch(`${harness.app.baseUrl}/healthz`)).json()) as { checks?: unknown[] };
    if (body.checks) health = JSON.stringify(body);
    else await new Promise((done) => setTimeout(done, 200));
  }
  expect(health).toContain('but not api'); // the check ran and took the scopes branch
  expect(health).not.toContain(token);
}, 60_000);
