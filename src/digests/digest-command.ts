import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { CommandOutcome, CommandRoute } from '../jobs/command-job.js';
import type { DigestScheduler, RunResult } from './digest-scheduler.js';
import type { DigestRunRecord, DigestScheduleRecord, DigestStore } from './digest-store.js';
import { formatDateTime } from './format-time.js';
import { link } from './markdown-text.js';
import type { Permalinks } from './ports.js';
import {
  describeSchedule,
  nextRunAfter,
  parseSchedule,
  resolveTimeZone,
  scheduleExamples,
} from './schedule-spec.js';

export interface DigestCommandDeps {
  config: Pick<Config, 'digests'>;
  store: DigestStore;
  scheduler: Pick<DigestScheduler, 'postNow'>;
  permalinks: Permalinks;
  clock: () => number;
}

const shownRuns = 5;

/** `digest`, `digest now`, `digest off`, `digest resume` and `digest <schedule>`. */
export function createDigestCommand(deps: DigestCommandDeps): CommandRoute<'digest'> {
  return async (command, context) => {
    const { channel, userId } = context.job;
    const words = command.args.trim().toLowerCase();
    try {
      if (words === '' || words === 'status' || words === 'show') return await show(deps, channel);
      if (words === 'now') return await postNow(deps, channel);
      if (words === 'off' || words === 'stop') return await turnOff(deps, channel, userId);
      if (words === 'resume' || words === 'on') return await resume(deps, channel, userId);
      return await setSchedule(deps, channel, userId, command.args);
    } catch (error) {
      if (error instanceof AppError && error.userMessage) {
        return { reply: { markdown: error.userMessage }, statusText: 'Not changed.' };
      }
      throw error;
    }
  };
}

async function setSchedule(
  deps: DigestCommandDeps,
  channel: string,
  userId: string,
  args: string,
): Promise<CommandOutcome> {
  const parsed = parseSchedule(args);
  const configured = deps.config.digests.find((digest) => digest.channel === channel)?.timezone;
  const timezone = parsed.timezone ?? resolveTimeZone(configured ?? 'UTC');
  const nextRunAt = nextRunAfter(parsed.cron, timezone, deps.clock());
  const schedule = await deps.store.setFromCommand(
    channel,
    { spec: parsed.spec, cron: parsed.cron, timezone, quietDigest: parsed.quietDigest ?? 'line', nextRunAt },
    userId,
  );
  const quiet =
    schedule.quietDigest === 'skip'
      ? 'Quiet periods are skipped.'
      : 'A quiet period gets one line (add `quiet=skip` to post nothing instead).';
  return {
    reply: {
      markdown: `This channel now gets a digest **${describeSchedule(schedule.spec, timezone)}**. The next one is on ${formatDateTime(nextRunAt, timezone, true)}. ${quiet}\n\`digest now\` posts one right away; \`digest off\` stops them.`,
    },
    statusText: 'Digest scheduled.',
  };
}

async function show(deps: DigestCommandDeps, channel: string): Promise<CommandOutcome> {
  const schedule = await deps.store.get(channel);
  const runs = await deps.store.recentRuns(channel, shownRuns);
  const timezone = schedule?.timezone ?? 'UTC';
  const lines = [scheduleLine(schedule)];
  if (runs.length > 0) {
    lines.push('', '**Last runs**');
    for (const run of runs) lines.push(await runLine(deps, run, timezone));
  } else if (schedule) {
    lines.push('', 'No digest has run here yet.');
  }
  return { reply: { markdown: lines.join('\n') }, statusText: 'Done.' };
}

