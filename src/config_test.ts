import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import { ConfigError, loadConfig, redactedConfig } from "./config.ts";

Deno.test("defaults follow the seed: embedded store, local broker, acks-all timeouts, breaker thresholds", () => {
  const c = loadConfig({});
  assertEquals(c.port, 8080);
  assertEquals(c.databaseUrl, null);
  assertEquals(c.kafka.brokers, ["127.0.0.1:9092"]);
  assertEquals(c.kafka.topic, "payment-events");
  assertEquals(c.kafka.requestTimeoutMs, 10_000);
  assertEquals(c.kafka.deliveryTimeoutMs, 15_000);
  assertEquals(c.kafka.retries, 1);
  assertEquals(c.adminToken, null);
  assertEquals(c.breaker.failureRateThreshold, 50);
  assertEquals(c.breaker.slowCallDurationThreshold, 5000);
  assertEquals(c.breaker.minimumNumberOfCalls, 5);
  assertEquals(c.breaker.waitDurationInOpenState, 30_000);
});

Deno.test("BREAKER_* variables map onto the breaker config, backoff included", () => {
  const c = loadConfig({
    BREAKER_FAILURE_RATE_THRESHOLD: "25",
    BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: "1500",
    BREAKER_SLIDING_WINDOW_TYPE: "time_based",
    BREAKER_OPEN_WAIT_BACKOFF_MULTIPLIER: "2",
    BREAKER_OPEN_WAIT_BACKOFF_MAX_WAIT_MS: "120000",
    BREAKER_OPEN_WAIT_BACKOFF_JITTER: "0.1",
    KAFKA_BROKERS: "a:1, b:2",
  });
  assertEquals(c.breaker.failureRateThreshold, 25);
  assertEquals(c.breaker.slowCallDurationThreshold, 1500);
  assertEquals(c.breaker.slidingWindowType, "TIME_BASED");
  assertEquals(c.breaker.openWaitBackoff, { multiplier: 2, maxWaitMs: 120_000, jitter: 0.1 });
  assertEquals(c.kafka.brokers, ["a:1", "b:2"]);
});

Deno.test("every bad variable is named with its value in one error", () => {
  const err = assertThrows(
    () =>
      loadConfig({
        PORT: "http",
        KAFKA_REQUEST_TIMEOUT_MS: "-1",
        BREAKER_FAILURE_RATE_THRESHOLD: "150",
        LOG_LEVEL: "loud",
        ADMIN_TOKEN: "short",
        KAFKA_BROKERS: "nohost",
      }),
    ConfigError,
  );
  const text = err.message;
  assertMatch(text, /PORT must be a number, got "http"/);
  assertMatch(text, /KAFKA_REQUEST_TIMEOUT_MS must be in \[100, inf\], got -1/);
  assertMatch(text, /BREAKER_FAILURE_RATE_THRESHOLD: .*150/);
  assertMatch(text, /LOG_LEVEL .* got "loud"/);
  assertMatch(text, /ADMIN_TOKEN must be at least 16/);
  assertMatch(text, /KAFKA_BROKERS .* got "nohost"/);
  assertEquals(err.problems.length, 6);
});

Deno.test("a non-numeric breaker value and a breaker rule violation are both reported by variable", () => {
  assertMatch(
    assertThrows(() => loadConfig({ BREAKER_MINIMUM_NUMBER_OF_CALLS: "five" }), ConfigError)
      .message,
    /BREAKER_MINIMUM_NUMBER_OF_CALLS must be a number, got "five"/,
  );
  assertMatch(
    assertThrows(() => loadConfig({ BREAKER_SLIDING_WINDOW_TYPE: "ROUND" }), ConfigError).message,
    /BREAKER_SLIDING_WINDOW_TYPE: .*ROUND/,
  );
});

Deno.test("the request timeout may not exceed the delivery deadline", () => {
  assertMatch(
    assertThrows(
      () => loadConfig({ KAFKA_REQUEST_TIMEOUT_MS: "20000", KAFKA_DELIVERY_TIMEOUT_MS: "15000" }),
      ConfigError,
    ).message,
    /must not exceed KAFKA_DELIVERY_TIMEOUT_MS/,
  );
});

Deno.test("the shutdown drain must end before the shutdown's bound", () => {
  assertEquals(loadConfig({}).shutdownDrainMs, 2000);
  assertMatch(
    assertThrows(
      () => loadConfig({ SHUTDOWN_DRAIN_MS: "5000", SHUTDOWN_TIMEOUT_MS: "5000" }),
      ConfigError,
    ).message,
    /SHUTDOWN_DRAIN_MS \(5000\) must be less than SHUTDOWN_TIMEOUT_MS \(5000\)/,
  );
});

