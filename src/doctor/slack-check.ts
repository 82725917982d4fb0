import type { Config } from '../config.js';
import type { CheckResult } from './types.js';

/**
 * What the Slack side reports (src/slack/slack-doctor.ts implements it: only src/slack/ uses
 * Slack's SDK, and main wires it in). The same shape as its `SlackScopeReport`.
 */
export type SlackScopeResult =
  | {
      ok: true;
      team: string | undefined;
      botUser: string | undefined;
      granted: string[] | undefined;
      required: string[];
      missing: string[];
    }
  | { ok: false; error: string; fix: string };

export type SlackScopeProbe = (input: {
  botToken: string;
  apiUrl: string | undefined;
}) => Promise<SlackScopeResult>;

/** The bot token against `auth.test`, and its scopes against slack-app-manifest.yaml. */
export async function checkSlack(
  config: Pick<Readonly<Config>, 'slack'>,
  deps: { slackScopes?: SlackScopeProbe } = {},
): Promise<CheckResult | undefined> {
  if (config.slack.mode === 'playground') return undefined;
  if (!deps.slackScopes) {
    return { name: 'slack', status: 'warn', detail: 'not checked (no Slack client wired in)' };
  }
  const report = await deps
    .slackScopes({ botToken: config.slack.botToken, apiUrl: config.slack.apiUrl })
    .catch(
      (error: unknown): SlackScopeResult => ({
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        fix: 'check SLACK_BOT_TOKEN and SLACK_API_URL',
      }),
    );
  if (!report.ok) return { name: 'slack', status: 'fail', detail: report.error, fix: report.fix };
  const who = `${report.botUser ?? 'the bot'} in ${report.team ?? 'the workspace'} (${config.slack.mode} mode)`;
  if (!report.granted) {
    return {
      name: 'slack',
      status: 'warn',
      detail: `${who}: Slack did not report the token's scopes (no x-oauth-scopes header); not compared with the manifest`,
    };
  }
  if (report.missing.length > 0) {
    return {
      name: 'slack',
      status: 'fail',
      detail: `${who}: missing bot scopes ${report.missing.join(', ')}`,
      fix:
        'add them under OAuth & Permissions → Bot Token Scopes (or paste slack-app-manifest.yaml into the app), ' +
        'then reinstall the app to the workspace',
    };
  }
  return { name: 'slack', status: 'ok', detail: `${who}: all ${report.required.length} bot scopes granted` };
}
