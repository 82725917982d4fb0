// Hostile input (found by a red-team pass, kept as a regression test): `gitea:` and `bitbucket:`
// once accepted `..` as a path segment and spliced it into the URL, which the URL parser
// resolved: the token went to API paths outside the repository's. Now the config refuses a dot
// segment, naming the key; `gitlab:` is encoded as one segment and may hold it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createProviderFor } from '../../src/forge/provider-for.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

for (const [kind, path, prefix] of [
  ['gitea', '../admin', '/api/v1/repos/'],
  ['bitbucket', '../..', '/2.0/repositories/'],
  ['gitlab', '../..', '/api/v4/projects/'],
] as const) {
  it(`${kind}: a \`${kind}: ${path}\` repo is refused, or only ever calls ${prefix}…`, async () => {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(new URL(String(req.url), 'http://x').pathname);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{}');
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'rt-cfg-'));
    const file = join(dir, 'shipmate.yaml');
    writeFileSync(file, `repos:\n  - { name: r, url: /tmp/r, ${kind}: "${path}" }\n`);
    const api = { gitea: '/api/v1', bitbucket: '/2.0', gitlab: '/api/v4' }[kind];
    const env = {
      SHIPMATE_CONFIG: file,
      [`${kind.toUpperCase()}_TOKEN`]: 'tok-0123456789abcdef',
      [`${kind.toUpperCase()}_API_URL`]: `${origin}${api}`,
    };
    if (kind !== 'gitlab') {
      expect(() => loadConfig(env)).toThrow(new RegExp(`repos\\.0\\.${kind}.*without`));
      expect(paths).toEqual([]);
      return;
    }
    const config = loadConfig(env);
    const repo = config.repos[0]!;
    expect(repo[kind]).toBe(path);
    const provider = createProviderFor(config)(repo);
    await provider.state(1).catch(() => undefined);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !p.startsWith(prefix))).toEqual([]);
  });
}
