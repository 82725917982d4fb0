import { type Config, isWriter, type RepoConfig } from '../config.js';
import { ProviderError } from '../errors.js';
import type { ThreadHistory } from '../jobs/ports.js';
import type { WorkspaceProvider } from '../jobs/tools.js';
import type { Scrubber } from '../scrub-secrets.js';
import { hasObject, runHostGit } from '../workspace/host-git.js';
import type { Workspace } from '../workspace/types.js';
import type { ChangeRecord, ChangeStore } from './change-store.js';
import { forgeNames, forgeOf } from './forge-of.js';
import { safeLink } from './forge-text.js';
import { importPolicy, pushBranch } from './git-commands.js';
import type { ProviderFor } from './provider-for.js';
import {
  type ForgeTerms,
  type PullRequestProvider,
  pullRequestTerms,
  requestReference,
} from './providers.js';
import { takeOverLine } from './summary.js';

type ResolvedRepo = RepoConfig & { defaultBranch: string };

export interface PublishDeps {
  config: Readonly<Config>;
  workspaces: WorkspaceProvider;
  history: ThreadHistory;
  changes: ChangeStore;
  resolveRepo: (name: string) => Promise<ResolvedRepo | undefined>;
  providerFor: ProviderFor;
  scrub: Scrubber;
}

export const writersOnly = writersOnlyFor(pullRequestTerms);

/** The writers-only sentence in the forge's words ("… or open merge requests"). */
export function writersOnlyFor(terms: ForgeTerms): string {
  return `Only people listed in \`access.writers\` can push or open ${terms.request}s.`;
}

/**
 * Open PR, Push branch and the open_pull_request tool all end here: re-check the writer
 * list, commit on the host, push with a per-command credential, then open or update the
 * thread's one pull request. Returns the sentence for the thread; provider failures throw
 * ProviderError with a userMessage.
 */
export async function publishChange(
  deps: PublishDeps,
  jobId: string,
  userId: string,
  options: { pushOnly?: boolean } = {},
): Promise<string> {
  const change = await deps.changes.get(jobId);
  if (!isWriter(deps.config, userId)) {
    const named = change ? deps.config.repos.find((candidate) => candidate.name === change.repo) : undefined;
    return writersOnlyFor(named ? deps.providerFor(named).terms : pullRequestTerms);
  }
  if (!change) return 'I could not find that change any more; ask me again.';
  if (change.state === 'discarded') return 'That change was discarded; ask me again if you still want it.';
  const repo = await deps.resolveRepo(change.repo);
  if (!repo) return `The repository \`${change.repo}\` is no longer configured.`;
  const workspace = await deps.workspaces.acquire(repo, `${change.channel}-${change.threadTs}`);
  if (workspace.branch !== change.branch) {
    throw new ProviderError('branch-moved', `worktree is not on ${change.branch}`, {
      userMessage: `The thread's checkout is no longer on \`${change.branch}\`, so I did not commit or push. Ask me to make the change again.`,
    });
  }
  await commitPending(deps, workspace, change, repo);
  const ahead = (
    await runHostGit([
      '--git-dir',
      workspace.hostRepo,
      'rev-list',
      '--count',
      `${change.baseCommit}..${workspace.head()}`,
    ])
  ).trim();
  if (ahead === '0') return 'There is nothing to push: the change has no commits.';
  const forge = forgeOf(repo);
  await pushBranch({
    hostRepo: workspace.hostRepo,
    url: repo.url,
    branch: change.branch,
    prefix: deps.config.git.branchPrefix,
    defaultBranch: repo.defaultBranch,
    token: forge ? deps.config[forge.kind].token : undefined,
    forge: forge?.kind,
  });
  if (options.pushOnly || !forge) {
    await deps.changes.markOpened(jobId, undefined, undefined, 'pushed');
    const hint = forge
      ? ''
      : ' No forge (`github:`, `gitlab:`, `gitea:` or `bitbucket:`) is configured for this repository, so open the pull request in your code host’s UI.';
    return `Pushed branch \`${change.branch}\` to origin.${hint}\n\n${takeOverLine(change.branch, true)}`;
  }
  // Pushed: from here a failure must say so, with the branch, so nothing is half-done unsaid.
  const provider = deps.providerFor(repo);
  return openOrUpdate(deps, provider, repo, change).catch((error: unknown) => {
    throw pushedButNoRequest(error, provider, forgeNames[forge.kind], change.branch);
  });
}

/** The branch is on the remote but the forge did not open or update the request: say both. */
function pushedButNoRequest(error: unknown, provider: PullRequestProvider, forge: string, branch: string) {
  const said = (error as { userMessage?: string }).userMessage ?? `${forge} did not answer.`;
  return new ProviderError(
    (error as { code?: ProviderError['code'] }).code ?? 'push-failed',
    `pushed ${branch}, but the ${provider.terms.request} failed`,
    {
      cause: error,
      userMessage: `I pushed branch \`${branch}\`, but ${forge} did not open or update the ${provider.terms.request}: ${said}`,
      fields: { branch },
    },
  );
}

