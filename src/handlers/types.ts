import type { IncomingAction, IncomingViewSubmission } from '../jobs/actions.js';
import type { ThreadFile } from '../jobs/job-kinds.js';

/** A Slack message, reduced by src/slack/ to what the handlers need. */
export interface IncomingMessage {
  channel: string;
  ts: string;
  /** Set when the message is a reply inside a thread. */
  threadTs: string | undefined;
  user: string;
  text: string;
  /** 'im' for a direct message to the bot. */
  channelType: 'channel' | 'group' | 'im' | 'mpim';
  /** The message mentions the bot (app_mention, or a mention of the bot in the text). */
  mentioned: boolean;
  /** Files shared with the message (`file_share`). */
  files?: ThreadFile[];
}

/** A button click and a modal submission; defined next to the codecs that read their values. */
export type { IncomingAction, IncomingViewSubmission } from '../jobs/actions.js';

/** What the Slack edge calls; each call must return quickly (it runs before the ack). */
export interface InboundHandlers {
  /**
   * Settles once the message is stored (or found to need nothing): ack after it. A rejection
   * means it was not stored: do not ack, so Slack delivers it again.
   */
  onMessage(message: IncomingMessage): Promise<void>;
  onAction(action: IncomingAction): void;
  onViewSubmission?(submission: IncomingViewSubmission): void;
  /** Someone pressed the native Stop of the thread's agent session. */
  onSessionStopped?(stop: { channel: string; threadTs: string; userId: string }): void;
}
