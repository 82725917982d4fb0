import type { Config, RepoConfig } from '../config.js';
import { firstErrorLine, runHostGit, scrubUrlCredentials } from '../workspace/host-git.js';
import type { CheckResult } from './types.js';

export type RunGit = (
  args: string[],
  options: { profile?: 'isolated' | 'network'; timeoutMs?: number },
) => Promise<string>;

/** git on the host: present, and each configured repository reachable the way a mirror fetch reaches it. */
export async function checkGit(
  config: Pick<Readonly<Config>, 'repos'>,
  deps: { runGit?: RunGit } = {},
): Promise<CheckResult[]> {
  const runGit = deps.runGit ?? runHostGit;
  let version: string;
  try {
    version = (await runGit(['--version'], { timeoutMs: 10_000 })).trim();
  } catch (error) {
    return [
      {
        name: 'git',
        status: 'fail',
        detail: `git does not run: ${firstErrorLine(error)}`,
        fix: 'sudo apt-get install git',
      },
    ];
  }
  const gitLine: CheckResult =
    config.repos.length > 0
      ? { name: 'git', status: 'ok', detail: version }
      : {
          name: 'git',
          status: 'warn',
          detail: `${version}; no repository configured`,
          fix: 'set SHIPMATE_REPO (a path or git URL) or list repos: in the SHIPMATE_CONFIG file',
        };
  const repos = await Promise.all(config.repos.map((repo) => checkRepo(repo, runGit)));
  return [gitLine, ...repos];
}

/** `git ls-remote --symref <url> HEAD [refs/heads/<branch>]` with the hardened host git, as a fetch runs it. */
async function checkRepo(repo: RepoConfig, runGit: RunGit): Promise<CheckResult> {
  const name = `repo ${repo.name}`;
  const url = scrubUrlCredentials(repo.url);
  const branchRef = repo.defaultBranch ? [`refs/heads/${repo.defaultBranch}`] : [];
  let out: string;
  try {
    out = await runGit(['ls-remote', '--symref', '--', repo.url, 'HEAD', ...branchRef], {
      profile: 'network',
      timeoutMs: 30_000,
    });
  } catch (error) {
    const line = firstErrorLine(error);
    return {
      name,
      status: 'fail',
      detail: `${url}: ${line}`,
      fix: /not (appear to be )?a git repository|does not exist|No such file/i.test(line)
        ? 'check the path or URL in SHIPMATE_REPO / repos:'
        : 'check the URL, and that this account can `git ls-remote` it (its credential helper or ssh key)',
    };
  }
  const head = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(out)?.[1];
  if (
    repo.defaultBranch &&
    !new RegExp(`\\trefs/heads/${escapeRegExp(repo.defaultBranch)}$`, 'm').test(out)
  ) {
    return {
      name,
      status: 'fail',
      detail: `${url}: reachable, but it has no branch "${repo.defaultBranch}"`,
      fix: `fix defaultBranch for ${repo.name}${head ? ` (the remote's HEAD is ${head})` : ''}`,
    };
  }
  const branch = repo.defaultBranch ?? head;
  return { name, status: 'ok', detail: `${url}: reachable${branch ? `, default branch ${branch}` : ''}` };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
