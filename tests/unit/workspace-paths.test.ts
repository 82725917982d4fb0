import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputCapture } from '../../src/workspace/output-capture.js';
import {
  readConfinedFile,
  resolveConfinedPath,
  writeConfinedFile,
} from '../../src/workspace/path-confinement.js';

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'shipmate-paths-'));
  root = join(base, 'worktree');
  await mkdir(join(root, 'src', 'deep'), { recursive: true });
  await writeFile(join(root, 'src', 'app.ts'), 'app');
  await writeFile(join(base, 'outside.txt'), 'OUTSIDE');
  await symlink('/etc', join(root, 'etc-link'));
  await symlink(join(base, 'outside.txt'), join(root, 'outside-link'));
  await symlink(join(base, 'not-yet'), join(root, 'dangling-link'));
  await symlink('src', join(root, 'src-link'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('path confinement', () => {
  it.each([
    ['../x', 'climbs out'],
    ['/etc/passwd', 'is absolute'],
    ['a/../../x', 'climbs out'],
    ['src/../../x', 'climbs out'],
    ['etc-link/passwd', 'symlink'],
    ['etc-link', 'symlink'],
    ['outside-link', 'symlink'],
    ['dangling-link', 'symlink'],
    ['bad\0name', 'NUL'],
  ])('refuses %j', (relative, why) => {
    expect(() => resolveConfinedPath(root, relative)).toThrow(
      expect.objectContaining({ code: 'path-escape' }),
    );
    expect(() => resolveConfinedPath(root, relative)).toThrow(new RegExp(why));
  });

  it.each([
    ['src/app.ts', 'src/app.ts'],
    ['src/deep/new/file.ts', 'src/deep/new/file.ts'],
    ['./src/./app.ts', 'src/app.ts'],
    ['src/deep/../app.ts', 'src/app.ts'],
    ['src-link/app.ts', 'src-link/app.ts'],
    ['', ''],
  ])('accepts %j', (relative, expected) => {
    expect(resolveConfinedPath(root, relative)).toBe(join(root, expected));
  });

  it('writes nested files, creating parent directories', async () => {
    await writeConfinedFile(root, 'docs/guide/intro.md', 'hello\n');
    expect(await readFile(join(root, 'docs', 'guide', 'intro.md'), 'utf8')).toBe('hello\n');
    expect(await readConfinedFile(root, 'src-link/app.ts')).toBe('app');
  });

  it.each([['etc-link/shipmate-test'], ['outside-link'], ['dangling-link'], ['../escape.txt']])(
    'refuses to write through %j',
    async (relative) => {
      await expect(writeConfinedFile(root, relative, 'x')).rejects.toMatchObject({ code: 'path-escape' });
      expect(await readFile(join(base, 'outside.txt'), 'utf8')).toBe('OUTSIDE');
    },
  );

  it('refuses to read through a link that leaves the worktree', async () => {
    await expect(readConfinedFile(root, 'outside-link')).rejects.toMatchObject({ code: 'path-escape' });
  });
});

describe('output capture', () => {
  it('keeps everything while under the cap', () => {
    const capture = new OutputCapture(100);
    capture.push(Buffer.from('short'));
    expect(capture.toString()).toBe('short');
  });

  it('keeps the head and the tail and says how much was cut', () => {
    const capture = new OutputCapture(10);
    for (const chunk of ['abc', 'defgh', 'ijklmnop', 'qrstuvwxyz']) capture.push(Buffer.from(chunk));
    expect(capture.totalBytes).toBe(26);
    expect(capture.toString()).toBe('abcde\n… [16 bytes cut] …\nvwxyz');
  });

  it('handles one huge chunk', () => {
    const capture = new OutputCapture(4);
    capture.push(Buffer.from('0123456789'));
    expect(capture.toString()).toBe('01\n… [6 bytes cut] …\n89');
  });
});
