import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/**
 * OAuth scopes as Slack checks them. A call whose token lacks the method's scope answers
 * `{ ok: false, error: 'missing_scope', needed, provided }` (the `needed`/`provided` fields of
 * every @slack/web-api response type, e.g.
 * https://docs.slack.dev/tools/node-slack-sdk/reference/web-api/type-aliases/ChatPostMessageResponse),
 * and every answer carries the token's scopes in the `x-oauth-scopes` header (what
 * @slack/web-api reads into `response_metadata.scopes`) and the method's in `x-accepted-oauth-scopes`.
 */

export type ChannelKind = 'public' | 'private' | 'im' | 'mpim';

/** The bot scope one method needs: fixed, or by the kind of conversation it names. */
export type ScopeRule = string | ((kind: ChannelKind | undefined) => string | undefined);

const byConversation =
  (scopes: Record<ChannelKind, string>): ScopeRule =>
  (kind) =>
    kind ? scopes[kind] : undefined;

/** The methods' "Scopes — Bot token" line on their reference pages (docs.slack.dev/reference/methods/…). */
export const METHOD_SCOPES: Readonly<Record<string, ScopeRule>> = {
  // chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.startStream/appendStream/stopStream: chat:write
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.startStream': 'chat:write',
  'chat.appendStream': 'chat:write',
  'chat.stopStream': 'chat:write',
  // https://docs.slack.dev/changelog/2026/03/05/set-status-scope-update: chat:write (or, for now, assistant:write)
  'assistant.threads.setStatus': 'chat:write',
  // https://docs.slack.dev/reference/methods/agents.sessions.setStatus: "Authentication token bearing
  // the chat:write scope. Must be a granular bot token"; https://docs.slack.dev/ai/agent-sessions: "The
  // chat:write scope is required to manage thread-based sessions" (and the app must be declared an
  // agent, which adds assistant:write: checked in agent-surface.ts). The agent_session_stopped event
  // needs chat:write too (https://docs.slack.dev/reference/events/agent_session_stopped).
  'agents.sessions.setStatus': 'chat:write',
  'reactions.add': 'reactions:write',
  'reactions.remove': 'reactions:write',
  // https://docs.slack.dev/reference/methods/conversations.history: channels:history, groups:history, im:history, mpim:history
  'conversations.history': byConversation({
    public: 'channels:history',
    private: 'groups:history',
    im: 'im:history',
    mpim: 'mpim:history',
  }),
  'conversations.replies': byConversation({
    public: 'channels:history',
    private: 'groups:history',
    im: 'im:history',
    mpim: 'mpim:history',
  }),
  'conversations.info': byConversation({
    public: 'channels:read',
    private: 'groups:read',
    im: 'im:read',
    mpim: 'mpim:read',
  }),
  // https://docs.slack.dev/reference/methods/conversations.open: im:write (one user)
  'conversations.open': 'im:write',
  // https://docs.slack.dev/reference/methods/conversations.join: bot token channels:join
  'conversations.join': 'channels:join',
  'users.info': 'users:read',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  // https://docs.slack.dev/reference/methods/files.info: bot token files:read (also what file downloads need)
  'files.info': 'files:read',
};

/**
 * The bot events slack-app-manifest.yaml subscribes to (settings.event_subscriptions.bot_events),
 * e.g. to start the emulator with `subscribesToAgentSessionStopped` as the manifest says.
 */
export function manifestBotEvents(
  manifest: URL = new URL('../../../slack-app-manifest.yaml', import.meta.url),
): string[] {
  try {
    const parsed = parseYaml(readFileSync(manifest, 'utf8')) as {
      settings?: { event_subscriptions?: { bot_events?: unknown } };
    };
    const events = parsed.settings?.event_subscriptions?.bot_events;
    if (Array.isArray(events) && events.every((event) => typeof event === 'string')) return events;
  } catch {
    // No manifest next to this install: no subscriptions known.
  }
  return [];
}

/** Scopes a bot token has when none are given: the bot scopes of slack-app-manifest.yaml. */
export function manifestBotScopes(
  manifest: URL = new URL('../../../slack-app-manifest.yaml', import.meta.url),
): string[] {
  try {
    const parsed = parseYaml(readFileSync(manifest, 'utf8')) as {
      oauth_config?: { scopes?: { bot?: unknown } };
    };
    const bot = parsed.oauth_config?.scopes?.bot;
    if (Array.isArray(bot) && bot.every((scope) => typeof scope === 'string')) return bot;
  } catch {
    // No manifest next to this install: fall through to the same list, written out.
  }
  return [...FALLBACK_SCOPES];
}

/** slack-app-manifest.yaml's bot scopes, for an install that ships without the file. */
const FALLBACK_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'channels:join',
  'groups:history',
  'im:history',
  'mpim:history',
  'chat:write',
  'reactions:write',
  'users:read',
  'files:write',
  'files:read',
];
