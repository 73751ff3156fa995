/** Breaker settings: defaults, validation, and field metadata for the environment layer. */

import { MAX_TIMER_MS } from "./clock.ts";

/** How the breaker remembers recent outcomes. */
export type SlidingWindowType = "COUNT_BASED" | "TIME_BASED";

/** The two window types, for validation and for parsing environment input. */
export const SLIDING_WINDOW_TYPES: readonly SlidingWindowType[] = Object.freeze([
  "COUNT_BASED",
  "TIME_BASED",
]);

/** Exponential backoff for repeated openings so a long outage is not probed every 30 s. */
export interface OpenWaitBackoff {
  /** Factor applied per consecutive opening (>= 1). */
  multiplier: number;
  /** Cap on the un-jittered wait, in ms (>= waitDurationInOpenState). */
  maxWaitMs: number;
  /** Random spread as a fraction of the wait, 0..1 (0.2 = +-20 %). */
  jitter: number;
}

/** Every breaker setting; all durations are milliseconds, all rates percent. */
export interface BreakerConfig {
  /** Failure rate (percent, (0, 100]) at or above which the breaker opens. */
  failureRateThreshold: number;
  /** Slow-call rate (percent, (0, 100]) at or above which the breaker opens. */
  slowCallRateThreshold: number;
  /** A call taking longer than this many ms is slow. */
  slowCallDurationThreshold: number;
  /** Rates are not computed (null) before the window holds this many calls. */
  minimumNumberOfCalls: number;
  /** COUNT_BASED: last N calls; TIME_BASED: calls of the last N seconds. */
  slidingWindowType: SlidingWindowType;
  /** N of slidingWindowType (calls or seconds). */
  slidingWindowSize: number;
  /** Time in OPEN before the timer moves to HALF_OPEN (base wait when backoff is configured). */
  waitDurationInOpenState: number;
  /** Trial calls admitted in HALF_OPEN; also the concurrency cap in FORCED_HALF_OPEN. */
  permittedNumberOfCallsInHalfOpenState: number;
  /** HALF_OPEN still undecided after this many ms goes back to OPEN; never infinite. */
  maxWaitDurationInHalfOpenState: number;
  /** How many recent events the ring buffer keeps for the admin API. */
  eventBufferSize: number;
  /** Exponential wait for repeated openings; absent or null = fixed waitDurationInOpenState. */
  openWaitBackoff?: OpenWaitBackoff | null;
  /** Which errors count as failures; an error it rejects counts as a success (Resilience4j). */
  recordError?: (e: unknown) => boolean;
  /** Which errors the breaker ignores entirely; wins over recordError. */
  ignoreError?: (e: unknown) => boolean;
  /**
   * Set by validateBreakerConfig: what it changed from the request and why (for example a
   * minimum lowered to the window size). Carried over when a validated config is validated again.
   */
  readonly adjustments?: readonly string[];
}

/**
 * Upper bound of every size-like setting (slidingWindowSize, minimumNumberOfCalls,
 * permittedNumberOfCallsInHalfOpenState, eventBufferSize): each sizes an array or a loop, and a
 * value near 2^32 would fail inside a timer instead of at start-up.
 */
export const MAX_SIZE_SETTING = 100_000;

/** The seed's defaults; maxWaitDurationInHalfOpenState is ours (Resilience4j's 0 = forever). */
export const DEFAULT_BREAKER_CONFIG: Readonly<BreakerConfig> = Object.freeze({
  failureRateThreshold: 50,
  slowCallRateThreshold: 50,
  slowCallDurationThreshold: 5_000,
  minimumNumberOfCalls: 5,
  slidingWindowType: "COUNT_BASED",
  slidingWindowSize: 10,
  waitDurationInOpenState: 30_000,
  permittedNumberOfCallsInHalfOpenState: 3,
  maxWaitDurationInHalfOpenState: 60_000,
  eventBufferSize: 100,
});

/** Numeric or enum setting that can come from the environment. */
export type ScalarBreakerField = Exclude<
  keyof BreakerConfig,
  "openWaitBackoff" | "recordError" | "ignoreError"
>;

/** Describes one scalar setting so the env layer can map and parse it without its own list. */
export interface BreakerFieldSpec {
  /** Config path: a BreakerConfig key, or `openWaitBackoff.<key>` for the nested backoff. */
  readonly key: ScalarBreakerField | `openWaitBackoff.${keyof OpenWaitBackoff}`;
  /** Environment variable: BREAKER_ + upper snake case of the key, `_MS` for millisecond values. */
  readonly env: string;
  /** integer: whole numbers only; number: any finite number; enum: one of `values`. */
  readonly kind: "integer" | "number" | "enum";
  readonly unit:
    | "ms"
    | "percent"
    | "calls"
    | "calls-or-seconds"
    | "events"
    | "factor"
    | "fraction"
    | null;
  readonly values?: readonly string[];
}

