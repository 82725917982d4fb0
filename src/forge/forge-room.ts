import type { ChangeFlow, ChangeInput, WorkspaceProvider } from '../agent/agent-job.js';
import type { ModelClient } from '../agent/model-client.js';
import type { ThreadHistory, Workspace } from '../agent/ports.js';
import { createOpenPullRequestTool } from '../agent/tools/open-pull-request.js';
import { type Config, isWriter, type RepoConfig } from '../config.js';
import type { ActionRoute } from '../handlers/action-handler.js';
import type { IncomingAction } from '../handlers/types.js';
import type { Reply, ReplyAction, ThreadRef } from '../jobs/ports.js';
import type { Logger } from '../log.js';
import type { Scrubber } from '../scrub-secrets.js';
import type { ChangeRecord, ChangeStore } from '../storage/change-store.js';
import { commitStaged, git, pushBranch, stageChanges } from './git-commands.js';
import { GitHubProvider, PlainGitProvider, type PullRequestProvider } from './providers.js';
import { reviewChange } from './review-change.js';
import { composeSummary, takeOverLine, withDiff } from './summary.js';

type ResolvedRepo = RepoConfig & { defaultBranch: string };

export interface ForgeDeps {
  config: Readonly<Config>;
  workspaces: WorkspaceProvider;
  history: ThreadHistory;
  model: ModelClient | undefined;
  notifier: { reply(thread: ThreadRef, reply: Reply): Promise<unknown> };
  changes: ChangeStore;
  resolveRepo: (name: string) => Promise<ResolvedRepo | undefined>;
  scrub: Scrubber;
  log: Logger;
}

const action = (
  actionId: string,
  label: string,
  jobId: string,
  style?: 'primary' | 'danger',
): ReplyAction => ({
  actionId,
  label,
  value: jobId,
  ...(style ? { style } : {}),
});

