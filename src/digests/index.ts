export { createDigestsRoom, type DigestsRoom, type DigestsRoomDeps } from './create-digests-room.js';
export type {
  ChangedScript,
  ChannelHistory,
  ChannelMessage,
  DigestPullRequests,
  DigestScripts,
  OpenedPullRequest,
  PullRequestState,
} from './ports.js';
export { summaryInstructions } from './summarize-conversation.js';
