import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineOf, runDoctor } from '../support/doctor-run.js';
import { createRepo, git, type TestRepo } from '../support/git-fixtures.js';
import { Harness } from '../support/harness.js';
import {
  type Canary,
  expectNoHostExecution,
  hostPayloadCommand,
  hostPayloadScript,
  type MarkerDir,
  makeMarkerDir,
  playHostileModel,
  shell,
  shq,
  startCanary,
  toolOutputs,
} from '../support/hostile.js';

/**
 * The host-side steps the agent core added, attacked as a hostile model or repository would:
 * the saved copy of a large output, a step with a flood of tool calls, and the doctor's (and
 * start-up's) git check against a repository that carries payloads in its config and hooks.
 */
describe('the agent core against a hostile model', () => {
  let h: Harness;
  let marker: MarkerDir;

  beforeAll(async () => {
    marker = makeMarkerDir();
    h = await Harness.start();
  });

  afterAll(async () => {
    await h.stop();
    marker.cleanup();
  });

  it('cannot make the saved copy of a large output land on the host through a planted link', async () => {
    playHostileModel(h, [
      // Point the place shipmate saves large outputs at a host directory.
      shell(
        `d="$(git rev-parse --absolute-git-dir)" && ln -s ${shq(marker.dir)} "$d/shipmate-output"; ls -l "$d"`,
      ),
      shell('for i in $(seq 1 3000); do echo "line $i of a long log"; done'),
      { content: 'Done.' },
    ]);
    const { ts } = await h.ask('why is the log so long?');
    await h.waitForAnswers(ts);
    expect(marker.files()).toEqual([]);
    // The model still got the head and tail of what it ran.
    const big = toolOutputs(h).find((output) => output.includes('line 1 of a long log'));
    expect(big).toMatch(/line 3000 of a long log/);
    expect(big).toMatch(/characters cut/);
  });

  it('gets at most 16 tool calls of one step run; the rest are answered, not run', async () => {
    const calls = Array.from({ length: 200 }, (_, index) => ({
      name: 'shell',
      arguments: { command: `echo call-${index} >> flood.txt` },
    }));
    playHostileModel(h, [{ toolCalls: calls }, shell('wc -l < flood.txt'), { content: 'Done.' }]);
    const { ts } = await h.ask('count the calls');
    await h.waitForAnswers(ts);
    const outputs = toolOutputs(h);
    expect(outputs.filter((output) => /^Not run: at most 16 tool calls/.test(output))).toHaveLength(184);
    expect(outputs.at(-1)).toContain('stdout:\n16');
  });
});

describe('the git check against a hostile repository', () => {
  let repo: TestRepo;
  let marker: MarkerDir;
  let canary: Canary;

  beforeAll(async () => {
    marker = makeMarkerDir();
    canary = await startCanary();
    repo = await createRepo({ files: { 'README.md': '# hostile\n' } });
    const payload = (name: string) => hostPayloadCommand(name, marker, canary);
    // Everything a repository's own config and hooks could ask of a git that reads it: the
    // check must only list refs, so a status (fsmonitor), a checkout (post-checkout) or a fetch
    // run in the repository with its own config would set these off.
    await git(repo.dir, ['config', 'core.fsmonitor', payload('fsmonitor')]);
    await git(repo.dir, ['config', 'uploadpack.packObjectsHook', payload('pack-objects-hook')]);
    await git(repo.dir, ['config', 'core.sshCommand', payload('ssh-command')]);
    await git(repo.dir, ['config', 'protocol.allow', 'always']);
    const hooks = join(repo.dir, '.git', 'hooks');
    await git(repo.dir, ['config', 'core.hooksPath', hooks]);
    for (const hook of ['pre-upload-pack', 'post-checkout', 'reference-transaction', 'post-index-change']) {
      writeFileSync(join(hooks, hook), `#!/bin/bash\n${hostPayloadScript(hook, marker, canary)}\n`, {
        mode: 0o755,
      });
    }
  });

  afterAll(async () => {
    await repo.cleanup();
    await canary.stop();
    marker.cleanup();
  });

  it('runs nothing the repository carries, and still reports the repository', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shipmate-doctor-'));
    try {
      const run = await runDoctor({ SHIPMATE_REPO: repo.dir }, dataDir);
      expect(lineOf(run.stdout, 'repo')).toMatch(/^[✓!] repo /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    expectNoHostExecution(marker, canary);
  });
});
