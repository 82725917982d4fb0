import type { Logger } from '../log.js';
import type { JobKind, JobOf, PayloadOf, ResultOf, ThreadFile } from './job-kinds.js';

export type { ThreadFile } from './job-kinds.js';

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
  /**
   * The Markdown starts with the job's streamed `answer`: where it was streamed, only the
   * rest, the context line and the buttons are added to that message.
   */
  streamed?: boolean;
  /** One small line under the answer (model, steps, tokens, cost, duration). */
  context?: string;
  actions?: ReplyAction[];
  files?: ReplyFile[];
}

/** One step of a job as people see it: reading the code, a command, an edit, the checks, the review. */
export interface TaskCard {
  id: string;
  title: string;
  status: 'pending' | 'in_progress' | 'complete' | 'error';
  /** A short line under the title ("exit 0 · 120 lines", "2 files changed"). */
  detail?: string;
}

/**
 * The one status message a job keeps up to date in its thread, as a whole (the latest view
 * wins). Where Slack streams, `tasks` become task cards, `plan` the plan title and `answer`
 * the streamed text; elsewhere `text` is the status line and the answer is posted at the end.
 */
export interface StatusView {
  text: string;
  actions?: ReplyAction[];
  tasks?: TaskCard[];
  plan?: string;
  /** The answer as it stands so far (raw Markdown, whole, not a delta). */
  answer?: string;
}

/** Who a job works for, so Slack can show its session and stream to them. */
export interface JobAudience {
  userId: string;
  /** The session title: the first words of the request. */
  title: string;
}

/** The state of a job's agent session in Slack: working, answered, waiting for a person. */
export type SessionStatus = 'processing' | 'active' | 'suspended' | 'closed';

/** How a job's status message ends. */
export interface StatusEnding {
  view: StatusView;
  /** The reply; with `streamed`, its Markdown was streamed into the status message as `answer`. */
  reply?: Reply;
  session: SessionStatus;
}

/** One message of the Slack thread, as the agent sees it. */
export interface ThreadMessage {
  ts: string;
  userId: string | undefined;
  name: string;
  kind: 'person' | 'bot' | 'shipmate';
  text: string;
  /** Files shared with the message (people's messages only). */
  files?: ThreadFile[];
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

/** A shared file's bytes, or the one plain sentence that says why not (for the model and the thread). */
export type FileDownload =
  | { ok: true; bytes: Buffer }
  | { ok: false; reason: 'too-large' | 'no-access' | 'refused' | 'failed'; sentence: string };

/** Fetches files shared in a thread, on the host. Implemented by src/slack/ (slack-files.ts). */
export interface ThreadFiles {
  /** At most `maxBytes`, counted as they arrive; never throws for a bad file. */
  download(file: ThreadFile, options: { maxBytes: number; signal: AbortSignal }): Promise<FileDownload>;
}

/** What jobs need to tell a thread. Implemented by src/slack/. */
export interface Notifier {
  acknowledge(channel: string, messageTs: string): Promise<void>;
  postStatus(thread: ThreadRef, view: StatusView, audience?: JobAudience): Promise<string | undefined>;
  /** Throttled and coalesced: only the latest view of a message is sent. */
  updateStatus(thread: ThreadRef, statusTs: string, view: StatusView): Promise<void>;
  reply(thread: ThreadRef, reply: Reply): Promise<string | undefined>;
  /**
   * The status message's last view, then the reply: into the same message where it streams
   * (`reply.streamed`), else as a message of its own. Sets the thread's session status.
   * True when the status message takes no more updates (a stream that ended).
   */
  endStatus(thread: ThreadRef, statusTs: string | undefined, ending: StatusEnding): Promise<boolean>;
  /** The thread's agent session (processing while queued or running); quiet where Slack has none. */
  setSession(thread: ThreadRef, status: SessionStatus): Promise<void>;
}

/** One step a job started; `progress` lines are steps that end when the next one starts. */
export interface StepHandle {
  done(detail?: string): void;
  failed(detail?: string): void;
}

export interface JobContext<K extends JobKind = JobKind> {
  job: JobOf<K>;
  signal: AbortSignal;
  log: Logger;
  /** One line for the status message ("Running `npm test`…"); also a step that ends when the next starts. */
  progress(text: string, actions?: ReplyAction[]): void;
  /** A step that ends when the caller says so (tool calls that run side by side). */
  step?(title: string): StepHandle;
  /** The answer as it stands so far (whole Markdown), streamed where Slack allows. */
  answer?(textSoFar: string): void;
  /** The plan's title for a change request. */
  plan?(title: string): void;
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