/** Commits the tree the change's summary showed, on the commit it was staged on. */
async function commitPending(
  deps: PublishDeps,
  workspace: Workspace,
  change: ChangeRecord,
  repo: ResolvedRepo,
) {
  // Exactly what the summary showed: the tree staged then, on the commit it was staged on.
  // Reading the checkout again would also take whatever the sandbox wrote after the review.
  const staged = change.staged && (await stagedHere(deps, workspace, change.staged, repo));
  const head = workspace.head();
  if (staged) {
    // One look at the head answers both: already committed by an earlier click whose push or
    // PR then failed (its tree, on the staged parent), or nothing to commit (the parent itself).
    const [tree, ...parents] = (
      await runHostGit(['--git-dir', workspace.hostRepo, 'show', '-s', '--format=%T %P', head])
    )
      .trim()
      .split(' ');
    const committed = head !== staged.parent && parents.length === 1 && parents[0] === staged.parent;
    if (tree === staged.tree && (committed || head === staged.parent)) return;
  }
  if (!staged || staged.parent !== head) {
    throw new ProviderError('change-stale', 'the reviewed change no longer applies to the thread branch', {
      userMessage:
        'This thread’s branch has moved since that diff was shown (another change was committed), so I did not commit it. Ask me again and I will show the change as it is now.',
    });
  }
  const name = (await deps.history.displayName(change.userId)).replace(/[<>\n]/g, '').trim() || change.userId;
  const email = `${change.userId.toLowerCase()}@users.noreply.slack.invalid`;
  const message = `${change.title}\n\nRequested in Slack by ${name}.\n\nCo-authored-by: ${name} <${email}>`;
  await workspace.commit(staged, deps.scrub(message), {
    name: deps.config.git.authorName,
    email: deps.config.git.authorEmail,
  });
  // The commit exists on this process's disk only until the thread's state is saved; a failed
  // save leaves the earlier state, and the push below still carries the commit to the forge.
  await workspace.checkpoint().catch(() => undefined);
}

/**
 * The staged tree lives in the thread repository of the process that staged it. On another
 * process (the click reached it; the thread was rebuilt from its saved state) the change is
 * staged again from the restored checkout, and taken only when it is the very tree the
 * summary showed: trees are named by their content, so equal names mean equal changes.
 */
async function stagedHere(
  deps: PublishDeps,
  workspace: Workspace,
  staged: NonNullable<ChangeRecord['staged']>,
  repo: ResolvedRepo,
): Promise<NonNullable<ChangeRecord['staged']>> {
  // A branch that moved is commitPending's to explain; a tree here is the one to commit.
  if (workspace.head() !== staged.parent || (await hasObject(workspace.hostRepo, staged.tree, 'tree'))) {
    return staged;
  }
  const again = await workspace
    .stage(importPolicy(repo, deps.config.limits.maxFileBytes))
    .catch(() => undefined);
  if (again && again.parent === staged.parent && again.tree === staged.tree) return again;
  throw new ProviderError('change-stale', 'the restored checkout is not the reviewed change', {
    userMessage:
      'The thread’s checkout is not the change I showed (it changed after that diff), so I did not commit it. Ask me again and I will show the change as it is now.',
  });
}

/** One PR per thread: the stored one, else an open PR for the branch (a retry), else a new one. */
async function openOrUpdate(
  deps: PublishDeps,
  provider: PullRequestProvider,
  repo: ResolvedRepo,
  change: ChangeRecord,
): Promise<string> {
  const terms = provider.terms;
  const permalink = await deps.history.permalink(change.channel, change.threadTs);
  const link = permalink ? `[the Slack thread](${permalink})` : 'Slack';
  const body = deps.scrub(`${change.summary}\n\n---\nRequested in ${link}. Opened by shipmate.`);
  const stored = await deps.changes.openedInThread(change.channel, change.threadTs);
  const found = stored?.prNumber
    ? { number: stored.prNumber, url: stored.prUrl ?? '' }
    : await provider.findOpen(change.branch);
  // The link is the forge's text: shown (and kept) only when it can stand bare in the thread.
  const existing = found && { number: found.number, url: safeLink(found.url) };
  const labels = change.labels;
  if (existing) {
    await provider.update(existing.number, { title: change.title, body });
    if (labels.length > 0) await provider.addLabels(existing.number, labels);
    await deps.changes.markOpened(change.jobId, existing.number, existing.url, 'opened');
    return `Pushed to \`${change.branch}\` and updated ${requestReference(terms, existing.number)}${linked(existing.url)}${labelled(labels)}`;
  }
  const opened = await provider.open({
    title: change.title,
    body,
    head: change.branch,
    base: repo.defaultBranch,
    draft: deps.config.pullRequests.draft,
  });
  if (!opened)
    return `Pushed branch \`${change.branch}\` to origin; open a ${terms.request} in your code host’s UI.`;
  const url = safeLink(opened.url);
  await deps.changes.markOpened(change.jobId, opened.number, url, 'opened');
  if (labels.length > 0) await provider.addLabels(opened.number, labels);
  const draft = deps.config.pullRequests.draft ? 'draft ' : '';
  return `Opened ${draft}${requestReference(terms, opened.number)}${linked(url)}${labelled(labels)}\n\n${takeOverLine(change.branch, true)}`;
}

function linked(url: string | undefined): string {
  return url ? `: ${url}` : '';
}

function labelled(labels: string[]): string {
  return labels.length > 0 ? ` (labelled ${labels.map((label) => `\`${label}\``).join(', ')})` : '';
}
