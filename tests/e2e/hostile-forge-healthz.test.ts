// Red-team probe, end to end: a hostile (or man-in-the-middle) GitLab / Gitea / Bitbucket API
// answers the start-up access check with a 403 whose message carries the configured token just
// past the provider's length cut. The provider cuts first and hides the token second, so all but
// the token's last character survives into the check's detail: in the log, and in /healthz,
// which is served without authentication on the same port as /slack/events.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

const tokens = {
  gitlab: 'glpat-Hx7Qm2Vt9Lw4Kp8Rz3Nc',
  gitea: '3f9c2b7e81d04a6b95c7e2f1a8d3b6c4e9f0a1b2',
  bitbucket: 'ATCTT3xFfGN0Qm7Vt2Lw9Kp4Rz8Nc3Hx',
};
const cut = { gitlab: 300, gitea: 200, bitbucket: 200 };

let forge: Server;
let harness: Harness;

beforeAll(async () => {
  forge = createServer((req, res) => {
    const kind = req.url?.startsWith('/gitlab')
      ? 'gitlab'
      : req.url?.startsWith('/gitea')
        ? 'gitea'
        : 'bitbucket';
    const message = 'a'.repeat(cut[kind] - tokens[kind].length + 1) + tokens[kind];
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify(kind === 'bitbucket' ? { type: 'error', error: { message } } : { message }));
  });
  await new Promise<void>((done) => forge.listen(0, '127.0.0.1', () => done()));
  const origin = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
  harness = await Harness.start({
    config: [
      'repos:',
      '  - { name: lab, url: "{{repo}}", gitlab: group/project }',
      '  - { name: tea, url: "{{repo}}", gitea: owner/repo }',
      '  - { name: bucket, url: "{{repo}}", bitbucket: workspace/repo }',
    ].join('\n'),
    env: {
      GITLAB_TOKEN: tokens.gitlab,
      GITLAB_API_URL: `${origin}/gitlab/api/v4`,
      GITEA_TOKEN: tokens.gitea,
      GITEA_API_URL: `${origin}/gitea/api/v1`,
      BITBUCKET_TOKEN: tokens.bitbucket,
      BITBUCKET_API_URL: `${origin}/bitbucket/2.0`,
    },
  });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await new Promise((done) => forge?.close(done));
});

describe('hostile input: start-up forge checks with a hostile forge', () => {
  it('no part of any forge token is in /healthz or the log', async () => {
    let health = '';
    for (let tries = 0; tries < 150 && !health; tries += 1) {
      const body = (await (await fetch(`${harness.app.baseUrl}/healthz`)).json()) as { checks?: unknown[] };
      if (body.checks) health = JSON.stringify(body);
      else await new Promise((done) => setTimeout(done, 200));
    }
    expect(health).not.toBe('');
    const log = harness.app.logs.map((line) => JSON.stringify(line)).join('\n');
    const leaks = Object.entries(tokens).flatMap(([kind, token]) => [
      ...(health.includes(token.slice(0, -1)) ? [`${kind} token minus its last char in /healthz`] : []),
      ...(log.includes(token.slice(0, -1)) ? [`${kind} token minus its last char in the log`] : []),
    ]);
    expect(leaks).toEqual([]);
  }, 60_000);
});
