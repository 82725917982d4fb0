import { Cron } from 'croner';
import { AppError } from '../errors.js';
import type { QuietDigest } from './digest-store.js';

/** A schedule as people write it, turned into a 5-field cron expression. */
export interface ScheduleSpec {
  /** Normalized words, shown back to people: "daily 09:00", "weekly mon 09:00", "cron 0 9 * * 1-5". */
  spec: string;
  cron: string;
  /** Only when the words named one; the caller picks the default. */
  timezone: string | undefined;
  quietDigest: QuietDigest | undefined;
}

export const scheduleExamples = 'Try `digest daily 09:00 Europe/Berlin` or `digest weekly mon 09:00`.';

const days: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

/**
 * Reads "daily 09:00 [zone]", "weekdays 09:00 [zone]", "weekly mon 09:00 [zone]" or a
 * 5-field cron expression followed by an optional zone; `quiet=skip|line` may follow.
 * Throws an AppError whose userMessage says what was wrong and shows an example.
 */
export function parseSchedule(text: string): ScheduleSpec {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const quietDigest = takeQuietOption(words);
  const kind = words[0]?.toLowerCase();
  if (!kind) throw unreadable('it is empty');
  if (kind === 'daily' || kind === 'weekdays') {
    const time = parseTime(words[1], kind);
    const cron = `${time.minute} ${time.hour} * * ${kind === 'daily' ? '*' : '1-5'}`;
    return finish(`${kind} ${time.label}`, cron, words.slice(2), quietDigest);
  }
  if (kind === 'weekly') {
    const day = parseDay(words[1]);
    const time = parseTime(words[2], 'weekly <day>');
    const cron = `${time.minute} ${time.hour} * * ${day.number}`;
    return finish(`weekly ${day.label} ${time.label}`, cron, words.slice(3), quietDigest);
  }
  if (looksLikeCron(words)) {
    const cron = words.slice(0, 5).join(' ');
    return finish(`cron ${cron}`, cron, words.slice(5), quietDigest);
  }
  throw unreadable(
    `I did not understand \`${kind}\`; start with \`daily\`, \`weekdays\`, \`weekly\` or a cron expression`,
  );
}

/** The canonical IANA name ("europe/berlin" → "Europe/Berlin"), or an AppError that says how to fix it. */
export function resolveTimeZone(name: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch (error) {
    const hint = suggestTimeZone(name);
    throw new AppError('digest-timezone-unknown', `unknown time zone ${name}`, {
      cause: error,
      userMessage: `I do not know the time zone \`${name}\`.${hint ? ` Did you mean \`${hint}\`?` : ''} Use an IANA name such as \`Europe/Berlin\`, \`America/New_York\` or \`UTC\`.`,
      fields: { timezone: name },
    });
  }
}

/** The first run strictly after `after` (ms), in the schedule's time zone; DST is croner's job. */
export function nextRunAfter(cron: string, timezone: string, after: number): number {
  const next = new Cron(cron, { timezone, paused: true }).nextRun(new Date(after));
  if (!next) {
    throw new AppError('digest-schedule-never', `cron ${cron} has no future run`, {
      userMessage: `I could not read that schedule: \`${cron}\` never runs. ${scheduleExamples}`,
    });
  }
  return next.getTime();
}

/** The last run strictly before `before`, if the schedule had one. */
export function previousRunBefore(cron: string, timezone: string, before: number): number | undefined {
  const [previous] = new Cron(cron, { timezone, paused: true }).previousRuns(1, new Date(before));
  return previous && previous.getTime() < before ? previous.getTime() : undefined;
}

/** "daily 09:00 (Europe/Berlin)". */
export function describeSchedule(spec: string, timezone: string): string {
  const words = spec.startsWith('cron ') ? `cron \`${spec.slice(5)}\`` : spec;
  return `${words} (${timezone})`;
}

function finish(
  spec: string,
  cron: string,
  rest: string[],
  quietDigest: QuietDigest | undefined,
): ScheduleSpec {
  if (rest.length > 1)
    throw unreadable(`I did not expect \`${rest.slice(1).join(' ')}\` after the time zone`);
  const timezone = rest[0] === undefined ? undefined : resolveTimeZone(rest[0]);
  try {
    nextRunAfter(cron, timezone ?? 'UTC', Date.UTC(2000, 0, 1));
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw unreadable(`\`${cron}\` is not a cron expression I can use (${firstLine(error)})`);
  }
  return { spec, cron, timezone, quietDigest };
}

function parseTime(word: string | undefined, after: string): { hour: number; minute: number; label: string } {
  if (!word) throw unreadable(`a time is missing after \`${after}\``);
  const match = /^(\d{1,2})(?::(\d{2}))?(am|pm)?$/i.exec(word);
  if (!match || (match[2] === undefined && match[3] === undefined)) {
    throw unreadable(`\`${word}\` is not a time; write it as HH:MM, for example 09:00 or 17:30`);
  }
  let hour = Number(match[1]);
  const minute = Number(match[2] ?? '0');
  const half = match[3]?.toLowerCase();
  if (half && (hour < 1 || hour > 12)) throw unreadable(`\`${word}\` is not a time`);
  if (half === 'pm' && hour < 12) hour += 12;
  if (half === 'am' && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) throw unreadable(`\`${word}\` is not a time of day`);
  return { hour, minute, label: `${pad(hour)}:${pad(minute)}` };
}

function parseDay(word: string | undefined): { number: number; label: string } {
  if (!word) throw unreadable('a day is missing after `weekly` (mon, tue, …)');
  const key = word.toLowerCase().slice(0, 3);
  const number = days[key];
  const known = /^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|days|s)?$/i.test(word);
  if (number === undefined || !known) throw unreadable(`\`${word}\` is not a day of the week (mon, tue, …)`);
  return { number, label: key };
}

function takeQuietOption(words: string[]): QuietDigest | undefined {
  const index = words.findIndex((word) => /^quiet(digest)?=/i.test(word));
  if (index === -1) return undefined;
  const value = words[index]!.split('=')[1]?.toLowerCase();
  words.splice(index, 1);
  if (value === 'line' || value === 'skip') return value;
  throw unreadable('`quiet=` takes `line` (post one line when nothing happened) or `skip` (post nothing)');
}

function looksLikeCron(words: string[]): boolean {
  return (
    words.length >= 5 &&
    words.slice(0, 5).every((word) => /^[\d*/,\-?LW#A-Za-z]+$/.test(word)) &&
    words.slice(0, 2).every((word) => /^[\d*/,-]+$/.test(word))
  );
}

function suggestTimeZone(name: string): string | undefined {
  const wanted = name.toLowerCase().replace(/\s+/g, '_');
  return Intl.supportedValuesOf('timeZone').find((zone) => zone.toLowerCase().endsWith(`/${wanted}`));
}

function unreadable(reason: string): AppError {
  return new AppError('digest-schedule-invalid', `unreadable schedule: ${reason}`, {
    userMessage: `I could not read that schedule: ${reason}. ${scheduleExamples}`,
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'error';
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
