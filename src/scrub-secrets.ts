/**
 * The last net before text leaves the process (Slack messages, log lines, commits):
 * well-known token shapes and the configured secrets' literal values become [redacted].
 */
const patterns: RegExp[] = [
  /xox[abposr]-[A-Za-z0-9-]{8,}/g, // Slack bot/user/app tokens
  /xapp-[A-Za-z0-9-]{8,}/g, // Slack app-level tokens
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}/g, // OpenAI / Anthropic style keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+=]{40}/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g, // credentials in URLs
];

export type Scrubber = (text: string) => string;

export function createScrubber(secrets: readonly string[] = []): Scrubber {
  const literals = [...new Set(secrets.filter((secret) => secret.length >= 8))].sort(
    (a, b) => b.length - a.length,
  );
  return (text: string) => {
    let result = text;
    for (const literal of literals) result = result.split(literal).join('[redacted]');
    for (const pattern of patterns) {
      result = result.replace(pattern, (match, prefix: unknown) =>
        typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[redacted]` : '[redacted]',
      );
    }
    return result;
  };
}
