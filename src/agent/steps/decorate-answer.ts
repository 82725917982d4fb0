import { linkCitations } from '../citations.js';
import type { FileLink, ResolvedRepo } from '../ports.js';
import type { AgentRun } from '../run-agent.js';

export interface DecoratedAnswer {
  markdown: string;
  /** The Markdown begins with what streamed into the thread while the model wrote it. */
  streamed: boolean;
  /** The small line under the answer: model, steps, tokens, cost, duration. */
  context: string;
}

const budgetName = { steps: 'step budget', time: 'time budget', tokens: 'token budget' } as const;

/**
 * Step 4: the model's text as the thread sees it. Says when a budget cut it short and what
 * the sandbox blocked, turns file:line citations into links at the commit it read, and
 * adds the usage line.
 */
export function decorateAnswer(input: {
  run: Pick<AgentRun, 'answer' | 'stoppedBy' | 'steps' | 'usage'> & Partial<Pick<AgentRun, 'said'>>;
  /** The answer streamed as it was written: the reply is all the model said, as people saw it. */
  streamed?: boolean;
  blocked: readonly string[];
  repo: ResolvedRepo;
  commit: string;
  /** The forge's file links (the FileLinks port); none for plain git. */
  link?: FileLink | undefined;
  /** @deprecated the GitHub web URL older callers pass; `link` replaces it. */
  webUrl?: string;
  model: string;
  cost: number | undefined;
  durationMs: number;
}): DecoratedAnswer {
  const { run } = input;
  const streamed = Boolean(input.streamed && run.said?.trim());
  let answer = (streamed ? run.said : run.answer)?.trim() || '_The model returned an empty answer._';
  if (run.stoppedBy)
    answer += `\n\n_I stopped early because the ${budgetName[run.stoppedBy]} ran out; this is what I found so far._`;
  // Citations are the model's; the note below is shipmate's (a blocked `host:443` is no file).
  answer = linkCitations(answer, {
    commit: input.commit,
    link: input.link,
    repo: input.repo,
    ...(input.webUrl ? { webUrl: input.webUrl } : {}),
  });
  if (input.blocked.length > 0) answer += `\n\n${blockedNote(input.blocked, input.repo.name)}`;
  return { markdown: answer, streamed, context: usageLine(input.model, run, input.cost, input.durationMs) };
}

/** What the sandbox refused, and the one safe way to allow it: the config file, never a message. */
export function blockedNote(sentences: readonly string[], repo: string): string {
  const list = sentences
    .slice(0, 5)
    .map((sentence) => `- ${sentence}`)
    .join('\n');
  return `_The sandbox blocked ${sentences.length === 1 ? 'a command' : 'some commands'} while I worked:_\n${list}\n_If that access is needed, a maintainer can allow the domain for *${repo}* with \`allowedDomains\` in the shipmate config (see \`@shipmate permissions\`); writes outside the checkout are never allowed._`;
}

export function usageLine(
  model: string,
  run: { steps: number; usage: { promptTokens: number; completionTokens: number; estimated?: boolean } },
  cost: number | undefined,
  durationMs: number,
): string {
  // "~" and "(estimated)": the server reported no usage, so shipmate counted (see model/tokens.ts).
  const about = run.usage.estimated ? '~' : '';
  const tokens = `${about}${run.usage.promptTokens.toLocaleString('en-US')} in / ${about}${run.usage.completionTokens.toLocaleString('en-US')} out`;
  const money = cost === undefined ? '' : ` · ~$${cost.toFixed(cost < 0.01 ? 4 : 2)}`;
  return `${model} · ${run.steps} ${run.steps === 1 ? 'step' : 'steps'} · ${tokens} tokens${run.usage.estimated ? ' (estimated)' : ''}${money} · ${(durationMs / 1000).toFixed(1)} s`;
}

/**
 * @deprecated The job links citations through the FileLinks port (src/forge/forge-of.ts
 * `webBaseUrl`); kept for older callers and their tests. Remove with them.
 */
export function githubWebUrl(apiUrl: string | undefined): string {
  if (!apiUrl || /api\.github\.com/.test(apiUrl)) return 'https://github.com';
  return apiUrl.replace(/\/api\/v3\/?$/, '').replace(/\/$/, '');
}