Deno.test("the redacted config hides the password and the admin token", () => {
  const c = loadConfig({
    DATABASE_URL: "postgres://app:s3cret@db:5432/payments",
    ADMIN_TOKEN: "0123456789abcdef-secret",
  });
  const shown = JSON.stringify(redactedConfig(c));
  assertEquals(shown.includes("s3cret"), false);
  assertEquals(shown.includes("0123456789abcdef-secret"), false);
  assertMatch(shown, /app:\*\*\*@db/);
});

Deno.test("BREAKER_SLIDING_WINDOW_SIZE=3 alone starts: the default minimum of 5 is lowered to 3", () => {
  const c = loadConfig({ BREAKER_SLIDING_WINDOW_SIZE: "3" });
  assertEquals(c.breaker.slidingWindowSize, 3);
  assertEquals(c.breaker.minimumNumberOfCalls, 3);
  assertEquals(c.breaker.adjustments, [
    "minimumNumberOfCalls 5 lowered to the COUNT_BASED slidingWindowSize 3",
  ]);
});

Deno.test("a size beyond its bound or a zero slow-call threshold is named by variable", () => {
  const err = assertThrows(
    () => loadConfig({ BREAKER_PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE: "4294967296" }),
    ConfigError,
  );
  assertMatch(
    err.message,
    /BREAKER_PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE: .*\[1, 100000\], got 4294967296/,
  );
  assertMatch(
    assertThrows(() => loadConfig({ BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: "0" }), ConfigError)
      .message,
    /BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: slowCallDurationThreshold must be .*got 0/,
  );
});

Deno.test("delivery guarantee: at-least-once by default, exactly-once on request, anything else named", () => {
  assertEquals(loadConfig({}).deliveryGuarantee, "at-least-once");
  const eo = loadConfig({
    DELIVERY_GUARANTEE: "exactly-once",
    KAFKA_REQUEST_TIMEOUT_MS: "1000",
    KAFKA_DELIVERY_TIMEOUT_MS: "2000",
  });
  assertEquals(eo.deliveryGuarantee, "exactly-once");
  assertEquals(eo.transactionTimeoutMs, 17_000, "delivery deadline + 15 s by default");
  assertEquals(eo.killAfterCommit, null);
  const err = assertThrows(
    () =>
      loadConfig({
        DELIVERY_GUARANTEE: "exactly_once",
        KAFKA_TRANSACTION_TIMEOUT_MS: "999",
        FAILPOINT: "kill-after-commit:0",
      }),
    ConfigError,
  );
  assertMatch(err.message, /DELIVERY_GUARANTEE .*at-least-once.*exactly-once.* got "exactly_once"/);
  assertMatch(err.message, /KAFKA_TRANSACTION_TIMEOUT_MS must be in \[1000, 900000\], got 999/);
  assertMatch(
    err.message,
    /FAILPOINT must be kill-after-commit:<n> \(n >= 1\), got "kill-after-commit:0"/,
  );
  assertEquals(loadConfig({ FAILPOINT: "kill-after-commit:12" }).killAfterCommit, 12);
});

Deno.test("SETTLEMENT_URL: unset by default, an http(s) base URL without its trailing slash", () => {
  assertEquals(loadConfig({}).settlementUrl, null);
  assertEquals(loadConfig({ SETTLEMENT_URL: " " }).settlementUrl, null);
  assertEquals(
    loadConfig({ SETTLEMENT_URL: "http://payment-settlement:8082/" }).settlementUrl,
    "http://payment-settlement:8082",
  );
  assertEquals(
    loadConfig({ SETTLEMENT_URL: "https://ops.example/settlement/" }).settlementUrl,
    "https://ops.example/settlement",
  );
});

Deno.test("SETTLEMENT_URL: another scheme, a non-URL, a query or credentials are named, no secret shown", () => {
  const bad = (value: string) =>
    assertThrows(() => loadConfig({ SETTLEMENT_URL: value }), ConfigError).message;
  assertMatch(
    bad("ftp://settlement:8082"),
    /SETTLEMENT_URL must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/settlement:8082"/,
  );
  assertMatch(
    bad("payment-settlement:8082"),
    /SETTLEMENT_URL must be an http:\/\/ or https:\/\/ URL, got "payment-settlement:8082"/,
  );
  assertMatch(bad("not a url"), /SETTLEMENT_URL must be an http:\/\/ .*got "not a url"/);
  assertMatch(
    bad("http://s:8082/?a=1"),
    /SETTLEMENT_URL must be a base URL without query or fragment, got "http:\/\/s:8082\/\?a=1"/,
  );
  const withSecret = bad("http://ops:s3cret@s:8082");
  assertMatch(
    withSecret,
    /SETTLEMENT_URL must not carry credentials, got "http:\/\/\*\*\*@s:8082\/"/,
  );
  assertEquals(withSecret.includes("s3cret"), false);
});
