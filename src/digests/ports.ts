/**
 * What the digests room needs from the rest of the app. Each port is implemented
 * elsewhere (slack/, forge/, scripts/) and passed in by main.ts; the optional ones may be
 * missing, and the digest then leaves their section out.
 */

/** One top-level message of a channel, as a digest sees it. */
export interface ChannelMessage {
  ts: string;
  userId: string | undefined;
  name: string;
  kind: 'person' | 'bot' | 'shipmate';
  text: string;
}

/** Whether shipmate is in a channel, after joining it where it can. */
export type ChannelMembership =
  | { status: 'member' }
  | { status: 'joined' }
  /** A private channel, or a join that was refused: a person must invite shipmate. */
  | { status: 'needs-invite'; reason: string }
  /** Could not tell (Slack down, rate limited); the digest goes ahead and may still fail. */
  | { status: 'unknown'; reason: string };

/** Reads a channel's conversation in a period (conversations.history). Implemented by src/slack/. */
export interface ChannelHistory {
  /** Messages with from <= ts < to (ms since the epoch), oldest first. */
  messagesBetween(channel: string, from: number, to: number): Promise<ChannelMessage[]>;
  /**
   * Makes shipmate a member of the channel: joins a public one it is not in. Reading a channel
   * and posting to it both need membership. Absent when the implementation cannot tell.
   */
  ensureMember?(channel: string): Promise<ChannelMembership>;
}

export type PullRequestState = 'open' | 'draft' | 'merged' | 'closed';

export interface OpenedPullRequest {
  /** The repository's name in the config (or owner/name); passed back to `state`. */
  repo: string;
  number: number;
  title: string;
  url: string;
}

/** Pull requests shipmate opened. Implemented by src/forge/. */
export interface DigestPullRequests {
  listOpenedBetween(from: number, to: number, channel?: string): Promise<OpenedPullRequest[]>;
  /** The state now, asked of the code host. */
  state(repo: string, number: number): Promise<PullRequestState>;
}

export interface ChangedScript {
  name: string;
  change: 'added' | 'changed' | 'deleted';
  /** Slack user id of whoever saved it, when known. */
  by?: string;
}

/** Team scripts saved or changed. Implemented by src/scripts/. */
export interface DigestScripts {
  changedBetween(from: number, to: number): Promise<ChangedScript[]>;
}

/** Posts a channel message (not in a thread) written in Markdown; returns its ts. */
export type PostToChannel = (channel: string, markdown: string) => Promise<string | undefined>;

/** A link to a message (chat.getPermalink). */
export type Permalinks = (channel: string, ts: string) => Promise<string | undefined>;

/** One model call without tools; may throw when the model is down. */
export type Summarize = (text: string) => Promise<string>;

/** The git dir of a repository's bare mirror (fetched fresh if the caller likes), or undefined. */
export type MirrorPathFor = (repoName: string) => string | undefined | Promise<string | undefined>;
