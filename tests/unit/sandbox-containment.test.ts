import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxRunner } from '../../src/workspace/sandbox-runner.js';
import type { RepoSpec, Workspace } from '../../src/workspace/types.js';
import { WorkspaceManager } from '../../src/workspace/worktree-manager.js';
import { createRepo, git, type TestRepo } from '../support/git-fixtures.js';

/** Hostile commands from inside a thread's worktree, against real bubblewrap. */

const secrets = {
  SLACK_BOT_TOKEN: 'xoxb-canary-slack-token',
  OPENAI_API_KEY: 'sk-canary-openai-key',
  GITHUB_TOKEN: 'ghp_canarygithubtoken',
};

let origin: TestRepo;
let base: string;
let dataDir: string;
let fakeHome: string;
let sandbox: SandboxRunner;
let mine: Workspace;
let theirs: Workspace;
let canary: Server;
let canaryHits = 0;

beforeAll(async () => {
  Object.assign(process.env, secrets);
  origin = await createRepo({
    files: { 'README.md': '# demo\n', 'src/app.ts': 'export const answer = 42;\n' },
  });
  base = await mkdtemp(join(tmpdir(), 'shipmate-sandbox-'));
  dataDir = join(base, 'data');
  fakeHome = join(base, 'home');
  await mkdir(join(fakeHome, '.ssh'), { recursive: true });
  await writeFile(join(fakeHome, '.ssh', 'id_ed25519'), 'CANARY-PRIVATE-KEY');
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, 'shipmate.db'), 'CANARY-DATABASE');
  sandbox = await SandboxRunner.create({
    mode: 'on',
    tempRoot: join(dataDir, 'tmp'),
    denyRead: [dataDir, fakeHome],
  });
  const manager = new WorkspaceManager({ dataDir, sandbox });
  const repo: RepoSpec = { name: 'demo', url: origin.dir, defaultBranch: origin.defaultBranch };
  mine = await manager.acquire(repo, 'C1-1.1');
  theirs = await manager.acquire(repo, 'C1-2.2');
  await theirs.writeFile('their-secret.txt', 'CANARY-OTHER-THREAD');
  canary = createServer((_request, response) => {
    canaryHits += 1;
    response.end('reached');
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  canary.close();
  await sandbox.close();
  await rm(base, { recursive: true, force: true });
  await origin.cleanup();
});