const spec = (
  key: BreakerFieldSpec["key"],
  kind: BreakerFieldSpec["kind"],
  unit: BreakerFieldSpec["unit"],
  values?: readonly string[],
): BreakerFieldSpec => {
  const snake = key.replace(".", "_").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  const env = `BREAKER_${snake}${unit === "ms" && !snake.endsWith("_MS") ? "_MS" : ""}`;
  return Object.freeze(values ? { key, env, kind, unit, values } : { key, env, kind, unit });
};

/**
 * Every setting an operator can set from the environment, with its variable name; the backoff
 * entries belong together (set all three or none).
 */
export const BREAKER_CONFIG_FIELDS: readonly BreakerFieldSpec[] = Object.freeze([
  spec("failureRateThreshold", "number", "percent"),
  spec("slowCallRateThreshold", "number", "percent"),
  spec("slowCallDurationThreshold", "integer", "ms"),
  spec("minimumNumberOfCalls", "integer", "calls"),
  spec("slidingWindowType", "enum", null, SLIDING_WINDOW_TYPES),
  spec("slidingWindowSize", "integer", "calls-or-seconds"),
  spec("waitDurationInOpenState", "integer", "ms"),
  spec("permittedNumberOfCallsInHalfOpenState", "integer", "calls"),
  spec("maxWaitDurationInHalfOpenState", "integer", "ms"),
  spec("eventBufferSize", "integer", "events"),
  spec("openWaitBackoff.multiplier", "number", "factor"),
  spec("openWaitBackoff.maxWaitMs", "integer", "ms"),
  spec("openWaitBackoff.jitter", "number", "fraction"),
]);

/** The top-level numeric settings (a plain key list for code that only needs names). */
export const BREAKER_NUMERIC_FIELDS: readonly ScalarBreakerField[] = Object.freeze(
  BREAKER_CONFIG_FIELDS.flatMap((f) =>
    f.kind !== "enum" && !f.key.includes(".") ? [f.key as ScalarBreakerField] : []
  ),
);

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(DEFAULT_BREAKER_CONFIG),
  "openWaitBackoff",
  "recordError",
  "ignoreError",
  "adjustments",
]);

const show = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "function") return "a function";
  if (typeof v === "object" && v !== null) {
    try {
      return JSON.stringify(v);
    } catch {
      return "an object";
    }
  }
  return String(v);
};

const number = (field: string, v: unknown): number => {
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new TypeError(`${field} must be a number, got ${show(v)}`);
  }
  return v;
};

const rate = (field: string, v: unknown): number => {
  const n = number(field, v);
  if (!(n > 0 && n <= 100)) throw new RangeError(`${field} must be in (0, 100], got ${show(v)}`);
  return n;
};

const positiveInt = (field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number => {
  const n = number(field, v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new RangeError(`${field} must be an integer in [1, ${max}], got ${show(v)}`);
  }
  return n;
};

const size = (field: string, v: unknown): number => positiveInt(field, v, MAX_SIZE_SETTING);

const halfOpenMaxWait = (v: unknown): number => {
  // Resilience4j reads 0 as "wait forever", the cause of breakers stuck in HALF_OPEN; refuse it.
  if (v === 0) {
    throw new RangeError(
      "maxWaitDurationInHalfOpenState must be > 0 (0 = wait forever is not supported), got 0",
    );
  }
  return positiveInt("maxWaitDurationInHalfOpenState", v, MAX_TIMER_MS);
};

const predicate = (field: string, v: unknown): ((e: unknown) => boolean) | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== "function") throw new TypeError(`${field} must be a function, got ${show(v)}`);
  return v as (e: unknown) => boolean;
};

const backoff = (v: unknown, waitMs: number): OpenWaitBackoff | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object") {
    throw new TypeError(`openWaitBackoff must be an object, got ${show(v)}`);
  }
  const b = v as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["multiplier", "maxWaitMs", "jitter"].includes(k)) {
      throw new TypeError(`openWaitBackoff has an unknown field ${show(k)}`);
    }
  }
  const multiplier = number("openWaitBackoff.multiplier", b.multiplier);
  if (!(multiplier >= 1 && Number.isFinite(multiplier))) {
    throw new RangeError(
      `openWaitBackoff.multiplier must be a finite number >= 1, got ${show(multiplier)}`,
    );
  }
  const maxWaitMs = positiveInt("openWaitBackoff.maxWaitMs", b.maxWaitMs, MAX_TIMER_MS);
  if (maxWaitMs < waitMs) {
    throw new RangeError(
      `openWaitBackoff.maxWaitMs must be >= waitDurationInOpenState (${waitMs}), got ${maxWaitMs}`,
    );
  }
  const jitter = number("openWaitBackoff.jitter", b.jitter);
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`openWaitBackoff.jitter must be in [0, 1], got ${show(jitter)}`);
  }
  return Object.freeze({ multiplier, maxWaitMs, jitter });
};

