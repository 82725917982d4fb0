import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkspaceError } from '../errors.js';
import type { Logger } from '../log.js';
import { firstErrorLine, runHostGit, scrubUrlCredentials } from './host-git.js';
import type { RepoSpec } from './types.js';

/**
 * Branches land under refs/remotes/origin/ so that fetch --prune never touches the thread
 * branches (refs/heads/shipmate/…) the worktrees have checked out.
 */
const fetchRefspecs = ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'];

export interface RepoMirrorsOptions {
  dataDir: string;
  fetchIntervalMs: number;
  clock: () => number;
  log?: Logger;
}

/**
 * One bare mirror per repository under `<dataDir>/mirrors/<name>.git`, fetched at most once
 * per interval; concurrent callers share one clone or fetch. The URL is passed to git on
 * each fetch and never stored in the mirror's config, so credentials in it stay out of files.
 */
export class RepoMirrors {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly fetchedAt = new Map<string, number>();

  constructor(private readonly options: RepoMirrorsOptions) {}

  mirrorPath(name: string): string {
    assertRepoName(name);
    return join(this.options.dataDir, 'mirrors', `${name}.git`);
  }

  /** The mirror's path, cloned if missing and fetched if older than the interval. */
  ensureFresh(repo: RepoSpec): Promise<string> {
    const mirror = this.mirrorPath(repo.name);
    const running = this.inFlight.get(repo.name);
    if (running) return running;
    const exists = existsSync(join(mirror, 'HEAD'));
    const last = this.fetchedAt.get(repo.name);
    if (exists && last !== undefined && this.options.clock() - last < this.options.fetchIntervalMs) {
      return Promise.resolve(mirror);
    }
    const work = (exists ? this.fetch(repo, mirror) : this.clone(repo, mirror)).finally(() =>
      this.inFlight.delete(repo.name),
    );
    this.inFlight.set(repo.name, work);
    return work;
  }

  /** Fetches now whatever the interval says (a commit another process saw is not here yet). */
  refresh(repo: RepoSpec): Promise<string> {
    const running = this.inFlight.get(repo.name);
    if (running) return running;
    this.fetchedAt.delete(repo.name);
    return this.ensureFresh(repo);
  }

  /** The sha the default branch points at in the mirror. */
  async defaultHead(repo: RepoSpec): Promise<string> {
    const ref = `refs/remotes/origin/${repo.defaultBranch}^{commit}`;
    try {
      const sha = await runHostGit(['rev-parse', '--verify', '--quiet', ref], {
        cwd: this.mirrorPath(repo.name),
      });
      return sha.trim();
    } catch (error) {
      throw new WorkspaceError('default-branch-missing', `${repo.name} has no branch ${repo.defaultBranch}`, {
        cause: error,
        userMessage: `The repository "${repo.name}" has no branch "${repo.defaultBranch}".`,
        fields: { repo: repo.name },
      });
    }
  }

  private async fetch(repo: RepoSpec, mirror: string): Promise<string> {
    const started = performance.now();
    try {
      await fetchInto(mirror, repo.url);
      this.options.log?.debug(
        { repo: repo.name, durationMs: Math.round(performance.now() - started) },
        'mirror fetched',
      );
    } catch (error) {
      // A stale mirror still answers questions; the next job after the interval tries again.
      this.options.log?.warn(
        { repo: repo.name, error: firstErrorLine(error) },
        'fetch failed; continuing with the existing mirror',
      );
    }
    this.fetchedAt.set(repo.name, this.options.clock());
    return mirror;
  }

  private async clone(repo: RepoSpec, mirror: string): Promise<string> {
    const staging = `${mirror}.tmp-${randomBytes(4).toString('hex')}`;
    const started = performance.now();
    try {
      await mkdir(staging, { recursive: true });
      await runHostGit(['init', '--bare', '--quiet', staging]);
      await fetchInto(staging, repo.url);
      await rename(staging, mirror);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw new WorkspaceError('clone-failed', `cloning ${repo.name} failed: ${firstErrorLine(error)}`, {
        cause: error,
        userMessage: `Could not clone the repository "${repo.name}": ${firstErrorLine(error)}`,
        fields: { repo: repo.name, url: scrubUrlCredentials(repo.url) },
      });
    }
    this.fetchedAt.set(repo.name, this.options.clock());
    this.options.log?.info(
      { repo: repo.name, durationMs: Math.round(performance.now() - started) },
      'mirror cloned',
    );
    return mirror;
  }
}

function fetchInto(gitDir: string, url: string): Promise<string> {
  if (url.startsWith('-')) {
    throw new WorkspaceError('invalid-repo-url', 'a repository URL may not start with "-"');
  }
  return runHostGit(
    [
      '--git-dir',
      gitDir,
      'fetch',
      '--quiet',
      '--prune',
      '--no-write-fetch-head',
      '--',
      url,
      ...fetchRefspecs,
    ],
    { timeoutMs: 600_000, profile: 'network' },
  );
}

export function assertRepoName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new WorkspaceError('invalid-repo-name', `repository name "${name}" is not a safe directory name`);
  }
}
