import type { WebClient } from '@slack/web-api';

export type BotMembership =
  | { status: 'member' }
  | { status: 'joined' }
  | { status: 'needs-invite'; reason: string }
  | { status: 'unknown'; reason: string };

/**
 * Makes the bot a member of a channel where it can. A read of one message tells membership
 * with scopes the app already has: it answers `not_in_channel` in a public channel the bot is
 * not in (channels:history reads channels "your Slack app has been added to",
 * https://docs.slack.dev/reference/scopes/channels.history) and `channel_not_found` in a private
 * one (a bot sees those only once invited). A public channel is then joined with
 * conversations.join (bot scope channels:join, https://docs.slack.dev/reference/methods/conversations.join);
 * a private channel needs a person's `/invite`. Never throws.
 */
export async function ensureBotInChannel(client: WebClient, channel: string): Promise<BotMembership> {
  try {
    await client.conversations.history({ channel, limit: 1 });
    return { status: 'member' };
  } catch (error) {
    const code = slackError(error);
    if (code === 'channel_not_found')
      return { status: 'needs-invite', reason: 'a private channel (or one shipmate cannot see)' };
    if (code !== 'not_in_channel') return { status: 'unknown', reason: code ?? describe(error) };
  }
  try {
    await client.conversations.join({ channel });
    return { status: 'joined' };
  } catch (error) {
    const code = slackError(error);
    if (code === 'missing_scope') {
      const needed = (error as { data?: { needed?: unknown } }).data?.needed;
      return {
        status: 'needs-invite',
        reason: `joining needs the ${typeof needed === 'string' ? needed : 'channels:join'} scope, which the app lacks`,
      };
    }
    return {
      status: 'needs-invite',
      reason: `Slack refused to let shipmate join (${code ?? describe(error)})`,
    };
  }
}

/** The `error` of a Slack platform error (WebClient puts Slack's answer on `data`). */
function slackError(error: unknown): string | undefined {
  const code = (error as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
