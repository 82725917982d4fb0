import { describe, expect, it } from 'vitest';
import { excludedReason, pushRefusal } from '../../src/forge/git-commands.js';
import { reviewChange } from '../../src/forge/review-change.js';
import { composeSummary, takeOverLine, withDiff } from '../../src/forge/summary.js';
import { createLogger } from '../../src/log.js';
import { createScrubber } from '../../src/scrub-secrets.js';
import { sandboxEnvFor } from '../../src/workspace/command-env.js';

const quiet = createLogger({ level: 'silent' });

describe('files a commit leaves out', () => {
  it.each([
    ['.env', false, 'looks like a secret'],
    ['.env.local', false, 'looks like a secret'],
    ['config/.env.production', false, 'looks like a secret'],
    ['certs/server.pem', false, 'looks like a secret'],
    ['deploy/id_rsa', false, 'looks like a secret'],
    ['tls/server.key', false, 'looks like a secret'],
    ['.github/workflows/ci.yml', false, 'CI workflow file'],
    ['.github/workflows/ci.yml', true, undefined],
    ['.env', true, 'looks like a secret'],
    ['src/env.ts', false, undefined],
    ['docs/keys.md', false, undefined],
    ['.github/CODEOWNERS', false, undefined],
    ['README.md', false, undefined],
  ])('%s (workflows allowed: %s) → %s', (path, allowWorkflows, reason) => {
    expect(excludedReason(path, allowWorkflows)).toBe(reason);
  });
});

describe('branches shipmate may push', () => {
  it.each([
    ['shipmate/fix-typo-1a2b3c4d', undefined],
    ['main', 'is the default branch'],
    ['shipmate/', 'is not under'],
    ['feature/x', 'is not under'],
    ['shipmate/../main', 'not a plain branch name'],
    ['shipmate/a//b', 'not a plain branch name'],
    ['shipmate/x.lock', 'not a plain branch name'],
    ['shipmate/x/', 'not a plain branch name'],
    ['shipmate/x@{1}', 'not a plain branch name'],
    ['shipmate/x y', 'not a plain branch name'],
  ])('%s', (branch, refusal) => {
    const result = pushRefusal(branch, 'shipmate/', 'main');
    if (refusal === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(refusal);
  });

  it('refuses the default branch even when it sits under the prefix', () => {
    expect(pushRefusal('shipmate/main', 'shipmate/', 'shipmate/main')).toContain('default branch');
  });
});

const patchAdding = (path: string, ...lines: string[]) =>
  [`diff --git a/${path} b/${path}`, `--- a/${path}`, `+++ b/${path}`, '@@ -1 +1 @@', ...lines].join('\n');

describe('the review without a model', () => {
  const review = (patch: string, paths: string[]) =>
    reviewChange({
      patch,
      files: paths.map((path) => ({ path, added: 1, deleted: 0 })),
      model: undefined,
      scrub: createScrubber([]),
      log: quiet,
    });

  it.each([
    ["+it.skip('works', () => {});", 'skips or disables a test'],
    ['+xit("works", () => {});', 'skips or disables a test'],
    ['+  @Disabled', 'skips or disables a test'],
    ['+/* eslint-disable */', 'silences a linter or type check'],
    ['+// @ts-ignore', 'silences a linter or type check'],
    ['+// @ts-nocheck', 'silences a linter or type check'],
    ['+  // TODO: implement', 'leaves a "TODO: implement" stub'],
    ["-it('charges once', () => {", 'deletes 1 test'],
    ['+const key = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";', 'looks like a secret'],
  ])('flags %s', async (line, flag) => {
    const result = await review(patchAdding('src/app.ts', line), ['src/app.ts']);
    expect(result.flags.join('\n')).toContain(flag);
    expect(result.securityAdjacent).toBe(false);
  });

  it.each([
    '+const total = base + tax;',
    '-// it.skip was removed here',
    ' // context line with @ts-ignore is not new',
  ])('does not flag %s', async (line) => {
    expect((await review(patchAdding('src/app.ts', line), ['src/app.ts'])).flags).toEqual([]);
  });

  it.each(['src/auth/login.ts', 'lib/crypto.ts', 'config/permissions.yml', '.github/workflows/ci.yml'])(
    'marks %s as security-adjacent',
    async (path) => {
      const result = await review(patchAdding(path, '+x'), [path]);
      expect(result.securityAdjacent).toBe(true);
      expect(result.flags.join('\n')).toContain(path);
    },
  );
});

describe('the thread summary', () => {
  const base = {
    answer: 'Fixed the heading.',
    files: [{ path: 'src/pricing.html', added: 1, deleted: 1 }],
    excluded: [{ path: '.env', reason: 'looks like a secret' }],
    review: { flags: [], securityAdjacent: false, modelReviewed: true },
  };

  it('says no checks ran when none are configured, never that they passed', () => {
    const { markdown } = composeSummary({ ...base, checks: [] });
    expect(markdown).toContain('none are configured for this repository, so nothing was run');
    expect(markdown).not.toContain('passed');
    expect(markdown).toContain('Left out of the commit: `.env` (looks like a secret)');
  });

  it('shows a failed check with the end of its output', () => {
    const { markdown } = composeSummary({
      ...base,
      checks: [{ command: 'npm test', ok: false, exitCode: 1, timedOut: false, tail: 'expected 2 got 3' }],
    });
    expect(markdown).toContain('❌ `npm test` failed (exit 1)');
    expect(markdown).toContain('expected 2 got 3');
  });

  it('puts a short diff inline and attaches a long one', () => {
    const summary = composeSummary({ ...base, checks: [] });
    const short = withDiff(summary, '+a\n');
    expect(short.markdown).toContain('```diff\n+a\n```');
    expect(short.diffFile).toBeUndefined();
    const long = withDiff(summary, `${'+line\n'.repeat(600)}`);
    expect(long.markdown).not.toContain('```diff');
    expect(long.diffFile).toMatchObject({ filename: 'change.diff' });
  });

  it('tells how to take the work over, and when that works', () => {
    expect(takeOverLine('shipmate/x-1', true)).toBe(
      'To take it over locally: `git fetch origin shipmate/x-1 && git switch shipmate/x-1`',
    );
    expect(takeOverLine('shipmate/x-1', false)).toMatch(/once the branch is pushed/);
  });
});

describe('sandbox env for installs', () => {
  it('turns lifecycle scripts off unless the repo allows them', () => {
    expect(sandboxEnvFor({ allowLifecycleScripts: false })).toMatchObject({
      npm_config_ignore_scripts: 'true',
      YARN_ENABLE_SCRIPTS: 'false',
    });
    expect(sandboxEnvFor({ allowLifecycleScripts: true })).toEqual({});
  });
});
