import type { Logger } from '../log.js';
import type { JobKind, JobOf, PayloadOf, ResultOf } from './job-kinds.js';

/** Where a job talks: a Slack thread, named without Slack's wire format. */
export interface ThreadRef {
  channel: string;
  threadTs: string;
}

export interface ReplyAction {
  actionId: string;
  label: string;
  value: string;
  style?: 'primary' | 'danger';
}

export interface ReplyFile {
  filename: string;
  title: string;
  content: string;
}

/** A message in a thread, written in standard Markdown; the Slack room decides how to carry it. */
export interface Reply {
  markdown: string;
  /** One small line under the answer (model, steps, tokens, cost, duration). */
  context?: string;
  actions?: ReplyAction[];
  files?: ReplyFile[];
}

/** The one status message a job keeps up to date in its thread. */
export interface StatusView {
  text: string;
  actions?: ReplyAction[];
}

/** One message of the Slack thread, as the agent sees it. */
export interface ThreadMessage {
  ts: string;
  userId: string | undefined;
  name: string;
  kind: 'person' | 'bot' | 'shipmate';
  text: string;
}

/** Reads the conversation so far. Implemented by src/slack/. */
export interface ThreadHistory {
  /** The thread's messages, oldest first; with `after`, only those posted after that ts. */
  fetch(
    channel: string,
    threadTs: string,
    options?: { after?: string | undefined },
  ): Promise<ThreadMessage[]>;
  displayName(userId: string): Promise<string>;
  permalink(channel: string, messageTs: string): Promise<string | undefined>;
}

/** What jobs need to tell a thread. Implemented by src/slack/. */
export interface Notifier {
  acknowledge(channel: string, messageTs: string): Promise<void>;
  postStatus(thread: ThreadRef, view: StatusView): Promise<string | undefined>;
  /** Throttled and coalesced: only the latest view of a message is sent. */
  updateStatus(thread: ThreadRef, statusTs: string, view: StatusView): Promise<void>;
  reply(thread: ThreadRef, reply: Reply): Promise<string | undefined>;
}

export interface JobContext<K extends JobKind = JobKind> {
  job: JobOf<K>;
  signal: AbortSignal;
  log: Logger;
  /** One line for the status message ("Running `npm test`…"). */
  progress(text: string, actions?: ReplyAction[]): void;
}

export interface JobOutcome<K extends JobKind> {
  reply?: Reply;
  /** Stored with the job (usage, mode, plan, …) for digests and follow-ups; checked against the kind's schema. */
  result?: ResultOf<K>;
  /** Final line for the status message; defaults to "Done". */
  statusText?: string;
  /** Wait for a person (permission prompt) without holding a worker slot. */
  park?: { until: number; statusText: string; actions?: ReplyAction[]; payload?: PayloadOf<K> };
}

export type JobHandler<K extends JobKind> = (context: JobContext<K>) => Promise<JobOutcome<K>>;

/** One handler per job kind: a missing kind, or one that does not exist, does not compile. */
export type JobHandlers = { [K in JobKind]: JobHandler<K> };

/** One text input of a modal form. */
export interface ModalField {
  id: string;
  label: string;
  initial: string;
  multiline: boolean;
  optional?: boolean;
}

/** A form described without any Slack wire format; src/slack/ turns it into views.open. */
export interface ModalForm {
  callbackId: string;
  title: string;
  submitLabel?: string;
  fields: ModalField[];
  /** Returned untouched with the submission (IncomingViewSubmission.privateMetadata). */
  privateMetadata: string;
}

/** Opens a modal for the person who clicked. Implemented by src/slack/ (views.open). */
export interface ModalOpener {
  open(triggerId: string, form: ModalForm): Promise<void>;
}
