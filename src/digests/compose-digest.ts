import type { QuietDigest } from './digest-store.js';
import { formatDateTime, formatDay } from './format-time.js';
import type { DigestFacts } from './gather-facts.js';
import { capList, escapeMarkdown, inlineText, link, modelText, plural } from './markdown-text.js';
import { authorsOf, notableSubjects } from './repo-commits.js';
import type { ConversationSummary } from './summarize-conversation.js';

/** Slack's limit for one `markdown` block; a digest is always one message. */
export const digestLimit = 12_000;

export interface ComposeOptions {
  timezone: string;
  quietDigest: QuietDigest;
}

export type ComposedDigest =
  | { kind: 'full'; markdown: string }
  | { kind: 'quiet-line'; markdown: string }
  /** Quiet period with quietDigest 'skip': post nothing. */
  | { kind: 'skip' };

const itemCaps = [10, 5, 3, 1];

/** Turns facts and the (optional) summary into one Markdown message under Slack's limit. Pure. */
export function composeDigest(
  facts: DigestFacts,
  summary: ConversationSummary,
  options: ComposeOptions,
): ComposedDigest {
  if (isQuiet(facts, summary)) {
    if (options.quietDigest === 'skip') return { kind: 'skip' };
    return { kind: 'quiet-line', markdown: quietLine(facts, options.timezone) };
  }
  for (const cap of itemCaps) {
    const markdown = render(facts, summary, options.timezone, cap);
    if (markdown.length <= digestLimit) return { kind: 'full', markdown };
  }
  const markdown = render(facts, summary, options.timezone, 1);
  return {
    kind: 'full',
    markdown: `${markdown.slice(0, digestLimit - 20).replace(/\n[^\n]*$/, '')}\n…(cut)`,
  };
}

export function isQuiet(facts: DigestFacts, summary: ConversationSummary): boolean {
  return (
    facts.questions.length === 0 &&
    (facts.pullRequests ?? []).length === 0 &&
    (facts.scripts ?? []).length === 0 &&
    facts.commits.every((repo) => repo.commits.length === 0) &&
    facts.failedJobs.length === 0 &&
    facts.problems.length === 0 &&
    summary.status === 'none'
  );
}

function quietLine(facts: DigestFacts, timezone: string): string {
  return `**Digest for ${formatDay(facts.to, timezone)}**: a quiet period. No questions, pull requests, script changes, commits or failed jobs since ${formatDateTime(facts.from, timezone)} (${timezone}).`;
}

function render(facts: DigestFacts, summary: ConversationSummary, timezone: string, cap: number): string {
  const sections = [
    `## Digest for ${formatDay(facts.to, timezone)}`,
    `_What happened here since ${formatDateTime(facts.from, timezone)} (${timezone})._`,
    questionsSection(facts, cap),
    pullRequestsSection(facts, cap),
    scriptsSection(facts, cap),
    ...facts.commits.map((repo) => commitsSection(repo, cap)),
    failedJobsSection(facts, cap),
    problemsSection(facts),
    summarySection(summary),
  ];
  return sections.filter((section): section is string => Boolean(section)).join('\n\n');
}

function questionsSection(facts: DigestFacts, cap: number): string | undefined {
  if (facts.questions.length === 0) return undefined;
  const lines = facts.questions.map((thread) => {
    const answers = thread.answers > 1 ? ` · ${thread.answers} answers` : '';
    return `- ${link(inlineText(thread.question), thread.link)}${answers}`;
  });
  return [`**Questions answered (${facts.questions.length})**`, ...capList(lines, cap)].join('\n');
}

function pullRequestsSection(facts: DigestFacts, cap: number): string | undefined {
  const pullRequests = facts.pullRequests ?? [];
  if (pullRequests.length === 0) return undefined;
  const merged = pullRequests.filter((pr) => pr.state === 'merged').length;
  const lines = pullRequests.map(
    (pr) =>
      `- ${link(`${escapeMarkdown(pr.repo)}#${pr.number} ${inlineText(pr.title, 100)}`, pr.url)} · ${pr.state === 'unknown' ? 'state unknown' : pr.state}`,
  );
  return [`**Pull requests opened (${pullRequests.length}, ${merged} merged)**`, ...capList(lines, cap)].join(
    '\n',
  );
}

function scriptsSection(facts: DigestFacts, cap: number): string | undefined {
  const scripts = facts.scripts ?? [];
  if (scripts.length === 0) return undefined;
  const lines = scripts.map((script) => `- \`${script.name.replace(/`/g, '')}\` ${script.change}`);
  return [`**Team scripts (${scripts.length})**`, ...capList(lines, cap)].join('\n');
}

function commitsSection(repo: DigestFacts['commits'][number], cap: number): string | undefined {
  if (repo.commits.length === 0) return undefined;
  const authors = authorsOf(repo.commits);
  const heading = `**Commits on ${escapeMarkdown(repo.branch)} in ${escapeMarkdown(repo.repo)}: ${repo.commits.length} by ${plural(authors.length, 'author')}**`;
  const shownAuthors = authors
    .slice(0, 8)
    .map((author) => `${inlineText(author.name, 40)} (${author.count})`);
  const authorLine = `${shownAuthors.join(', ')}${authors.length > 8 ? `, and ${authors.length - 8} more` : ''}`;
  const subjects = notableSubjects(repo.commits).map((subject) => `- ${inlineText(subject)}`);
  return [heading, authorLine, ...capList(subjects, cap)].join('\n');
}

function failedJobsSection(facts: DigestFacts, cap: number): string | undefined {
  if (facts.failedJobs.length === 0) return undefined;
  const lines = facts.failedJobs.map((job) => {
    const reason = [
      job.code ? `\`${job.code}\`` : 'failed',
      job.referenceId ? `(ref ${job.referenceId})` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return `- ${link(inlineText(job.request, 100), job.link)} · ${reason}`;
  });
  return [`**Jobs that failed (${facts.failedJobs.length})**`, ...capList(lines, cap)].join('\n');
}

function problemsSection(facts: DigestFacts): string | undefined {
  if (facts.problems.length === 0) return undefined;
  return `_I could not read: ${facts.problems.map((problem) => inlineText(problem, 200)).join('; ')}._`;
}

function summarySection(summary: ConversationSummary): string | undefined {
  if (summary.status === 'none') return undefined;
  if (summary.status === 'unavailable') {
    const count = summary.messageCount === undefined ? '' : ` (${plural(summary.messageCount, 'message')})`;
    return `**Conversation**${count}\n_No generated summary this time: the model or the channel history did not answer. The sections above are complete._`;
  }
  return [
    `**Conversation summary** _(generated by the model from ${plural(summary.messageCount, 'message')}; it may be wrong)_`,
    modelText(summary.text, 2_000),
  ].join('\n');
}
