import { composeDigest } from './compose-digest.js';
import type { QuietDigest } from './digest-store.js';
import { type GatherDeps, gatherFacts } from './gather-facts.js';
import type { PostToChannel } from './ports.js';
import { type SummarizeDeps, summarizeConversation } from './summarize-conversation.js';

export interface PublishDeps extends GatherDeps, SummarizeDeps {
  post: PostToChannel;
}

export interface DigestRequest {
  channel: string;
  from: number;
  to: number;
  timezone: string;
  quietDigest: QuietDigest;
}

export type PublishOutcome =
  | { status: 'posted'; messageTs: string | undefined; quiet: boolean }
  | { status: 'skipped' };

/**
 * Gathers the facts (no model), asks the model for a conversation summary only when
 * people talked, composes one message and posts it. Throws when posting fails.
 */
export async function publishDigest(deps: PublishDeps, request: DigestRequest): Promise<PublishOutcome> {
  const started = performance.now();
  const [facts, summary] = await Promise.all([
    gatherFacts(deps, request.channel, request.from, request.to),
    summarizeConversation(deps, request.channel, request.from, request.to),
  ]);
  const digest = composeDigest(facts, summary, request);
  if (digest.kind === 'skip') {
    deps.log.info({ channel: request.channel }, 'digest-skipped-quiet');
    return { status: 'skipped' };
  }
  const messageTs = await deps.post(request.channel, digest.markdown);
  deps.log.info(
    {
      channel: request.channel,
      messageTs,
      quiet: digest.kind === 'quiet-line',
      summary: summary.status,
      length: digest.markdown.length,
      durationMs: Math.round(performance.now() - started),
    },
    'digest-posted',
  );
  return { status: 'posted', messageTs, quiet: digest.kind === 'quiet-line' };
}
