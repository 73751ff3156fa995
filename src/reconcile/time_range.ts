/**
 * Time arguments of a reconciliation: an ISO 8601 instant or a duration back from now ("90s",
 * "15m", "1h30m", "2d"). Shared by the CLI and the admin route so both accept the same values.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;
/** A date, optionally with a time and an offset; a bare date is midnight UTC. */
const ISO =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Thrown for a time argument that is neither an ISO instant nor a duration; names the value. */
export class TimeArgumentError extends Error {
  constructor(readonly argument: string, readonly value: string, reason: string) {
    super(`${argument}: ${reason} (got ${JSON.stringify(value.slice(0, 100))})`);
    this.name = "TimeArgumentError";
  }
}

/** Parses "1h30m" style durations into milliseconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (!DURATION.test(t)) return null;
  let ms = 0;
  for (const m of t.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isSafeInteger(ms) ? ms : null;
}

/**
 * Reads one time argument: a duration means "that long before `now`", anything else must be an
 * ISO 8601 instant. `argument` names the option in the error ("--since", "until").
 */
export function parseInstant(argument: string, value: string, now: Date): Date {
  const text = value.trim();
  if (text === "") throw new TimeArgumentError(argument, value, "a time is required");
  const ms = parseDuration(text);
  if (ms !== null) return new Date(now.getTime() - ms);
  if (!ISO.test(text)) {
    throw new TimeArgumentError(
      argument,
      value,
      "expected an ISO 8601 time (2026-01-31T12:00:00Z) or a duration (90s, 15m, 1h, 2d)",
    );
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw new TimeArgumentError(argument, value, "not a valid calendar time");
  }
  return date;
}

/** A half-open range [since, until). */
export interface TimeRange {
  since: Date;
  until: Date;
}

/** Resolves `since` and an optional `until` (default: now) against one `now`; never empty. */
export function parseTimeRange(
  since: string,
  until: string | undefined,
  now: Date,
  names: { since: string; until: string } = { since: "since", until: "until" },
): TimeRange {
  const s = parseInstant(names.since, since, now);
  const u = until === undefined ? now : parseInstant(names.until, until, now);
  if (s.getTime() >= u.getTime()) {
    throw new TimeArgumentError(
      names.since,
      since,
      `must be before ${names.until} (${u.toISOString()})`,
    );
  }
  return { since: s, until: u };
}
