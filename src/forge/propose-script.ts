import type { RepoConfig } from '../config.js';
import type { Reply, ThreadRef } from '../jobs/ports.js';
import { importPolicy } from './git-commands.js';
import { type PublishDeps, publishChange } from './publish-change.js';

/** The script as the scripts room hands it over (its ScriptProposer port). */
type Proposal = { name: string; description: string; file: { path: string; content: string } };

/**
 * `@shipmate propose script <name>`: the script's file goes into the thread's checkout and
 * through the same publish path as any change (writers only, one PR per thread).
 */
export function createScriptProposer(
  deps: PublishDeps,
  attempt: (jobId: string, work: () => Promise<string>) => Promise<string>,
) {
  return {
    async propose(
      repo: RepoConfig & { defaultBranch: string },
      script: Proposal,
      userId: string,
      thread: ThreadRef,
    ): Promise<Reply> {
      const workspace = await deps.workspaces.acquire(
        repo,
        `${thread.channel}-${thread.threadTs}`,
        `add script ${script.name}`,
      );
      await workspace.writeFile(script.file.path, script.file.content);
      // Only the script's file, built on the host from what the library holds: anything else
      // left in the checkout (a question's shell writes, an unclicked summary) stays out.
      const staged = await workspace.stageFiles(
        [script.file],
        importPolicy(repo, deps.config.limits.maxFileBytes),
      );
      const jobId = `script-${script.name}-${Date.now().toString(36)}`;
      await deps.changes.save({
        jobId,
        channel: thread.channel,
        threadTs: thread.threadTs,
        userId,
        repo: repo.name,
        branch: workspace.branch,
        baseCommit: workspace.baseCommit,
        title: `Add team script ${script.name}`,
        summary: `Adds the shipmate team script \`${script.name}\` as \`${script.file.path}\` so it can be reviewed like code.\n\n${script.description}`,
        labels: [],
        staged: { parent: staged.parent, tree: staged.tree },
      });
      return { markdown: await attempt(jobId, () => publishChange(deps, jobId, userId)) };
    },
  };
}
