import { type Logger, pino } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they sit in the object. */
const redactedPaths = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'githubToken',
  '*.githubToken',
  'cookie',
  '*.cookie',
];

export interface LoggerOptions {
  level?: string;
  /** Extra literal values (configured secrets) scrubbed from every line. */
  secrets?: string[];
  destination?: NodeJS.WritableStream;
}

/**
 * JSON lines through pino. Tokens are redacted by key and, as a second net, by pattern
 * and literal value in the serialized line (see scrubSecrets).
 */
export function createLogger(
  options: LoggerOptions = {},
  scrub: (text: string) => string = (t) => t,
): Logger {
  const destination = options.destination ?? process.stdout;
  const stream = {
    write(line: string) {
      destination.write(scrub(line));
    },
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'shipmate' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}
