import type { JobQueue } from '../jobs/job-queue.js';
import type { Notifier, ThreadRef } from '../jobs/ports.js';
import type { ThreadStore } from '../jobs/thread-store.js';
import { describeCancel, type WorkerPool } from '../jobs/worker-pool.js';
import type { Logger } from '../log.js';
import { type CommandWord, helpText, parseCommandWord } from './command-words.js';
import type { IncomingMessage } from './types.js';

export interface MessageHandlerDeps {
  queue: JobQueue;
  pool: WorkerPool;
  threads: ThreadStore;
  notifier: Notifier;
  log: Logger;
  botUserId: () => string | undefined;
}

/**
 * Mentions, DMs and replies in followed threads. Runs before the ack, so it only decides,
 * persists and hands off; anything that talks to Slack runs after. The returned promise
 * settles once the message is stored: the edge acks only then. When storing fails it rejects
 * (after logging), so the ack is not sent and Slack delivers the message again.
 */
export function createMessageHandler(deps: MessageHandlerDeps): (message: IncomingMessage) => Promise<void> {
  return async (message) => {
    try {
      await take(deps, message);
    } catch (error) {
      deps.log.error({ err: error, channel: message.channel, ts: message.ts }, 'message-not-stored');
      throw error;
    }
  };
}

async function take(deps: MessageHandlerDeps, message: IncomingMessage): Promise<void> {
  const threadTs = message.threadTs ?? message.ts;
  if (!(await shouldTake(deps, message, threadTs))) return;
  const text = message.text;
  const command = parseCommandWord(text);
  // The thread before the ledger: touching it twice is harmless, so when a later write fails
  // the delivery Slack sends again still finds the message new.
  await deps.threads.touch(message.channel, threadTs);
  if (command && isInline(command)) {
    if (!(await deps.queue.markSeen(message.channel, message.ts))) return;
    later(deps, () => runInline(deps, command, message, threadTs));
    return;
  }
  const where = { channel: message.channel, threadTs, messageTs: message.ts, userId: message.user };
  const job = command
    ? await deps.queue.enqueueForMessage({
        kind: 'command',
        ...where,
        payload: { text, channelType: message.channelType, command },
      })
    : await deps.queue.enqueueForMessage({
        kind: 'agent',
        ...where,
        payload: {
          text,
          channelType: message.channelType,
          ...(message.files?.length ? { files: message.files } : {}),
        },
      });
  if (!job) {
    deps.log.debug({ channel: message.channel, ts: message.ts }, 'message-duplicate');
    return;
  }
  deps.log.info({ jobId: job.id, channel: job.channel, threadTs, kind: job.kind }, 'job-queued');
  deps.pool.submit(job);
}

async function shouldTake(
  deps: MessageHandlerDeps,
  message: IncomingMessage,
  threadTs: string,
): Promise<boolean> {
  if (message.channelType === 'im' || message.mentioned) return true;
  if (!message.threadTs) return false;
  const thread = await deps.threads.get(message.channel, threadTs);
  return thread !== undefined && !thread.quiet;
}

function isInline(command: CommandWord): boolean {
  return ['quiet', 'unquiet', 'help', 'cancel'].includes(command.name);
}

async function runInline(
  deps: MessageHandlerDeps,
  command: CommandWord,
  message: IncomingMessage,
  threadTs: string,
): Promise<void> {
  const thread = { channel: message.channel, threadTs };
  switch (command.name) {
    case 'quiet':
      await deps.threads.setQuiet(message.channel, threadTs, true);
      await deps.notifier.reply(thread, {
        markdown: 'OK, I will only answer in this thread when someone mentions me. Say `resume` to undo.',
      });
      return;
    case 'unquiet':
      await deps.threads.setQuiet(message.channel, threadTs, false);
      await deps.notifier.reply(thread, { markdown: 'OK, I am following this thread again.' });
      return;
    case 'cancel':
      await cancelThread(deps, thread);
      return;
    default:
      await deps.notifier.reply(thread, { markdown: helpText });
  }
}

/** `cancel`, and Slack's native Stop: every job of the thread that has not finished stops. */
async function cancelThread(
  deps: Pick<MessageHandlerDeps, 'queue' | 'pool' | 'notifier'>,
  thread: ThreadRef,
): Promise<void> {
  const active = (await deps.queue.inThread(thread.channel, thread.threadTs)).filter((job) =>
    ['queued', 'running', 'waiting'].includes(job.status),
  );
  const outcomes: string[] = [];
  for (const job of active) outcomes.push(describeCancel(await deps.pool.cancel(job.id)));
  await deps.notifier.reply(thread, {
    markdown: outcomes.length > 0 ? outcomes.join(' ') : 'Nothing is running in this thread.',
  });
}

/**
 * The native Stop of an agent session (`agent_session_stopped`): the same as `cancel`. Slack
 * stops the streams itself but leaves the session's status to the app
 * (https://docs.slack.dev/reference/events/agent_session_stopped); the cancelled job's ending
 * moves it out of `processing`, and so does this when nothing was running.
 */
export function createStopHandler(
  deps: Pick<MessageHandlerDeps, 'queue' | 'pool' | 'notifier' | 'log'>,
): (stop: { channel: string; threadTs: string; userId: string }) => void {
  return (stop) => {
    const thread = { channel: stop.channel, threadTs: stop.threadTs };
    deps.log.info({ channel: stop.channel, threadTs: stop.threadTs, userId: stop.userId }, 'session-stopped');
    void (async () => {
      try {
        await cancelThread(deps, thread);
        await deps.notifier.setSession(thread, 'active');
      } catch (error) {
        deps.log.warn({ err: error }, 'session-stop-failed');
      }
    })();
  };
}

/** Defers work until after the ack; a failure is logged, never thrown into Bolt. */
function later(deps: MessageHandlerDeps, work: () => Promise<void>): void {
  setImmediate(() => {
    work().catch((error: unknown) => deps.log.error({ err: error }, 'inline-command-failed'));
  });
}
