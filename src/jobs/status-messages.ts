import type { Logger } from '../log.js';
import type { DatabaseOutage } from './database-outage.js';
import { cancelButton, retryButton } from './job-buttons.js';
import type { JobColumns, StoredJob } from './job-kinds.js';
import type { JobQueue } from './job-queue.js';
import { LiveView } from './live-view.js';
import type { JobAudience, Notifier, Reply, SessionStatus, StatusView, ThreadRef } from './ports.js';

export const startText = 'Looking into it…';

export interface StatusMessagesOptions {
  queue: JobQueue;
  notifier: Notifier;
  log: Logger;
  outage: DatabaseOutage;
  /** Whether every worker slot of this process is taken (then a new job hears its place in line). */
  slotsFull: () => boolean;
}

/**
 * What the thread sees of its jobs: the 👀 and the status message with Cancel, kept up to date
 * while a job works, and its ending. The status message's ts lives in the job's row, so the
 * process that runs a job continues the message the process that took it posted.
 */
export class StatusMessages {
  private readonly announcing = new Map<string, Promise<void>>();
  private readonly announcedText = new Map<string, string>();
  /** What each job in this process shows while it works (task cards, plan, answer so far). */
  private readonly live = new Map<string, LiveView>();

  constructor(private readonly options: StatusMessagesOptions) {}

  /** Tells the thread the job is queued; when done (or given up on), any process may start it. */
  announce(job: StoredJob): void {
    const announced = this.post(job).finally(() => this.announcing.delete(job.id));
    this.announcing.set(job.id, announced);
  }

  /** Settles once this process's announcement of the job, if it made one, is out. */
  async announced(jobId: string): Promise<void> {
    await this.announcing.get(jobId);
  }

  /** The text this process announced the job with (once: the run takes it over). */
  takeAnnouncedText(jobId: string): string | undefined {
    const text = this.announcedText.get(jobId);
    this.announcedText.delete(jobId);
    return text;
  }

  liveOf(job: JobColumns): LiveView {
    let live = this.live.get(job.id);
    if (!live) {
      live = new LiveView(startText);
      this.live.set(job.id, live);
    }
    return live;
  }

  forget(jobId: string): void {
    this.live.delete(jobId);
  }

  /** A new status message for a job that has none (it waited for a person, or its post failed). */
  async postFresh(job: StoredJob): Promise<void> {
    const view = withCancel(this.liveOf(job).view(), job.id);
    const ts = await this.safely(() => this.options.notifier.postStatus(thread(job), view, audienceOf(job)));
    if (ts) await this.safely(() => this.options.queue.setStatusTs(job.id, ts));
  }

  /** The latest view with its Cancel button; not awaited by callers (updates are rate limited). */
  show(job: JobColumns): void {
    void this.safely(() => this.update(job, withCancel(this.liveOf(job).view(), job.id)));
  }

  async update(job: JobColumns, view: StatusView): Promise<void> {
    const statusTs = (await this.options.queue.get(job.id))?.statusTs ?? job.statusTs;
    if (!statusTs) return;
    await this.options.notifier.updateStatus(thread(job), statusTs, view);
  }

  /**
   * The status message's last view and the reply, and the session leaves `processing`. A
   * streamed status message takes no more updates after this: a job that waits for a person
   * gets a new one when it continues.
   */
  async end(
    job: JobColumns,
    live: LiveView,
    last: { text: string; actions: StatusView['actions'] },
    reply: Reply | undefined,
    session: SessionStatus,
  ): Promise<void> {
    const { queue } = this.options;
    const statusTs = (await queue.get(job.id))?.statusTs ?? job.statusTs;
    const view = live.view(last);
    // A waiting job may be answered while its ending is still being sent: it must find no
    // status message to continue in, or it would write into the stream being ended.
    if (session === 'suspended' && statusTs) await queue.setStatusTs(job.id, '');
    const ended = await this.options.notifier.endStatus(thread(job), statusTs || undefined, {
      view,
      ...(reply ? { reply } : {}),
      session,
    });
    // Where it did not stream, the status message goes on as before (unless a new one was posted).
    if (!ended && session === 'suspended' && statusTs && !(await queue.get(job.id))?.statusTs)
      await queue.setStatusTs(job.id, statusTs);
  }

  async reply(job: JobColumns, reply: Reply): Promise<void> {
    await this.safely(() => this.options.notifier.reply(thread(job), reply));
  }

  async reportInterrupted(job: StoredJob): Promise<void> {
    await this.reply(job, {
      markdown:
        'shipmate was restarted while working on this and could not finish it. Press **Retry** or mention me again.',
      actions: [retryButton(job.id)],
    });
    void this.safely(() => this.update(job, { text: 'Interrupted.' }));
  }

  /** Slack being down must never take a job's state machine with it; the failure is logged. */
  async safely<T>(action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.options.log.warn({ err: error }, 'notify-failed');
      return undefined;
    }
  }

  private async post(job: StoredJob): Promise<void> {
    const { queue, notifier, log } = this.options;
    let ts: string | undefined;
    try {
      await this.safely(() => notifier.acknowledge(job.channel, job.messageTs));
      const text = await this.queuedText(job);
      this.announcedText.set(job.id, text);
      const live = new LiveView(text, text === startText ? 'in_progress' : 'pending');
      this.live.set(job.id, live);
      const view = withCancel(live.view(), job.id);
      ts = await this.safely(() => notifier.postStatus(thread(job), view, audienceOf(job)));
    } catch (error) {
      log.warn({ err: error, jobId: job.id }, 'job-announce-failed');
    }
    // Posted, or not (Slack or the database away): either way the job may start now.
    await this.options.outage
      .persist(() => queue.announced(job.id, ts))
      .catch((error: unknown) => log.warn({ err: error, jobId: job.id }, 'job-announce-failed'));
  }

  private async queuedText(job: StoredJob): Promise<string> {
    const { queue } = this.options;
    const ahead = await queue.positionOf(job.id);
    const threadBusy = (await queue.inThread(job.channel, job.threadTs)).some(
      (other) => other.id !== job.id && (other.status === 'running' || other.status === 'waiting'),
    );
    if (threadBusy)
      return 'Got it. I will pick this up as soon as I finish the current request in this thread.';
    if (ahead > 0 && this.options.slotsFull())
      return `Queued: ${ahead} ${ahead === 1 ? 'request' : 'requests'} ahead of you.`;
    return startText;
  }
}

function withCancel(view: StatusView, jobId: string): StatusView {
  return { ...view, actions: [...(view.actions ?? []), cancelButton(jobId)] };
}

/** The asker, and the session's title: the start of what they asked. */
function audienceOf(job: StoredJob): JobAudience {
  const text = 'payload' in job && job.payload && 'text' in job.payload ? String(job.payload.text ?? '') : '';
  const title = text
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return { userId: job.userId, title: title.length > 80 ? `${title.slice(0, 79)}…` : title || 'shipmate' };
}

export function thread(job: JobColumns): ThreadRef {
  return { channel: job.channel, threadTs: job.threadTs };
}
