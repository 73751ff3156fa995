import { assert, assertEquals, assertFalse, assertStringIncludes, assertThrows } from "@std/assert";
import {
  BREAKER_CONFIG_FIELDS,
  BREAKER_NUMERIC_FIELDS,
  type BreakerConfig,
  configSnapshot,
  DEFAULT_BREAKER_CONFIG,
  MAX_SIZE_SETTING,
  validateBreakerConfig,
} from "./config.ts";

Deno.test("defaults follow the seed and bound half-open waiting", () => {
  assertEquals({ ...DEFAULT_BREAKER_CONFIG }, {
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
  assert(Object.isFrozen(DEFAULT_BREAKER_CONFIG));
});

Deno.test("validateBreakerConfig fills defaults and keeps given values", () => {
  const c = validateBreakerConfig({ failureRateThreshold: 25.5, slidingWindowType: "TIME_BASED" });
  assertEquals(c.failureRateThreshold, 25.5);
  assertEquals(c.slidingWindowType, "TIME_BASED");
  assertEquals(c.slidingWindowSize, 10);
  assertEquals(c.openWaitBackoff, null);
  assertEquals(c.recordError, undefined);
});

Deno.test("undefined values mean the default", () => {
  const c = validateBreakerConfig({
    failureRateThreshold: undefined,
    slidingWindowSize: undefined,
  });
  assertEquals(c.failureRateThreshold, 50);
  assertEquals(c.slidingWindowSize, 10);
});

const rejects = (
  partial: Record<string, unknown>,
  errorClass: typeof RangeError | typeof TypeError,
  message: string,
) => {
  assertThrows(() => validateBreakerConfig(partial as Partial<BreakerConfig>), errorClass, message);
};

Deno.test("invalid rates are rejected naming field and value", () => {
  rejects(
    { failureRateThreshold: 150 },
    RangeError,
    "failureRateThreshold must be in (0, 100], got 150",
  );
  rejects(
    { failureRateThreshold: 0 },
    RangeError,
    "failureRateThreshold must be in (0, 100], got 0",
  );
  rejects(
    { slowCallRateThreshold: -1 },
    RangeError,
    "slowCallRateThreshold must be in (0, 100], got -1",
  );
  rejects(
    { failureRateThreshold: "50" },
    TypeError,
    'failureRateThreshold must be a number, got "50"',
  );
  rejects(
    { failureRateThreshold: NaN },
    TypeError,
    "failureRateThreshold must be a number, got NaN",
  );
  rejects({ slowCallRateThreshold: Infinity }, RangeError, "slowCallRateThreshold");
});

Deno.test("invalid sizes are rejected naming field and value", () => {
  rejects({ slidingWindowSize: 0 }, RangeError, "slidingWindowSize must be an integer in [1,");
  rejects({ slidingWindowSize: 2.5 }, RangeError, "got 2.5");
  rejects({ minimumNumberOfCalls: -3 }, RangeError, "minimumNumberOfCalls");
  rejects(
    { permittedNumberOfCallsInHalfOpenState: 0 },
    RangeError,
    "permittedNumberOfCallsInHalfOpenState",
  );
  rejects({ eventBufferSize: 0 }, RangeError, "eventBufferSize must be an integer in [1,");
});

Deno.test("invalid durations are rejected naming field and value", () => {
  rejects(
    { slowCallDurationThreshold: -1 },
    RangeError,
    "slowCallDurationThreshold must be an integer in [1, 9007199254740991], got -1",
  );
  rejects({ slowCallDurationThreshold: 1.5 }, RangeError, "got 1.5");
  assertEquals(
    validateBreakerConfig({ slowCallDurationThreshold: 1 }).slowCallDurationThreshold,
    1,
  );
  rejects(
    { waitDurationInOpenState: 0 },
    RangeError,
    "waitDurationInOpenState must be an integer in [1, 2147483647], got 0",
  );
  rejects({ waitDurationInOpenState: 2 ** 31 }, RangeError, "got 2147483648");
});

Deno.test("maxWaitDurationInHalfOpenState 0 (wait forever) is refused with an explanation", () => {
  rejects(
    { maxWaitDurationInHalfOpenState: 0 },
    RangeError,
    "maxWaitDurationInHalfOpenState must be > 0 (0 = wait forever is not supported), got 0",
  );
  rejects({ maxWaitDurationInHalfOpenState: -5 }, RangeError, "maxWaitDurationInHalfOpenState");
});

Deno.test("an unknown window type or field is a TypeError", () => {
  rejects(
    { slidingWindowType: "COUNT" },
    TypeError,
    'slidingWindowType must be one of COUNT_BASED, TIME_BASED, got "COUNT"',
  );
  rejects(
    { failureRateTreshold: 10 },
    TypeError,
    'unknown breaker config field "failureRateTreshold"',
  );
});

Deno.test("predicates must be functions", () => {
  rejects({ recordError: true }, TypeError, "recordError must be a function, got true");
  rejects({ ignoreError: "x" }, TypeError, 'ignoreError must be a function, got "x"');
  const ignoreError = (_e: unknown) => true;
  assertEquals(validateBreakerConfig({ ignoreError }).ignoreError, ignoreError);
});

Deno.test("backoff settings are validated", () => {
  const ok = validateBreakerConfig({
    openWaitBackoff: { multiplier: 2, maxWaitMs: 300_000, jitter: 0.2 },
  });
  assertEquals(ok.openWaitBackoff, { multiplier: 2, maxWaitMs: 300_000, jitter: 0.2 });
  const b = (x: Record<string, unknown>) => ({
    openWaitBackoff: { multiplier: 2, maxWaitMs: 60_000, jitter: 0, ...x },
  });
  rejects(
    b({ multiplier: 0.5 }),
    RangeError,
    "openWaitBackoff.multiplier must be a finite number >= 1, got 0.5",
  );
  rejects(b({ jitter: 1.5 }), RangeError, "openWaitBackoff.jitter must be in [0, 1], got 1.5");
  rejects(
    b({ maxWaitMs: 1_000 }),
    RangeError,
    "openWaitBackoff.maxWaitMs must be >= waitDurationInOpenState (30000), got 1000",
  );
  rejects(
    b({ multiplier: undefined }),
    TypeError,
    "openWaitBackoff.multiplier must be a number, got undefined",
  );
  rejects(b({ factor: 3 }), TypeError, 'openWaitBackoff has an unknown field "factor"');
  rejects({ openWaitBackoff: 5 }, TypeError, "openWaitBackoff must be an object, got 5");
});

Deno.test("validated config is frozen", () => {
  const c = validateBreakerConfig({});
  assert(Object.isFrozen(c));
});

Deno.test("field metadata gives env names in upper snake case with _MS for milliseconds", () => {
  const env = Object.fromEntries(BREAKER_CONFIG_FIELDS.map((f) => [f.key, f.env]));
  assertEquals(env, {
    failureRateThreshold: "BREAKER_FAILURE_RATE_THRESHOLD",
    slowCallRateThreshold: "BREAKER_SLOW_CALL_RATE_THRESHOLD",
    slowCallDurationThreshold: "BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS",
    minimumNumberOfCalls: "BREAKER_MINIMUM_NUMBER_OF_CALLS",
    slidingWindowType: "BREAKER_SLIDING_WINDOW_TYPE",
    slidingWindowSize: "BREAKER_SLIDING_WINDOW_SIZE",
    waitDurationInOpenState: "BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS",
    permittedNumberOfCallsInHalfOpenState: "BREAKER_PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE",
    maxWaitDurationInHalfOpenState: "BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS",
    eventBufferSize: "BREAKER_EVENT_BUFFER_SIZE",
    "openWaitBackoff.multiplier": "BREAKER_OPEN_WAIT_BACKOFF_MULTIPLIER",
    "openWaitBackoff.maxWaitMs": "BREAKER_OPEN_WAIT_BACKOFF_MAX_WAIT_MS",
    "openWaitBackoff.jitter": "BREAKER_OPEN_WAIT_BACKOFF_JITTER",
  });
});

Deno.test("field metadata covers every scalar default and types it", () => {
  const keys = BREAKER_CONFIG_FIELDS.map((f) => f.key);
  for (const k of Object.keys(DEFAULT_BREAKER_CONFIG)) assert(keys.includes(k as never), k);
  const windowType = BREAKER_CONFIG_FIELDS.find((f) => f.key === "slidingWindowType");
  assertEquals(windowType?.kind, "enum");
  assertEquals(windowType?.values, ["COUNT_BASED", "TIME_BASED"]);
  assertEquals(BREAKER_CONFIG_FIELDS.find((f) => f.key === "failureRateThreshold")?.kind, "number");
  assertEquals(BREAKER_CONFIG_FIELDS.find((f) => f.key === "slidingWindowSize")?.kind, "integer");
});

Deno.test("BREAKER_NUMERIC_FIELDS lists the top-level numeric settings", () => {
  assertEquals([...BREAKER_NUMERIC_FIELDS], [
    "failureRateThreshold",
    "slowCallRateThreshold",
    "slowCallDurationThreshold",
    "minimumNumberOfCalls",
    "slidingWindowSize",
    "waitDurationInOpenState",
    "permittedNumberOfCallsInHalfOpenState",
    "maxWaitDurationInHalfOpenState",
    "eventBufferSize",
  ]);
});

Deno.test("configSnapshot drops predicates but reports them and survives JSON", () => {
  const c = validateBreakerConfig({
    recordError: () => true,
    openWaitBackoff: { multiplier: 2, maxWaitMs: 60_000, jitter: 0.1 },
  });
  const s = configSnapshot(c);
  assert(s.customRecordError);
  assertFalse(s.customIgnoreError);
  assertFalse("recordError" in s);
  assertEquals(JSON.parse(JSON.stringify(s)), s);
  assertEquals(s.openWaitBackoff, { multiplier: 2, maxWaitMs: 60_000, jitter: 0.1 });
});

Deno.test("size-like settings have documented upper bounds, checked at construction", () => {
  for (
    const field of [
      "slidingWindowSize",
      "minimumNumberOfCalls",
      "permittedNumberOfCallsInHalfOpenState",
      "eventBufferSize",
    ] as const
  ) {
    const over = MAX_SIZE_SETTING + 1;
    const e = assertThrows(
      () => validateBreakerConfig({ slidingWindowType: "TIME_BASED", [field]: over }),
      RangeError,
    );
    assertStringIncludes(e.message, field);
    assertStringIncludes(e.message, String(over));
    assertThrows(() => validateBreakerConfig({ [field]: 2 ** 32 }), RangeError, field);
    assertEquals(
      validateBreakerConfig({
        slidingWindowType: "TIME_BASED",
        slidingWindowSize: 60,
        [field]: MAX_SIZE_SETTING,
      })[field],
      MAX_SIZE_SETTING,
    );
  }
});

Deno.test("minimumNumberOfCalls above a COUNT_BASED window is lowered to it, as Resilience4j does", () => {
  assertEquals(validateBreakerConfig({ slidingWindowSize: 1 }).minimumNumberOfCalls, 1);
  const c = validateBreakerConfig({ slidingWindowSize: 5, minimumNumberOfCalls: 6 });
  assertEquals(c.minimumNumberOfCalls, 5);
  const snap = configSnapshot(c);
  assertEquals(snap.minimumNumberOfCalls, 5);
  assertEquals(snap.adjustments, [
    "minimumNumberOfCalls 6 lowered to the COUNT_BASED slidingWindowSize 5",
  ]);
  assertEquals(configSnapshot(validateBreakerConfig()).adjustments, []);
  // A time window may need more calls than it has seconds.
  assertEquals(
    validateBreakerConfig({ slidingWindowType: "TIME_BASED", slidingWindowSize: 5 })
      .minimumNumberOfCalls,
    5,
  );
});

Deno.test("slowCallDurationThreshold 0 is refused: it would make every call slow", () => {
  const e = assertThrows(
    () => validateBreakerConfig({ slowCallDurationThreshold: 0 }),
    RangeError,
  );
  assertStringIncludes(e.message, "slowCallDurationThreshold");
  assertStringIncludes(e.message, "got 0");
});
