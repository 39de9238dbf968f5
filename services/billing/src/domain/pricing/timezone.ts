import type { IsoDate } from './period.ts';

const formatters = new Map<string, Intl.DateTimeFormat>();
function offsetMs(timeZone: string, at: number): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  const local = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return local - Math.floor(at / 1000) * 1000;
}

/**
 * The instant local midnight of `date` is in `timeZone` (IANA), e.g. 2026-11-01 in America/New_York is
 * 2026-11-01T04:00Z. Two passes settle a DST change between the guess and the answer.
 */
export function startOfDayIn(date: IsoDate, timeZone: string): Date {
  const guess = Date.parse(`${date}T00:00:00Z`);
  if (timeZone === 'UTC') return new Date(guess);
  let t = guess - offsetMs(timeZone, guess);
  t = guess - offsetMs(timeZone, t);
  return new Date(t);
}

/** The calendar date `at` falls on in `timeZone`. */
export function dateIn(at: Date, timeZone: string): IsoDate {
  return new Date(at.getTime() + offsetMs(timeZone, at.getTime())).toISOString().slice(0, 10);
}
