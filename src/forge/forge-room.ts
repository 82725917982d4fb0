import type { ModelClient } from '../agent/model-client.js';
import type { ChangeFlow, ChangeInput } from '../agent/ports.js';
import { type Config, isWriter, type RepoConfig } from '../config.js';
import {
  type ActionRoute,
  defineAction,
  type IncomingAction,
  recordIdCodec,
  routeTable,
} from '../jobs/actions.js';
import type { Reply, ThreadHistory, ThreadRef } from '../jobs/ports.js';
import type { Room } from '../jobs/room.js';
import type { ToolSource, WorkspaceProvider } from '../jobs/tools.js';
import type { Logger } from '../log.js';
import type { Scrubber } from '../scrub-secrets.js';
import type { ChangeRecord, ChangeStore } from './change-store.js';
import { fileLinkFor } from './forge-of.js';
import { importPolicy } from './git-commands.js';
import { createOpenPullRequestTool } from './open-pull-request.js';
import { createScriptProposer } from './propose-script.js';
import { createProviderFor } from './provider-for.js';
import { type ForgeTerms, requestReference } from './providers.js';
import { publishChange, writersOnlyFor } from './publish-change.js';
import { reviewChange } from './review-change.js';
import { createReviewBriefing } from './review-comments.js';
import { runChecks } from './run-checks.js';
import { composeSummary, takeOverLine, withDiff } from './summary.js';

export type { CheckResult } from './run-checks.js';

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

/** The buttons under a proposed change; each value is the change's job id. */
export const changeActions = {
  open: defineAction({ id: 'pr_open', ...recordIdCodec }),
  pushBranch: defineAction({ id: 'pr_push_branch', ...recordIdCodec }),
  discard: defineAction({ id: 'pr_discard', ...recordIdCodec }),
} as const;

/** Change requests become reviewed diffs in the thread, then branches and pull requests. */
export function createForgeRoom(deps: ForgeDeps) {
  const room = buildForgeRoom(deps);
  return room satisfies Room;
}

