/**
 * Billing periods over UTC calendar days. Dates are `YYYY-MM-DD`; a period is [start, end) (end exclusive).
 * Monthly periods step from the subscription's anchor date by calendar months, clamped to the month's last day
 * (anchor Jan 31 → Feb 28 → Mar 31); yearly periods step by twelve of them.
 */
export type IsoDate = string;
export type Interval = 'month' | 'year';

export interface Period {
  start: IsoDate;
  end: IsoDate;
}

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseDate(d: IsoDate): number {
  const m = DATE.exec(d);
  if (!m) throw new RangeError(`not a date: ${d}`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(ms).toISOString().slice(0, 10) !== d) throw new RangeError(`not a date: ${d}`);
  return ms;
}
export const formatDate = (ms: number): IsoDate => new Date(ms).toISOString().slice(0, 10);
export const daysBetween = (a: IsoDate, b: IsoDate) => Math.round((parseDate(b) - parseDate(a)) / DAY_MS);
export const addDays = (d: IsoDate, n: number) => formatDate(parseDate(d) + n * DAY_MS);

/** The anchor moved by `months` calendar months, its day clamped to the target month's length. */
export function addMonths(anchor: IsoDate, months: number): IsoDate {
  const a = new Date(parseDate(anchor));
  const y = a.getUTCFullYear();
  const m = a.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return formatDate(Date.UTC(y, m, Math.min(a.getUTCDate(), lastDay)));
}

const step = (interval: Interval) => (interval === 'month' ? 1 : 12);

/** The period of a subscription anchored at `anchor` that contains `date` (date ≥ anchor). */
export function periodContaining(anchor: IsoDate, interval: Interval, date: IsoDate): Period {
  if (parseDate(date) < parseDate(anchor)) throw new RangeError(`${date} is before the anchor ${anchor}`);
  const a = new Date(parseDate(anchor));
  const d = new Date(parseDate(date));
  let n = Math.floor(((d.getUTCFullYear() - a.getUTCFullYear()) * 12 + d.getUTCMonth() - a.getUTCMonth()) / step(interval));
  // The clamped start may land after the date (anchor day 31, date the 30th): step back.
  while (parseDate(addMonths(anchor, n * step(interval))) > parseDate(date)) n--;
  while (parseDate(addMonths(anchor, (n + 1) * step(interval))) <= parseDate(date)) n++;
  return { start: addMonths(anchor, n * step(interval)), end: addMonths(anchor, (n + 1) * step(interval)) };
}
