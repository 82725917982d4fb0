import type { ReplyFile } from '../jobs/ports.js';
import type { ChangedFile } from './git-commands.js';
import type { ReviewResult } from './review-change.js';
import type { CheckResult } from './run-checks.js';

const inlineDiffLimit = 2_500;

/** The thread summary and the PR body: what changed and why, files, checks, review notes, the diff. */
export function composeSummary(input: {
  answer: string;
  files: ChangedFile[];
  excluded: Array<{ path: string; reason: string }>;
  checks: CheckResult[];
  review: ReviewResult;
  requestedBody?: string | undefined;
  patch?: string;
}): { markdown: string; body: string; diffFile?: ReplyFile } {
  const added = input.files.reduce((sum, file) => sum + file.added, 0);
  const deleted = input.files.reduce((sum, file) => sum + file.deleted, 0);
  const files = [
    `**Changes** (${input.files.length} ${input.files.length === 1 ? 'file' : 'files'}, +${added} −${deleted})`,
    ...input.files.map((file) => `- \`${file.path}\` +${file.added} −${file.deleted}`),
    ...(input.excluded.length > 0
      ? [
          `- Left out of the commit: ${input.excluded.map((entry) => `\`${entry.path}\` (${entry.reason})`).join(', ')}`,
        ]
      : []),
  ].join('\n');
  const checks =
    input.checks.length === 0
      ? '**Checks**: none are configured for this repository, so nothing was run.'
      : [
          '**Checks**',
          ...input.checks.map((check) =>
            check.ok
              ? `- ✅ \`${check.command}\` passed`
              : `- ❌ \`${check.command}\` ${check.timedOut ? 'timed out' : `failed (exit ${check.exitCode ?? 'killed'})`}\n\`\`\`\n${check.tail.slice(-800)}\n\`\`\``,
          ),
        ].join('\n');
  const review =
    input.review.flags.length > 0
      ? ['**Review notes**', ...input.review.flags.map((flag) => `- ⚠️ ${flag}`)].join('\n')
      : `**Review notes**: nothing flagged${input.review.modelReviewed ? '' : ' by the automatic checks (the model review did not run)'}.`;
  const intro = input.requestedBody ? `${input.answer}\n\n${input.requestedBody}` : input.answer;
  const body = [intro, files, checks, review].join('\n\n');
  return { markdown: body, body };
}

/** Adds the diff inline when short, otherwise as a file. */
export function withDiff(
  summary: { markdown: string; body: string },
  patch: string,
): { markdown: string; body: string; diffFile?: ReplyFile } {
  if (patch.length <= inlineDiffLimit) {
    // A fence longer than any backtick run in the patch, so a ``` line in a changed README
    // cannot close it early and turn the rest of the diff into Markdown.
    const longest = Math.max(2, ...[...patch.matchAll(/`+/g)].map((run) => run[0].length));
    const fence = '`'.repeat(longest + 1);
    return { ...summary, markdown: `${summary.markdown}\n\n${fence}diff\n${patch.trimEnd()}\n${fence}` };
  }
  return {
    ...summary,
    markdown: `${summary.markdown}\n\n_The diff (${patch.split('\n').length} lines) is attached as \`change.diff\`._`,
    diffFile: { filename: 'change.diff', title: 'The diff', content: patch },
  };
}

export function takeOverLine(branch: string, pushed: boolean): string {
  const command = `git fetch origin ${branch} && git switch ${branch}`;
  return pushed
    ? `To take it over locally: \`${command}\``
    : `To take it over locally once the branch is pushed (Open PR or Push branch): \`${command}\``;
}