/** Change requests become reviewed diffs in the thread, then branches and pull requests. */
export function createForgeRoom(deps: ForgeDeps) {
  const explicit = new Map<string, { title: string; body: string }>();
  const providerFor = (repo: RepoConfig): PullRequestProvider =>
    repo.github ? new GitHubProvider(repo.github, deps.config.github) : new PlainGitProvider();

  const changeFlow: ChangeFlow = {
    tools: (input) =>
      isWriter(deps.config, input.userId)
        ? [createOpenPullRequestTool((title, body) => explicit.set(input.jobId, { title, body }))]
        : [],
    async finish(input) {
      const { repo, workspace } = input;
      const staged = await stageChanges(workspace.root, repo.allowWorkflowChanges);
      if (staged.files.length === 0) {
        const left = staged.excluded.map((entry) => `\`${entry.path}\` (${entry.reason})`).join(', ');
        return {
          markdown: `${input.answer}\n\n_No files changed${left ? ` apart from ${left}, which I never commit` : ''}, so there is nothing to open a pull request for._`,
        };
      }
      const checks = await runChecks(repo, workspace, deps.config.limits.commandTimeoutSeconds * 1000);
      const review = await reviewChange({
        patch: staged.patch,
        files: staged.files,
        model: deps.model,
        scrub: deps.scrub,
        log: deps.log,
      });
      const lines = staged.files.reduce((sum, file) => sum + file.added + file.deleted, 0);
      const tooBig =
        staged.files.length > deps.config.limits.maxChangedFiles ||
        lines > deps.config.limits.maxChangedLines;
      const requested = explicit.get(input.jobId);
      explicit.delete(input.jobId);
      const title = requested?.title ?? titleFrom(input.request);
      const summary = withDiff(
        composeSummary({
          answer: input.answer,
          files: staged.files,
          excluded: staged.excluded,
          checks,
          review,
          requestedBody: requested?.body,
        }),
        staged.patch,
      );
      deps.changes.save({
        jobId: input.jobId,
        channel: input.channel,
        threadTs: input.threadTs,
        userId: input.userId,
        repo: repo.name,
        branch: workspace.branch,
        baseCommit: workspace.baseCommit,
        title,
        summary: summary.body,
        labels: review.securityAdjacent ? ['needs-human-review'] : [],
      });
      const existing = deps.changes.openedInThread(input.channel, input.threadTs);
      const writer = isWriter(deps.config, input.userId);
      const limits = `${deps.config.limits.maxChangedFiles} files and ${deps.config.limits.maxChangedLines} changed lines`;
      const notes = [
        tooBig
          ? `_This is bigger than a small fix (${staged.files.length} files, ${lines} lines; the limit is ${limits}), so I will not open a pull request for it. I can push the branch for you to take over._`
          : '',
        writer
          ? ''
          : '_Only people listed in `access.writers` can push or open pull requests; here is the diff to apply yourself._',
      ].filter(Boolean);
      const reply: Reply = {
        markdown: [summary.markdown, ...notes, takeOverLine(workspace.branch, existing !== undefined)].join(
          '\n\n',
        ),
        ...(summary.diffFile ? { files: [summary.diffFile] } : {}),
        actions: !writer
          ? []
          : tooBig
            ? [
                action('pr_push_branch', 'Push branch', input.jobId, 'primary'),
                action('pr_discard', 'Discard', input.jobId, 'danger'),
              ]
            : [
                action(
                  'pr_open',
                  existing ? `Update PR #${existing.prNumber}` : 'Open PR',
                  input.jobId,
                  'primary',
                ),
                action('pr_discard', 'Discard', input.jobId, 'danger'),
              ],
      };
      if (requested && writer && !tooBig) {
        const opened = await openPullRequest(deps, providerFor, input.jobId, input.userId);
        return { ...reply, markdown: `${reply.markdown}\n\n${opened}`, actions: [] };
      }
      return reply;
    },
  };

  const respond =
    (run: (change: ChangeRecord, action: IncomingAction) => Promise<string>): ActionRoute =>
    async (clicked) => {
      const thread = { channel: clicked.channel, threadTs: clicked.threadTs ?? clicked.messageTs };
      const change = deps.changes.get(clicked.value);
      if (!change) {
        await deps.notifier.reply(thread, {
          markdown: 'I could not find that change any more; ask me again.',
        });
        return;
      }
      try {
        await deps.notifier.reply(thread, { markdown: await run(change, clicked) });
      } catch (error) {
        const message = (error as { userMessage?: string }).userMessage ?? 'Something went wrong on my side.';
        deps.log.error({ err: error, jobId: change.jobId }, 'forge-action-failed');
        await deps.notifier.reply(thread, {
          markdown: `${message} Nothing was lost: the change is still in the thread's checkout; press the button again to retry.`,
        });
      }
    };

  const actionRoutes: Record<'pr_open' | 'pr_discard' | 'pr_push_branch', ActionRoute> = {
    pr_open: respond((change, clicked) => openPullRequest(deps, providerFor, change.jobId, clicked.user)),
    pr_push_branch: respond((change, clicked) =>
      openPullRequest(deps, providerFor, change.jobId, clicked.user, { pushOnly: true }),
    ),
    pr_discard: respond(async (change, clicked) => {
      if (clicked.user !== change.userId && !isWriter(deps.config, clicked.user)) {
        return 'Only the person who asked, or a writer, can discard this change.';
      }
      const workspace = await workspaceFor(deps, change);
      if (!workspace) return 'That repository is no longer configured.';
      await git(workspace.root, ['reset', '-q', '--hard', 'HEAD']);
      await git(workspace.root, ['clean', '-fdq']);
      deps.changes.markDiscarded(change.jobId);
      return "Discarded: the uncommitted change is gone from this thread's checkout. Nothing was pushed.";
    }),
  };

  return {
    changeFlow,
    actionRoutes,
    providerFor,
    digestPullRequests: {
      listOpenedBetween: async (from: number, to: number, channel?: string) =>
        deps.changes
          .openedBetween(from, to, channel)
          .filter((change) => change.prNumber !== undefined)
          .map((change) => ({
            repo: change.repo,
            number: change.prNumber!,
            title: change.title,
            url: change.prUrl ?? '',
          })),
      state: async (repoName: string, number: number) => {
        const repo = deps.config.repos.find((candidate) => candidate.name === repoName);
        return repo ? providerFor(repo).state(number) : ('open' as const);
      },
    },
  };
}