/**
 * Merges `partial` over the defaults and checks every value, so a bad environment fails at
 * startup with the field and value named; undefined values mean "use the default".
 */
export function validateBreakerConfig(partial: Partial<BreakerConfig> = {}): BreakerConfig {
  if (typeof partial !== "object" || partial === null) {
    throw new TypeError(`breaker config must be an object, got ${show(partial)}`);
  }
  for (const k of Object.keys(partial)) {
    // A misspelt key would otherwise silently fall back to the default.
    if (!KNOWN_KEYS.has(k)) throw new TypeError(`unknown breaker config field ${show(k)}`);
  }
  const defined = Object.fromEntries(
    Object.entries(partial).filter(([, v]) => v !== undefined),
  ) as Partial<BreakerConfig>;
  const raw = { ...DEFAULT_BREAKER_CONFIG, ...defined };

  const slidingWindowType = raw.slidingWindowType as unknown;
  if (!SLIDING_WINDOW_TYPES.includes(slidingWindowType as SlidingWindowType)) {
    throw new TypeError(
      `slidingWindowType must be one of ${SLIDING_WINDOW_TYPES.join(", ")}, got ${
        show(slidingWindowType)
      }`,
    );
  }
  const slidingWindowSize = size("slidingWindowSize", raw.slidingWindowSize);
  const adjustments = adjustmentList(raw.adjustments);
  let minimumNumberOfCalls = size("minimumNumberOfCalls", raw.minimumNumberOfCalls);
  if (slidingWindowType === "COUNT_BASED" && minimumNumberOfCalls > slidingWindowSize) {
    // Such a window could never hold enough calls to open; Resilience4j lowers the minimum too,
    // so `slidingWindowSize: 3` alone (the default minimum is 5) is a valid request.
    adjustments.push(
      `minimumNumberOfCalls ${minimumNumberOfCalls} lowered to the COUNT_BASED ` +
        `slidingWindowSize ${slidingWindowSize}`,
    );
    minimumNumberOfCalls = slidingWindowSize;
  }
  const waitDurationInOpenState = positiveInt(
    "waitDurationInOpenState",
    raw.waitDurationInOpenState,
    MAX_TIMER_MS,
  );
  const result: BreakerConfig = {
    failureRateThreshold: rate("failureRateThreshold", raw.failureRateThreshold),
    slowCallRateThreshold: rate("slowCallRateThreshold", raw.slowCallRateThreshold),
    // 0 would make every call slow (a call of 0.2 ms is > 0 ms); Resilience4j refuses it too.
    slowCallDurationThreshold: positiveInt(
      "slowCallDurationThreshold",
      raw.slowCallDurationThreshold,
    ),
    minimumNumberOfCalls,
    slidingWindowType: slidingWindowType as SlidingWindowType,
    slidingWindowSize,
    waitDurationInOpenState,
    permittedNumberOfCallsInHalfOpenState: size(
      "permittedNumberOfCallsInHalfOpenState",
      raw.permittedNumberOfCallsInHalfOpenState,
    ),
    maxWaitDurationInHalfOpenState: halfOpenMaxWait(raw.maxWaitDurationInHalfOpenState),
    eventBufferSize: size("eventBufferSize", raw.eventBufferSize),
    openWaitBackoff: backoff(raw.openWaitBackoff, waitDurationInOpenState),
    adjustments: Object.freeze(adjustments),
  };
  const recordError = predicate("recordError", raw.recordError);
  const ignoreError = predicate("ignoreError", raw.ignoreError);
  if (recordError) result.recordError = recordError;
  if (ignoreError) result.ignoreError = ignoreError;
  return Object.freeze(result);
}

const adjustmentList = (v: unknown): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((a) => typeof a === "string")) {
    throw new TypeError(`adjustments must be a list of strings, got ${show(v)}`);
  }
  return [...v];
};

/** The config without its predicates, safe to serialise for the admin API. */
export type BreakerConfigSnapshot =
  & Omit<BreakerConfig, "recordError" | "ignoreError" | "openWaitBackoff" | "adjustments">
  & {
    openWaitBackoff: OpenWaitBackoff | null;
    customRecordError: boolean;
    customIgnoreError: boolean;
    /** What validation changed from the request; empty when the config is as given. */
    adjustments: string[];
  };

/** Drops the predicates (not serialisable) but says whether custom ones are installed. */
export function configSnapshot(config: BreakerConfig): BreakerConfigSnapshot {
  const { recordError, ignoreError, openWaitBackoff, adjustments, ...rest } = config;
  return {
    ...rest,
    openWaitBackoff: openWaitBackoff ? { ...openWaitBackoff } : null,
    customRecordError: recordError !== undefined,
    customIgnoreError: ignoreError !== undefined,
    adjustments: [...(adjustments ?? [])],
  };
}
