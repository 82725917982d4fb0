import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Logger, LogLevel, WebClient } from '@slack/web-api';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeStartFailure } from './slack-app.js';

/** What `auth.test` said about the bot token, and the scopes it lacks against the app manifest. */
export type SlackScopeReport =
  | {
      ok: true;
      team: string | undefined;
      botUser: string | undefined;
      /** The token's scopes (the `x-oauth-scopes` header); undefined when Slack sent none. */
      granted: string[] | undefined;
      /** The bot scopes slack-app-manifest.yaml asks for. */
      required: string[];
      /** Required and not granted (empty when `granted` is undefined: nothing to compare). */
      missing: string[];
    }
  | { ok: false; error: string; fix: string };

/** slack-app-manifest.yaml at the install directory (two levels up from src/slack/ and dist/slack/). */
export const manifestPath = fileURLToPath(new URL('../../slack-app-manifest.yaml', import.meta.url));

const manifestSchema = z.object({
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string().min(1)) }) }),
});

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

/**
 * Calls `auth.test` with the bot token and compares the scopes Slack reports for it with the
 * bot scopes of the app manifest. Slack sends a token's scopes in the `x-oauth-scopes` response
 * header; @slack/web-api 8 splits it into `response_metadata.scopes` (WebClient.buildResult;
 * https://docs.slack.dev/tools/node-slack-sdk/reference/web-api/interfaces/WebAPICallResult).
 * Never throws; the token never appears in what it returns.
 */
export async function checkSlackScopes(input: {
  botToken: string;
  apiUrl: string | undefined;
  manifest?: string;
  timeoutMs?: number;
}): Promise<SlackScopeReport> {
  let required: string[];
  try {
    const text = await readFile(input.manifest ?? manifestPath, 'utf8');
    required = manifestSchema.parse(parseYaml(text)).oauth_config.scopes.bot;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not a Slack app manifest';
    return {
      ok: false,
      error: `cannot read the bot scopes from ${input.manifest ?? manifestPath} (${reason})`,
      fix: 'restore slack-app-manifest.yaml in the install directory',
    };
  }
  const client = new WebClient(input.botToken, {
    ...(input.apiUrl ? { slackApiUrl: input.apiUrl.endsWith('/') ? input.apiUrl : `${input.apiUrl}/` } : {}),
    retryConfig: { retries: 0 },
    timeout: input.timeoutMs ?? 15_000,
    logger: silent,
  });
  try {
    const result = await client.auth.test();
    const granted = result.response_metadata?.scopes;
    return {
      ok: true,
      team: result.team,
      botUser: result.user,
      granted,
      required,
      missing: granted ? required.filter((scope) => !granted.includes(scope)) : [],
    };
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    const sentence = describeStartFailure(error, input.apiUrl).replaceAll(input.botToken, '***');
    return {
      ok: false,
      error: code ? `auth.test: ${code}` : sentence,
      fix: sentence,
    };
  }
}
