import { z } from 'zod';
import { defineTool } from '../jobs/tools.js';

const schema = z.object({
  title: z
    .string()
    .min(3)
    .max(120)
    .describe('Pull request title: imperative, under 72 characters, e.g. "Fix typo on the pricing page".'),
  body: z
    .string()
    .max(4_000)
    .describe('Why the change is needed and what it does, in Markdown, for the reviewer.'),
});

/**
 * Offered only when the asker explicitly wants a PR and may write. It records the request;
 * after the agent finishes, shipmate stages, runs the checks and review, commits, pushes
 * and opens the PR itself, so the model never touches credentials or git refs.
 */
export function createOpenPullRequestTool(request: (title: string, body: string) => void) {
  return defineTool({
    name: 'open_pull_request',
    description:
      'Call this once, after your edits, when the person explicitly asked for a pull request. shipmate will run the checks, commit, push the branch and open the pull request when you finish.',
    schema,
    progress: ({ title }) => `Preparing pull request “${title}”…`,
    async run({ title, body }) {
      request(title, body);
      return 'Noted. When you finish, shipmate will run the checks, commit the change, push the branch and open the pull request. Now give your final short summary of the change.';
    },
  });
}
