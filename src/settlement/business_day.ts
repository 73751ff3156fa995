/**
 * Business days: business day D runs from D at the cut-off to D+1 at the cut-off, local time in
 * the settlement time zone, and an event belongs to the day its `occurredAt` falls in. With the
 * default cut-off 00:00 that is the local calendar date.
 */

const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A business calendar: an IANA time zone and the local cut-off in minutes after midnight. */
export interface BusinessCalendar {
  timeZone: string;
  cutoffMinutes: number;
}

/** True when `day` is a real calendar date written YYYY-MM-DD. */
export function isDay(day: string): boolean {
  const m = DAY.exec(day);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === day;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offsets already computed, per zone and quarter hour (transitions fall on quarter hours). */
const offsetCache = new Map<string, Map<number, number>>();
const QUARTER_HOUR = 900_000;

/**
 * The offset of `tz` from UTC at instant `ms`, in ms (positive east of Greenwich). Cached per
 * quarter hour: Intl's formatToParts costs 11 µs per call (measured on 100,000 events).
 */
function zoneOffsetMs(tz: string, ms: number): number {
  let cache = offsetCache.get(tz);
  if (!cache) offsetCache.set(tz, cache = new Map());
  const q = Math.floor(ms / QUARTER_HOUR);
  let off = cache.get(q);
  if (off === undefined) {
    off = computeOffsetMs(tz, q * QUARTER_HOUR);
    if (cache.size > 100_000) cache.clear();
    cache.set(q, off);
  }
  return off;
}

function computeOffsetMs(tz: string, ms: number): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The business day (YYYY-MM-DD) of the instant `ms`. */
export function businessDayOf(ms: number, cal: BusinessCalendar): string {
  const wall = ms + zoneOffsetMs(cal.timeZone, ms) - cal.cutoffMinutes * 60_000;
  return new Date(Math.floor(wall / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The first instant (epoch ms) at which the local clock of `tz` reads `wallMs` (a UTC-based wall
 * reading), or, when the clock skips it (a DST gap), the instant it jumps past it: where
 * businessDayOf turns the day. In an overlap the wall time occurs twice and the first one counts.
 */
function instantOfWall(wallMs: number, tz: string): number {
  const local = (ms: number) => ms + zoneOffsetMs(tz, ms);
  // The offsets a day either side (transitions are months apart); the larger one is earlier.
  const before = zoneOffsetMs(tz, wallMs - DAY_MS);
  const after = zoneOffsetMs(tz, wallMs + DAY_MS);
  let lo = wallMs - Math.max(before, after);
  let hi = wallMs - Math.min(before, after);
  if (local(lo) === wallMs) return lo;
  if (local(hi) === wallMs) return hi;
  // A gap: local(lo) < wallMs <= local(hi); find the jump.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (local(mid) >= wallMs) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The instants [start, end) of business day `day`, epoch ms. */
export function dayBounds(day: string, cal: BusinessCalendar): { start: number; end: number } {
  if (!isDay(day)) throw new RangeError(`not a day (YYYY-MM-DD): "${day}"`);
  const midnight = Date.parse(`${day}T00:00:00Z`) + cal.cutoffMinutes * 60_000;
  return {
    start: instantOfWall(midnight, cal.timeZone),
    end: instantOfWall(midnight + DAY_MS, cal.timeZone),
  };
}

/** The day after (n = 1) or before (n = -1) `day`. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}
