import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack's v0 request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`
 * keyed with the app's signing secret, beside `X-Slack-Request-Timestamp` (Unix seconds).
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */

export interface SlackSignatureHeaders {
  'X-Slack-Request-Timestamp': string;
  'X-Slack-Signature': string;
}

export interface SignRequestOptions {
  signingSecret: string;
  body: string | Buffer;
  /** Unix seconds; default now. */
  timestamp?: number;
}

/** The two headers Slack sets on every request it sends to an app. */
export function signSlackRequest(options: SignRequestOptions): SlackSignatureHeaders {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': computeSlackSignature(options.signingSecret, timestamp, options.body),
  };
}

/** `v0=<hex>` for one body at one timestamp. */
export function computeSlackSignature(
  signingSecret: string,
  timestamp: number,
  body: string | Buffer,
): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}

export interface VerifyRequestOptions {
  signingSecret: string;
  body: string | Buffer;
  timestamp: string | number | undefined;
  signature: string | undefined;
  /** Unix seconds; default now. */
  nowSeconds?: number;
  /** Older requests are refused as replays; Slack and Bolt use five minutes. */
  toleranceSeconds?: number;
}

/** The check Bolt applies: fresh timestamp, then a constant-time signature comparison. */
export function isValidSlackSignature(options: VerifyRequestOptions): boolean {
  const timestamp = Number(options.timestamp);
  if (!Number.isInteger(timestamp) || options.signature === undefined) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(computeSlackSignature(options.signingSecret, timestamp, options.body));
  const actual = Buffer.from(options.signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
