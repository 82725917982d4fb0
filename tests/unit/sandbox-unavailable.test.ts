import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'shipmate-nobwrap-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('without bubblewrap', () => {
  it('reports the sandbox unavailable and refuses to run commands', async () => {
    const runner = await SandboxRunner.create({
      mode: 'on',
      tempRoot: join(base, 'tmp'),
      denyRead: [],
      bwrapPath: join(base, 'no-such-bwrap'),
    });
    expect(runner.status().mode).toBe('unavailable');
    expect(runner.status().detail).toMatch(/bwrap|bubblewrap/);
    const refusal = await runner.run(base, 'true').catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'sandbox-unavailable' });
    expect((refusal as { userMessage: string }).userMessage).toMatch(/apt-get install bubblewrap/);
    expect((refusal as { userMessage: string }).userMessage).toMatch(/SHIPMATE_SANDBOX=off/);
    await runner.close();
  });

  it('works again once a usable bubblewrap is configured', async () => {
    const runner = await SandboxRunner.create({ mode: 'on', tempRoot: join(base, 'tmp'), denyRead: [] });
    expect(runner.status().mode).toBe('bubblewrap');
    expect((await runner.run(base, 'echo ok')).stdout).toBe('ok\n');
    await runner.close();
  });
});
