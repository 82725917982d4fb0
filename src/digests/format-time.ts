/** "Sun 29 Mar, 09:00" in the schedule's time zone. */
export function formatDateTime(ms: number, timezone: string, withYear = false): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    ...(withYear ? { year: 'numeric' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const date = [part('weekday'), part('day'), part('month'), ...(withYear ? [part('year')] : [])].join(' ');
  return `${date}, ${part('hour')}:${part('minute')}`;
}

/** "Mon 30 Mar" in the schedule's time zone. */
export function formatDay(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
  })
    .format(new Date(ms))
    .replace(',', '');
}
