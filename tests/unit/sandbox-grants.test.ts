import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';

describe('a network grant for one command', () => {
  let dataDir: string;
  let root: string;
  let sandbox: SandboxRunner;
  let canary: Server;
  let hits = 0;
  let port = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shipmate-grants-'));
    root = await mkdtemp(join(tmpdir(), 'shipmate-grants-root-'));
    await writeFile(join(root, 'README.md'), 'hello\n');
    canary = createServer((_request, response) => {
      hits += 1;
      response.end('CANARY-REACHED');
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    port = (canary.address() as AddressInfo).port;
    sandbox = await SandboxRunner.create({ mode: 'on', tempRoot: join(dataDir, 'tmp'), denyRead: [dataDir] });
  });

  afterAll(async () => {
    await sandbox.close();
    canary.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  it('reaches only the granted address, only for the command it was granted to', async () => {
    // Loopback is in the sandbox's NO_PROXY list; --noproxy '' sends it through the proxy like any real host.
    const fetchCanary = `curl --noproxy '' -s -m 5 http://127.0.0.1:${port}/ || echo unreachable`;
    const denied = await sandbox.run(root, fetchCanary, { timeoutMs: 20_000 });
    expect(denied.stdout).not.toContain('CANARY-REACHED');
    expect(hits).toBe(0);

    const granted = await sandbox.run(root, fetchCanary, {
      timeoutMs: 20_000,
      extraDomains: [`127.0.0.1:${port}`],
    });
    expect(granted.stdout).toContain('CANARY-REACHED');
    expect(hits).toBe(1);

    const after = await sandbox.run(
      root,
      `${fetchCanary}; cat README.md; touch /tmp/shipmate-grant-escape || true`,
      { timeoutMs: 20_000 },
    );
    expect(after.stdout).not.toContain('CANARY-REACHED');
    expect(after.stdout).toContain('hello');
    expect(hits).toBe(1);
  });

  it('keeps the filesystem policy for a granted command', async () => {
    const result = await sandbox.run(
      root,
      // Not `../`: the worktree sits in /tmp here, and /tmp inside is the command's own tmpfs.
      `ls ${dataDir}; echo x > /outside-${Date.now()} || echo refused`,
      {
        timeoutMs: 20_000,
        extraDomains: [`127.0.0.1:${port}`],
      },
    );
    expect(result.stdout + result.stderr).toMatch(/refused|Read-only|Permission denied/);
  });
});
