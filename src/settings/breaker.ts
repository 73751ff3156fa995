/**
 * The breaker's BREAKER_* settings: their variables, kinds and units come from the breaker's own
 * BREAKER_CONFIG_FIELDS and their defaults from DEFAULT_BREAKER_CONFIG; what the README says of
 * each is here. The breaker validates the whole; a rejected value is reported under its variable.
 */
import {
  BREAKER_CONFIG_FIELDS,
  type BreakerConfig,
  type BreakerFieldSpec,
  DEFAULT_BREAKER_CONFIG,
  validateBreakerConfig,
} from "../breaker/config.ts";
import type { Env } from "../env_reader.ts";

/** The README's "allowed" and "meaning" cells of one breaker setting (its ranges are the breaker's). */
interface BreakerDoc {
  /** Unset for the enum: its values are listed. */
  readonly allowed?: string;
  readonly doc: string;
}

const BACKOFF = "exponential backoff of repeated openings (set all three): ";

/** Keys of the breaker's environment settings (`adjustments` is validation's output, not one). */
export type BreakerSettingKey = Exclude<BreakerFieldSpec["key"], "adjustments">;

/** What the README says of each breaker setting; a new field fails type-checking until it is here. */
export const BREAKER_DOCS: Readonly<Record<BreakerSettingKey, BreakerDoc>> = Object.freeze({
  failureRateThreshold: {
    allowed: "above 0, at most 100 (percent)",
    doc: "percent of failed calls that opens the breaker",
  },
  slowCallRateThreshold: {
    allowed: "above 0, at most 100 (percent)",
    doc: "percent of slow calls that opens the breaker",
  },
  slowCallDurationThreshold: { allowed: "at least 1 ms", doc: "a call slower than this is slow" },
  minimumNumberOfCalls: {
    allowed: "1 to 100000 calls",
    doc: "calls in the window before any decision; lowered to a smaller count-based window size",
  },
  slidingWindowType: { doc: "last N calls, or calls of the last N seconds" },
  slidingWindowSize: {
    allowed: "1 to 100000 calls or seconds",
    doc: "calls (count-based) or seconds (time-based)",
  },
  waitDurationInOpenState: {
    allowed: "at least 1 ms",
    doc: "OPEN -> HALF_OPEN after this (a timer)",
  },
  permittedNumberOfCallsInHalfOpenState: {
    allowed: "1 to 100000 calls",
    doc: "trial calls in HALF_OPEN",
  },
  maxWaitDurationInHalfOpenState: {
    allowed: "at least 1 ms",
    doc: "undecided HALF_OPEN -> OPEN after this",
  },
  eventBufferSize: {
    allowed: "1 to 100000 events",
    doc: "recent events kept for the admin API (per kind)",
  },
  "openWaitBackoff.multiplier": { allowed: "at least 1", doc: BACKOFF + "factor per opening" },
  "openWaitBackoff.maxWaitMs": {
    allowed: "at least the open-state wait, ms",
    doc: BACKOFF + "cap of the wait",
  },
  "openWaitBackoff.jitter": { allowed: "0 to 1", doc: BACKOFF + "random spread (0.2 = +-20 %)" },
});

/** The default of a breaker setting as the README shows it. */
export function breakerDefault(field: BreakerFieldSpec): string {
  if (field.key.includes(".")) return "unset = fixed wait";
  return `\`${DEFAULT_BREAKER_CONFIG[field.key as keyof typeof DEFAULT_BREAKER_CONFIG]}\``;
}

/**
 * Reads every BREAKER_* variable named by the breaker's own field list, then lets the breaker
 * validate the whole; a rejected value is reported under its variable name.
 */
export function readBreaker(env: Env, problems: string[]): BreakerConfig {
  const partial: Record<string, unknown> = {};
  const backoff: Record<string, unknown> = {};
  const before = problems.length;
  for (const field of BREAKER_CONFIG_FIELDS) {
    const raw = env[field.env]?.trim();
    if (raw === undefined || raw === "") continue;
    let value: unknown = raw.toUpperCase();
    if (field.kind !== "enum") {
      value = Number(raw);
      if (!Number.isFinite(value)) {
        problems.push(`${field.env} must be a number, got "${raw}"`);
        continue;
      }
    }
    const [top, nested] = field.key.split(".");
    if (nested) backoff[nested] = value;
    else partial[top!] = value;
  }
  if (Object.keys(backoff).length > 0) partial.openWaitBackoff = backoff;
  if (problems.length > before) return DEFAULT_BREAKER_CONFIG;
  try {
    return validateBreakerConfig(partial as Partial<BreakerConfig>);
  } catch (e) {
    const message = (e as Error).message;
    // The breaker names its camelCase field; operators set the variable.
    const field = [...BREAKER_CONFIG_FIELDS].sort((x, y) => y.key.length - x.key.length)
      .find((f) => message.includes(f.key.split(".").at(-1)!));
    problems.push(field ? `${field.env}: ${message}` : message);
    return DEFAULT_BREAKER_CONFIG;
  }
}