describe('the sandbox', () => {
  it('reports bubblewrap as its mode', () => {
    expect(sandbox.status().mode).toBe('bubblewrap');
  });

  it('passes no host secrets through the environment', async () => {
    const result = await mine.run('env');
    expect(result.exitCode).toBe(0);
    for (const [name, value] of Object.entries(secrets)) {
      expect(result.stdout).not.toContain(name);
      expect(result.stdout).not.toContain(value);
    }
    expect(result.stdout).toMatch(/^CI=true$/m);
    expect(result.stdout).toMatch(/^TERM=dumb$/m);
    expect(result.stdout).not.toMatch(/^HOME=\/root$/m);
  });

  it('hides ~/.ssh and /root', async () => {
    const ssh = await mine.run('cat "$1"', { argv: [join(fakeHome, '.ssh', 'id_ed25519')] });
    expect(ssh.exitCode).not.toBe(0);
    expect(ssh.stdout).not.toContain('CANARY');
    expect(ssh.sandboxViolation).toMatch(/hides/);
    const root = await mine.run('ls -A /root');
    expect(root.stdout.trim()).toBe('');
  });

  it("hides another thread's worktree and shipmate's database", async () => {
    const other = await mine.run('cat "$1"', { argv: [join(theirs.root, 'their-secret.txt')] });
    expect(other.stdout).not.toContain('CANARY');
    expect(other.exitCode).not.toBe(0);
    expect(other.sandboxViolation).toMatch(/hides/);
    const database = await mine.run('cat "$1"', { argv: [join(dataDir, 'shipmate.db')] });
    expect(database.stdout).not.toContain('CANARY');
    expect(database.sandboxViolation).toMatch(/hides/);
  });

  it('cannot reach a loopback server on the host', async () => {
    const { port } = canary.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/`;
    const direct = await mine.run('curl -sS -m 3 "$1"', { argv: [url] });
    const proxied = await mine.run('curl -sS -m 3 -x "$HTTP_PROXY" "$1"', { argv: [url] });
    expect(direct.stdout).not.toContain('reached');
    expect(proxied.stdout).not.toContain('reached');
    expect(canaryHits).toBe(0);
    expect(direct.sandboxViolation ?? proxied.sandboxViolation).toBeTruthy();
  });

  it('cannot write outside the worktree', async () => {
    const outside = join(base, 'escaped.txt');
    const result = await mine.run('echo pwned > "$1"', { argv: [outside] });
    expect(result.exitCode).not.toBe(0);
    expect(existsSync(outside)).toBe(false);
    expect(result.sandboxViolation).toMatch(/blocked a write/);
    const inData = await mine.run('echo pwned > "$1"', { argv: [join(dataDir, 'planted.txt')] });
    expect(existsSync(join(dataDir, 'planted.txt'))).toBe(false);
    expect(inData.stdout).toBe('');
  });

  it("cannot write the mirror, its thread's host repository or another thread's git dir", async () => {
    const result = await mine.run('echo "gitdir: /tmp/evil" > .git');
    expect(result.exitCode).not.toBe(0);
    expect(readFileSync(join(mine.root, '.git'), 'utf8')).toMatch(/^gitdir: .*worktree-git/);
    const mirror = join(dataDir, 'mirrors', 'demo.git');
    const theirGitDir = readFileSync(join(theirs.root, '.git'), 'utf8').replace('gitdir: ', '').trim();
    for (const target of [
      join(mirror, 'config'),
      join(mirror, 'hooks', 'pre-push'),
      join(mirror, 'objects', 'planted'),
      join(mine.hostRepo, 'config'),
      join(mine.hostRepo, 'objects', 'planted'),
      join(theirGitDir, 'HEAD'),
      join(theirGitDir, 'config'),
    ]) {
      const before = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
      // A hidden path may look writable inside (an empty tmpfs covers it); what counts is the host.
      await mine.run('echo "[core] hooksPath = /tmp" >> "$1"', { argv: [target] });
      expect(existsSync(target) ? readFileSync(target, 'utf8') : undefined, target).toBe(before);
    }
    expect(existsSync(join(mirror, 'hooks', 'pre-push'))).toBe(false);
    expect(readFileSync(join(mine.hostRepo, 'config'), 'utf8')).not.toContain('hooksPath');
    expect(readFileSync(join(theirGitDir, 'HEAD'), 'utf8')).toMatch(/^ref: refs\/heads\/shipmate\//);
  });

  it("cannot read another thread's git dir even when it points its own .git there", async () => {
    const theirGitDir = readFileSync(join(theirs.root, '.git'), 'utf8').replace('gitdir: ', '').trim();
    const result = await mine.run('cat "$1/HEAD"; ls "$1"; GIT_DIR="$1" git log -1', { argv: [theirGitDir] });
    expect(result.stdout).not.toMatch(/refs\/heads/);
  });

  it('writes inside the worktree and its private temp dir', async () => {
    const result = await mine.run(
      'echo hi > made.txt && echo tmp > "$TMPDIR/probe-file" && cat "$TMPDIR/probe-file" && echo "$HOME"',
    );
    expect(result.exitCode).toBe(0);
    expect(await mine.readFile('made.txt')).toBe('hi\n');
    expect(result.stdout).not.toContain('/root');
  });

  it('runs git and ripgrep in the worktree, including git add', async () => {
    await mine.writeFile('src/app.ts', 'export const answer = 43;\n');
    const result = await mine.run(
      'git log --oneline -1 && git diff --stat && rg -n answer src && git add -A && git status --short',
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Initial commit');
    expect(result.stdout).toContain('src/app.ts:1:export const answer = 43;');
    expect(result.stdout).toMatch(/^M {2}src\/app\.ts$/m);
    // Host-side git still reads the worktree after the sandbox touched its index.
    expect(await git(mine.root, ['read-tree', 'HEAD'])).toBe('');
  });

  it('runs in a confined subdirectory and refuses one outside', async () => {
    const inside = await mine.run('pwd', { cwd: 'src' });
    expect(inside.stdout.trim()).toBe(join(mine.root, 'src'));
    await expect(mine.run('pwd', { cwd: '../..' })).rejects.toMatchObject({ code: 'path-escape' });
  });

  it('passes stdin and extra env to the command only', async () => {
    const result = await mine.run('cat; echo "$GREETING"', {
      stdin: 'from stdin\n',
      env: { GREETING: 'hello' },
    });
    expect(result.stdout).toBe('from stdin\nhello\n');
    await expect(mine.run('true', { env: { 'BAD NAME': 'x' } })).rejects.toMatchObject({
      code: 'invalid-env-name',
    });
  });
});