function buildForgeRoom(deps: ForgeDeps) {
  const explicit = new Map<string, { title: string; body: string }>();
  const providerFor = createProviderFor(deps.config);
  const publishDeps = { ...deps, providerFor };
  const termsOf = (repoName: string | undefined): ForgeTerms | undefined => {
    const repo = deps.config.repos.find((candidate) => candidate.name === repoName);
    return repo ? providerFor(repo).terms : undefined;
  };

  /** Runs a publish step; a failure becomes the plain sentence for the thread (scrubbed). */
  const attempt = async (jobId: string, work: () => Promise<string>): Promise<string> => {
    try {
      return deps.scrub(await work());
    } catch (error) {
      deps.log.error({ err: error, jobId }, 'forge-publish-failed');
      const message = (error as { userMessage?: string }).userMessage ?? 'Something went wrong on my side.';
      // The store may be what failed: the sentence still goes out, in the generic terms.
      const stored = await deps.changes.get(jobId).catch(() => undefined);
      const request = termsOf(stored?.repo)?.request ?? 'pull request';
      return deps.scrub(
        `${message} Nothing was lost: the change is still in this thread's checkout, and trying again will not open a second ${request}.`,
      );
    }
  };

  /** open_pull_request, for writers' change requests: the PR opens once checks and review are done. */
  const tools: ToolSource = {
    tools: (scope) =>
      scope.mode === 'change' && isWriter(deps.config, scope.userId)
        ? [createOpenPullRequestTool((title, body) => explicit.set(scope.jobId, { title, body }))]
        : [],
  };

  const changeFlow: ChangeFlow = {
    async finish(input) {
      const requested = explicit.get(input.jobId);
      explicit.delete(input.jobId);
      const proposal = await propose(deps, input, requested, providerFor(input.repo).terms);
      if (!proposal.ready || !requested) return proposal.reply;
      const opened = await attempt(input.jobId, () => publishChange(publishDeps, input.jobId, input.userId));
      return { ...proposal.reply, markdown: `${proposal.reply.markdown}\n\n${opened}` };
    },
  };

  const clicks = new Map<string, Promise<unknown>>();
  const oneAtATime = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const next = (clicks.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    clicks.set(key, next);
    try {
      return await next;
    } finally {
      if (clicks.get(key) === next) clicks.delete(key);
    }
  };

  const respond =
    (run: (change: ChangeRecord, clicked: IncomingAction) => Promise<string>) =>
    async (jobId: string, clicked: IncomingAction) => {
      const thread = { channel: clicked.channel, threadTs: clicked.threadTs ?? clicked.messageTs };
      const change = await deps.changes.get(jobId);
      if (!change) {
        await deps.notifier.reply(thread, {
          markdown: 'I could not find that change any more; ask me again.',
        });
        return;
      }
      // One click at a time per thread: a Discard that lands while Open PR is pushing waits,
      // then sees (and says) what was pushed, instead of racing it.
      const text = await oneAtATime(`${change.channel}-${change.threadTs}`, async () => {
        const current = (await deps.changes.get(jobId)) ?? change;
        return attempt(current.jobId, () => run(current, clicked));
      });
      await deps.notifier.reply({ channel: change.channel, threadTs: change.threadTs }, { markdown: text });
    };

  const actionRoutes: Record<'pr_open' | 'pr_discard' | 'pr_push_branch', ActionRoute> = routeTable(
    changeActions.open.route(
      respond((change, clicked) => publishChange(publishDeps, change.jobId, clicked.user)),
    ),
    changeActions.pushBranch.route(
      respond((change, clicked) =>
        publishChange(publishDeps, change.jobId, clicked.user, { pushOnly: true }),
      ),
    ),
    changeActions.discard.route(respond((change, clicked) => discard(deps, change, clicked.user))),
  );

  return {
    name: 'forge',
    tools,
    actions: actionRoutes,
    changeFlow,
    providerFor,
    /** Citation links on each repo's forge, for the agent (its FileLinks port). */
    fileLinks: (repo: RepoConfig) => fileLinkFor(deps.config, repo),
    /** The thread's PR review comments, for "address the review comments" (the agent's RequestBriefing port). */
    briefing: createReviewBriefing({ changes: deps.changes, providerFor }),
    scriptProposer: createScriptProposer(publishDeps, attempt),
    digestPullRequests: {
      listOpenedBetween: async (from: number, to: number, channel?: string) =>
        (await deps.changes.openedBetween(from, to, channel))
          .filter((change) => change.prNumber !== undefined)
          .map((change) => ({
            repo: change.repo,
            number: change.prNumber ?? 0,
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

/**
 * Stages the worktree, runs the checks and the review, stores the change (so a click after
 * a restart still finds it) and composes the thread reply with its buttons.
 */
async function propose(
  deps: ForgeDeps,
  input: ChangeInput & { answer: string },
  requested: { title: string; body: string } | undefined,
  terms: ForgeTerms,
): Promise<{ reply: Reply; ready: boolean }> {
  const { repo, workspace } = input;
  const policy = importPolicy(repo, deps.config.limits.maxFileBytes);
  const first = await workspace.stage(policy);
  if (first.files.length === 0) {
    const left = first.excluded.map((entry) => `\`${entry.path}\` (${entry.reason})`).join(', ');
    const markdown = `${input.answer}\n\n_No files changed${left ? ` apart from ${left}, which I never commit` : ''}, so there is nothing to open a ${terms.request} for._`;
    return { reply: { markdown }, ready: false };
  }
  const limits = deps.config.limits;
  const checking =
    repo.checks.length > 0 ? input.step?.(`Running the checks (${repo.checks.join(', ')})…`) : undefined;
  const checks = await runChecks(repo, workspace, limits.commandTimeoutSeconds * 1000);
  const failed = checks.filter((check) => !check.ok).length;
  if (failed > 0) checking?.failed(`${failed} of ${checks.length} failed`);
  else checking?.done(`${checks.length} passed`);
  // The checks run the repository's code, which may change tracked files: what is reviewed,
  // shown and later committed is the checkout as the checks left it.
  const staged = checks.length > 0 ? await workspace.stage(policy) : first;
  const changedByChecks = staged.tree !== first.tree;
  const reviewing = input.step?.('Reviewing the change…');
  const review = await reviewChange({
    patch: staged.patch,
    files: staged.files,
    model: deps.model,
    scrub: deps.scrub,
    log: deps.log,
  });
  reviewing?.done(review.flags.length > 0 ? `${review.flags.length} to look at` : 'nothing flagged');
  const lines = staged.files.reduce((sum, file) => sum + file.added + file.deleted, 0);
  const tooBig = staged.files.length > limits.maxChangedFiles || lines > limits.maxChangedLines;
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
  await deps.changes.save({
    jobId: input.jobId,
    channel: input.channel,
    threadTs: input.threadTs,
    userId: input.userId,
    repo: repo.name,
    branch: workspace.branch,
    baseCommit: workspace.baseCommit,
    title: requested?.title ?? titleFrom(input.request),
    summary: summary.body,
    labels: review.securityAdjacent ? ['needs-human-review'] : [],
    staged: { parent: staged.parent, tree: staged.tree },
  });
  const existing = await deps.changes.openedInThread(input.channel, input.threadTs);
  const writer = isWriter(deps.config, input.userId);
  const notes = [
    tooBig
      ? `_This is bigger than a small fix (${staged.files.length} files, ${lines} lines; the limit is ${limits.maxChangedFiles} files and ${limits.maxChangedLines} lines), so I will not open a ${terms.request} for it. I can push the branch for you to take over._`
      : '',
    writer ? '' : `_${writersOnlyFor(terms)} Here is the diff to apply yourself._`,
    changedByChecks
      ? `_Running the checks changed files in the checkout; the diff above is the checkout as they left it, and it is what a ${terms.request} would contain._`
      : '',
  ].filter(Boolean);
  const actions = !writer
    ? []
    : tooBig
      ? [changeActions.pushBranch.button(input.jobId, 'Push branch', 'primary')]
      : [
          changeActions.open.button(
            input.jobId,
            existing?.prNumber
              ? `Update ${requestReference(terms, existing.prNumber, true)}`
              : `Open ${terms.short}`,
            'primary',
          ),
        ];
  const reviewUsage = review.usage;
  const reply: Reply = {
    markdown: [summary.markdown, ...notes, takeOverLine(workspace.branch, existing !== undefined)].join(
      '\n\n',
    ),
    // The reviewer's own share of the usage line (its model may be another than the answer's).
    ...(reviewUsage
      ? {
          context: `review by ${reviewUsage.model}: ${reviewUsage.estimated ? '~' : ''}${reviewUsage.promptTokens.toLocaleString('en-US')} in / ${reviewUsage.completionTokens.toLocaleString('en-US')} out tokens`,
        }
      : {}),
    ...(summary.diffFile ? { files: [summary.diffFile] } : {}),
    actions: writer ? [...actions, changeActions.discard.button(input.jobId, 'Discard', 'danger')] : [],
  };
  return {
    reply: requested && writer && !tooBig ? { ...reply, actions: [] } : reply,
    ready: writer && !tooBig,
  };
}

/** Drops the uncommitted change; commits already pushed to the thread's PR stay. Nothing remote is deleted. */
async function discard(deps: ForgeDeps, change: ChangeRecord, userId: string): Promise<string> {
  if (userId !== change.userId && !isWriter(deps.config, userId)) {
    return 'Only the person who asked, or a writer, can discard this change.';
  }
  const repo = await deps.resolveRepo(change.repo);
  if (!repo) return `The repository \`${change.repo}\` is no longer configured.`;
  const workspace = await deps.workspaces.acquire(repo, `${change.channel}-${change.threadTs}`);
  if (workspace.branch !== change.branch) {
    return `The thread's checkout is no longer on \`${change.branch}\`; nothing was discarded.`;
  }
  // The branch moves only when shipmate commits to publish: it is the base commit until then,
  // and what the pull request already holds after. Only uncommitted work goes: the checkout
  // is rebuilt from the branch's head in shipmate's records.
  await workspace.discard();
  await deps.changes.markDiscarded(change.jobId);
  deps.log.info({ jobId: change.jobId, branch: change.branch }, 'change-discarded');
  const published =
    change.state === 'opened' ||
    change.state === 'pushed' ||
    (await deps.changes.openedInThread(change.channel, change.threadTs)) !== undefined;
  return published
    ? 'Discarded: the uncommitted change is gone from this thread’s checkout. What was already pushed stays; nothing remote was deleted.'
    : 'Discarded: the change is gone from this thread’s checkout. Nothing was pushed.';
}

function titleFrom(request: string): string {
  const line = request
    .replace(/\s+/g, ' ')
    .replace(/[,.]?\s*\b(and )?(please )?(open|create|make) (a |the )?(pr|pull request)\b.*$/i, '')
    .trim();
  const title = line.charAt(0).toUpperCase() + line.slice(1);
  if (!title) return 'Change requested in Slack';
  return title.length > 72 ? `${title.slice(0, 71)}…` : title;
}
