import type { AgentResult, JobOf } from '../../jobs/job-kinds.js';
import type { JobOutcome, ReplyAction } from '../../jobs/ports.js';
import type { PermissionQuestion } from '../../jobs/tools.js';
import type { ChangeFlow, ChangeInput, PermissionGate } from '../ports.js';
import type { DecoratedAnswer } from './decorate-answer.js';
import type { ResolvedRequest } from './resolve-request.js';
import type { RunResult } from './run-the-agent.js';

export interface OutcomeInput {
  job: JobOf<'agent'>;
  request: ResolvedRequest;
  answer: DecoratedAnswer;
  ran: RunResult;
  change: ChangeInput;
  /** The permission a tool asked for in this run, not answered before. */
  asked: PermissionQuestion | undefined;
  actions: ReplyAction[];
}

/**
 * Step 5: what the job ends as. A permission question parks it; a plan waits for "go";
 * a change request goes through checks, review and the PR buttons; a question is answered.
 */
export async function toOutcome(
  deps: { permissions?: PermissionGate | undefined; changeFlow?: ChangeFlow | undefined },
  input: OutcomeInput,
): Promise<JobOutcome<'agent'>> {
  const { job, request, answer, ran } = input;
  const repo = input.change.repo.name;
  const usage = {
    repo,
    steps: ran.run.steps,
    promptTokens: ran.run.usage.promptTokens,
    completionTokens: ran.run.usage.completionTokens,
    cost: ran.cost ?? null,
  };
  if (input.asked && deps.permissions) return deps.permissions.park(job, input.asked, answer);
  if (request.planning) {
    return {
      reply: {
        markdown: `${answer.markdown}\n\n_This is more than a small fix, so here is a plan first. Reply **go** in this thread and I will start on it, or tell me what to change._`,
        context: answer.context,
        ...(answer.streamed ? { streamed: true } : {}),
      },
      result: { mode: 'plan', plan: answer.markdown, planFor: request.request, ...usage },
      statusText: `Done: a plan for a change to *${repo}*; waiting for "go".`,
    };
  }
  const result: AgentResult = { mode: request.mode, ...usage };
  const statusText = `Done: ${request.mode === 'change' ? 'change request' : 'question'} about *${repo}*.`;
  if (request.mode === 'change' && deps.changeFlow) {
    const reply = await deps.changeFlow.finish({ ...input.change, answer: answer.markdown });
    return {
      reply: {
        ...reply,
        context: [answer.context, reply.context].filter(Boolean).join(' · '),
        actions: [...(reply.actions ?? []), ...input.actions],
      },
      result,
      statusText,
    };
  }
  return {
    reply: {
      markdown: answer.markdown,
      context: answer.context,
      actions: input.actions,
      ...(answer.streamed ? { streamed: true } : {}),
    },
    result,
    statusText,
  };
}