/** Commit on the host, push with a per-command credential, open or update the one PR for the thread. */
async function openPullRequest(
  deps: ForgeDeps,
  providerFor: (repo: RepoConfig) => PullRequestProvider,
  jobId: string,
  userId: string,
  options: { pushOnly?: boolean } = {},
): Promise<string> {
  if (!isWriter(deps.config, userId))
    return 'Only people listed in `access.writers` can push or open pull requests.';
  const change = deps.changes.get(jobId);
  if (!change) return 'I could not find that change any more.';
  const repo = await deps.resolveRepo(change.repo);
  const workspace = repo
    ? await deps.workspaces.acquire(repo, `${change.channel}-${change.threadTs}`)
    : undefined;
  if (!repo || !workspace) return 'That repository is no longer configured.';
  const staged = await stageChanges(workspace.root, repo.allowWorkflowChanges);
  if (staged.files.length > 0) {
    const name = await deps.history.displayName(change.userId);
    const message = `${change.title}\n\nRequested in Slack by ${name}.\n\nCo-authored-by: ${name} <${change.userId.toLowerCase()}@users.noreply.slack.invalid>`;
    await commitStaged(workspace.root, deps.scrub(message), {
      name: deps.config.git.authorName,
      email: deps.config.git.authorEmail,
    });
  }
  const ahead = (await git(workspace.root, ['rev-list', '--count', `${change.baseCommit}..HEAD`])).trim();
  if (ahead === '0') return 'There is nothing to push: the change has no commits.';
  await pushBranch({
    root: workspace.root,
    url: repo.url,
    branch: change.branch,
    prefix: deps.config.git.branchPrefix,
    defaultBranch: repo.defaultBranch,
    token: repo.github ? deps.config.github.token : undefined,
  });
  if (options.pushOnly || !repo.github) {
    deps.changes.markOpened(jobId, undefined, undefined, 'pushed');
    return `Pushed \`${change.branch}\` to the repository's remote${repo.github ? '' : ' (no GitHub repo is configured, so open the pull request in your code host)'}.\n\n${takeOverLine(change.branch, true)}`;
  }
  const provider = providerFor(repo);
  const permalink = await deps.history.permalink(change.channel, change.threadTs);
  const body = deps.scrub(
    `${change.summary}\n\n---\nRequested in Slack${permalink ? `: ${permalink}` : ''}. Opened by shipmate.`,
  );
  const existing =
    deps.changes.openedInThread(change.channel, change.threadTs) ??
    (await provider
      .findOpen(change.branch)
      .then((pull) => pull && { prNumber: pull.number, prUrl: pull.url }));
  if (existing?.prNumber) {
    await provider.update(existing.prNumber, { title: change.title, body });
    deps.changes.markOpened(jobId, existing.prNumber, existing.prUrl, 'opened');
    return `Pushed a new commit to \`${change.branch}\` and updated pull request #${existing.prNumber}: ${existing.prUrl ?? ''}`;
  }
  const opened = await provider.open({
    title: change.title,
    body,
    head: change.branch,
    base: repo.defaultBranch,
    draft: deps.config.pullRequests.draft,
  });
  if (!opened) return 'Pushed the branch.';
  await provider.addLabels(opened.number, change.labels);
  deps.changes.markOpened(jobId, opened.number, opened.url, 'opened');
  const draft = deps.config.pullRequests.draft ? 'draft ' : '';
  return `Opened ${draft}pull request #${opened.number}: ${opened.url}${change.labels.length ? ` (labelled ${change.labels.map((label) => `\`${label}\``).join(', ')})` : ''}\n\n${takeOverLine(change.branch, true)}`;
}

async function workspaceFor(deps: ForgeDeps, change: ChangeRecord): Promise<Workspace | undefined> {
  const repo = await deps.resolveRepo(change.repo);
  return repo ? deps.workspaces.acquire(repo, `${change.channel}-${change.threadTs}`) : undefined;
}

export interface CheckResult {
  command: string;
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  tail: string;
}

/** The repo's checks in the sandbox, install scripts off unless the repo allows them. */
async function runChecks(
  repo: ResolvedRepo,
  workspace: Workspace,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const env = repo.allowLifecycleScripts ? {} : sandboxEnvFor(repo);
  const results: CheckResult[] = [];
  for (const command of repo.checks) {
    const result = await workspace.run(command, { timeoutMs, env });
    const output = `${result.stdout}\n${result.stderr}`.trim();
    results.push({
      command,
      ok: result.exitCode === 0 && !result.timedOut,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      tail: output.slice(-1_500),
    });
  }
  return results;
}

/** Lifecycle scripts off for npm, yarn and pnpm installs in the sandbox. */
export function sandboxEnvFor(repo: Pick<RepoConfig, 'allowLifecycleScripts'>): Record<string, string> {
  if (repo.allowLifecycleScripts) return {};
  return { npm_config_ignore_scripts: 'true', YARN_ENABLE_SCRIPTS: 'false', PNPM_IGNORE_SCRIPTS: 'true' };
}

function titleFrom(request: string): string {
  const line = request
    .replace(/\s+/g, ' ')
    .replace(/\b(and )?(open|create|make) (a |the )?(pr|pull request)\b.*$/i, '')
    .trim();
  const title = line.charAt(0).toUpperCase() + line.slice(1);
  return title.length > 72 ? `${title.slice(0, 71)}…` : title || 'Change requested in Slack';
}

export type { ChangeInput };
