import { describe, expect, it } from 'vitest';
import {
  describeSchedule,
  nextRunAfter,
  parseSchedule,
  previousRunBefore,
  resolveTimeZone,
} from '../../src/digests/schedule-spec.js';
import { AppError } from '../../src/errors.js';

function userMessageOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    if (error instanceof AppError && error.userMessage) return error.userMessage;
    throw error;
  }
  throw new Error('expected an error');
}

describe('reading a digest schedule', () => {
  it.each([
    ['daily 09:00 Europe/Berlin', 'daily 09:00', '0 9 * * *', 'Europe/Berlin', undefined],
    ['daily 9:05', 'daily 09:05', '5 9 * * *', undefined, undefined],
    ['Daily 5:30pm utc', 'daily 17:30', '30 17 * * *', 'UTC', undefined],
    ['daily 12am', 'daily 00:00', '0 0 * * *', undefined, undefined],
    ['weekly mon 09:00', 'weekly mon 09:00', '0 9 * * 1', undefined, undefined],
    [
      'weekly Friday 16:45 America/New_York',
      'weekly fri 16:45',
      '45 16 * * 5',
      'America/New_York',
      undefined,
    ],
    ['weekly sundays 08:00', 'weekly sun 08:00', '0 8 * * 0', undefined, undefined],
    ['weekdays 08:30 europe/berlin', 'weekdays 08:30', '30 8 * * 1-5', 'Europe/Berlin', undefined],
    ['daily 09:00 quiet=skip', 'daily 09:00', '0 9 * * *', undefined, 'skip'],
    ['daily 09:00 Europe/Berlin quiet=line', 'daily 09:00', '0 9 * * *', 'Europe/Berlin', 'line'],
    ['0 9 * * 1-5', 'cron 0 9 * * 1-5', '0 9 * * 1-5', undefined, undefined],
    ['30 7 1 * * Asia/Tokyo', 'cron 30 7 1 * *', '30 7 1 * *', 'Asia/Tokyo', undefined],
  ])('reads "%s"', (input, spec, cron, timezone, quietDigest) => {
    expect(parseSchedule(input)).toEqual({ spec, cron, timezone, quietDigest });
  });

  it.each([
    ['', 'it is empty'],
    ['hourly 09:00', '`hourly`'],
    ['daily', 'a time is missing'],
    ['daily nine', '`nine` is not a time'],
    ['daily 9', '`9` is not a time'],
    ['daily 24:00', '`24:00` is not a time of day'],
    ['daily 09:60', 'is not a time of day'],
    ['daily 13pm', '`13pm` is not a time'],
    ['weekly 09:00', '`09:00` is not a day of the week'],
    ['weekly someday 09:00', '`someday` is not a day of the week'],
    ['weekly mon', 'a time is missing'],
    ['daily 09:00 Europe/Berlin extra', 'did not expect `extra`'],
    ['daily 09:00 quiet=sometimes', '`quiet=` takes'],
    ['0 9 31 2 *', 'never runs'],
    ['99 9 * * *', 'not a cron expression'],
  ])('explains what is wrong with "%s" and shows an example', (input, reason) => {
    const message = userMessageOf(() => parseSchedule(input));
    expect(message).toContain('I could not read that schedule:');
    expect(message).toContain(reason);
    expect(message).toContain('Try `digest daily 09:00 Europe/Berlin` or `digest weekly mon 09:00`');
  });

  it('names an unknown time zone and suggests the IANA name for a city', () => {
    const unknown = userMessageOf(() => parseSchedule('daily 09:00 Mars/Olympus'));
    expect(unknown).toContain('I do not know the time zone `Mars/Olympus`');
    expect(unknown).toContain('`Europe/Berlin`');
    const city = userMessageOf(() => parseSchedule('daily 09:00 Berlin'));
    expect(city).toContain('Did you mean `Europe/Berlin`?');
  });

  it('canonicalizes time zone names', () => {
    expect(resolveTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(resolveTimeZone('UTC')).toBe('UTC');
  });

  it('describes a schedule the way people wrote it', () => {
    expect(describeSchedule('daily 09:00', 'Europe/Berlin')).toBe('daily 09:00 (Europe/Berlin)');
    expect(describeSchedule('cron 0 9 * * 1-5', 'UTC')).toBe('cron `0 9 * * 1-5` (UTC)');
  });
});

describe('next run across daylight-saving changes (Europe/Berlin)', () => {
  const daily = '0 9 * * *';
  const berlin = 'Europe/Berlin';
  const iso = (ms: number) => new Date(ms).toISOString();

  it('keeps 09:00 local when the clocks go forward at the end of March', () => {
    // 2026-03-29 02:00 CET → 03:00 CEST: 09:00 is 08:00Z before and 07:00Z after.
    const saturday = nextRunAfter(daily, berlin, Date.parse('2026-03-27T12:00:00Z'));
    const sunday = nextRunAfter(daily, berlin, saturday);
    const monday = nextRunAfter(daily, berlin, sunday);
    expect([iso(saturday), iso(sunday), iso(monday)]).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(sunday - saturday).toBe(23 * 3600_000);
  });

  it('keeps 09:00 local when the clocks go back at the end of October', () => {
    const saturday = nextRunAfter(daily, berlin, Date.parse('2026-10-23T12:00:00Z'));
    const sunday = nextRunAfter(daily, berlin, saturday);
    expect([iso(saturday), iso(sunday)]).toEqual(['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z']);
    expect(sunday - saturday).toBe(25 * 3600_000);
  });

  it('runs a 02:30 digest once on both change days (skipped hour, repeated hour)', () => {
    const early = '30 2 * * *';
    const spring = nextRunAfter(early, berlin, Date.parse('2026-03-28T12:00:00Z'));
    expect(iso(spring)).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextRunAfter(early, berlin, spring))).toBe('2026-03-30T00:30:00.000Z');
    const autumn = nextRunAfter(early, berlin, Date.parse('2026-10-24T12:00:00Z'));
    expect(iso(autumn)).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(nextRunAfter(early, berlin, autumn))).toBe('2026-10-26T01:30:00.000Z');
  });

  it('runs a weekly Monday digest at 09:00 local on both sides of the change', () => {
    const weekly = parseSchedule('weekly mon 09:00').cron;
    const before = nextRunAfter(weekly, berlin, Date.parse('2026-03-20T00:00:00Z'));
    const after = nextRunAfter(weekly, berlin, before);
    expect([iso(before), iso(after)]).toEqual(['2026-03-23T08:00:00.000Z', '2026-03-30T07:00:00.000Z']);
  });

  it('counts the next run strictly after the moment given, and finds the previous one', () => {
    const slot = Date.parse('2026-03-30T07:00:00Z');
    expect(iso(nextRunAfter(daily, berlin, slot))).toBe('2026-03-31T07:00:00.000Z');
    expect(iso(previousRunBefore(daily, berlin, slot)!)).toBe('2026-03-29T07:00:00.000Z');
  });
});