function scheduleLine(schedule: DigestScheduleRecord | undefined): string {
  if (!schedule) {
    return `This channel has no digest schedule. ${scheduleExamples.replace('Try', 'Set one with')} \`digest now\` posts one right away.`;
  }
  const described = describeSchedule(schedule.spec, schedule.timezone);
  const origin = schedule.source === 'config' ? ' (from the config file)' : '';
  if (schedule.status === 'off')
    return `The digest for this channel is off (it was ${described}). Set a schedule to start it again.`;
  if (schedule.status === 'paused') {
    return `The digest for this channel (**${described}**${origin}) is **paused** after ${schedule.consecutiveFailures} failed runs in a row. Last error: ${schedule.lastError ?? 'unknown'}\nSay \`digest resume\` to start it again.`;
  }
  const retry =
    schedule.consecutiveFailures > 0
      ? ` (a retry after ${schedule.consecutiveFailures} failed ${schedule.consecutiveFailures === 1 ? 'run' : 'runs'})`
      : '';
  return `Digest for this channel: **${described}**${origin}. Next: ${formatDateTime(schedule.nextRunAt, schedule.timezone, true)}${retry}.`;
}

async function runLine(deps: DigestCommandDeps, run: DigestRunRecord, timezone: string): Promise<string> {
  const when = formatDateTime(run.startedAt, timezone);
  const how = run.trigger === 'manual' ? ' (digest now)' : '';
  if (run.status === 'posted') {
    const url = run.messageTs
      ? await deps.permalinks(run.channel, run.messageTs).catch(() => undefined)
      : undefined;
    return `- ${when}${how}: ${link('posted', url)}`;
  }
  if (run.status === 'skipped') return `- ${when}${how}: nothing happened, nothing posted`;
  if (run.status === 'running') return `- ${when}${how}: posting…`;
  return `- ${when}${how}: **failed**: ${(run.error ?? 'unknown error').replace(/\s+/g, ' ').slice(0, 200)}`;
}

async function postNow(deps: DigestCommandDeps, channel: string): Promise<CommandOutcome> {
  const result: RunResult = await deps.scheduler.postNow(channel);
  const timezone = (await deps.store.get(channel))?.timezone ?? 'UTC';
  switch (result.status) {
    case 'posted': {
      const url = result.messageTs
        ? await deps.permalinks(channel, result.messageTs).catch(() => undefined)
        : undefined;
      return {
        reply: {
          markdown: `${link('Posted the digest', url)}, covering the time since ${formatDateTime(result.from, timezone)} (${timezone}).`,
        },
        statusText: 'Digest posted.',
      };
    }
    case 'skipped':
      return {
        reply: {
          markdown: `Nothing happened since ${formatDateTime(result.from, timezone)} (${timezone}), and this channel skips quiet digests, so I posted nothing.`,
        },
        statusText: 'Nothing to post.',
      };
    case 'failed':
      return {
        reply: { markdown: `I could not post the digest: ${result.error}` },
        statusText: 'Digest failed.',
      };
    default:
      return {
        reply: { markdown: 'A digest is being posted for this channel right now.' },
        statusText: 'Done.',
      };
  }
}

async function turnOff(deps: DigestCommandDeps, channel: string, userId: string): Promise<CommandOutcome> {
  const changed = await deps.store.turnOff(channel, userId);
  return {
    reply: {
      markdown: changed
        ? 'The digest for this channel is off. Set a schedule again to turn it back on.'
        : 'This channel has no digest running, so there was nothing to turn off.',
    },
    statusText: 'Done.',
  };
}

async function resume(deps: DigestCommandDeps, channel: string, userId: string): Promise<CommandOutcome> {
  const schedule = await deps.store.get(channel);
  if (!schedule) return { reply: { markdown: `This channel has no digest schedule. ${scheduleExamples}` } };
  if (schedule.status === 'active') {
    return {
      reply: {
        markdown: `The digest is already running: next on ${formatDateTime(schedule.nextRunAt, schedule.timezone, true)}.`,
      },
    };
  }
  const nextRunAt = nextRunAfter(schedule.cron, schedule.timezone, deps.clock());
  await deps.store.resume(channel, nextRunAt, userId);
  return {
    reply: {
      markdown: `The digest (${describeSchedule(schedule.spec, schedule.timezone)}) is running again; the next one is on ${formatDateTime(nextRunAt, schedule.timezone, true)}.`,
    },
    statusText: 'Done.',
  };
}
