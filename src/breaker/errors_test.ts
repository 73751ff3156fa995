import { assert, assertEquals, assertInstanceOf, assertStringIncludes } from "@std/assert";
import { CallNotPermittedError, IllegalTransitionError } from "./errors.ts";

Deno.test("CallNotPermittedError carries breaker name, state and retry hint", () => {
  const e = new CallNotPermittedError("kafka-publisher", "OPEN", 1234);
  assertInstanceOf(e, Error);
  assertEquals(e.name, "CallNotPermittedError");
  assertEquals(e.breakerName, "kafka-publisher");
  assertEquals(e.state, "OPEN");
  assertEquals(e.retryAfterMs, 1234);
  assertStringIncludes(e.message, "kafka-publisher");
  assertStringIncludes(e.message, "OPEN");
  assertStringIncludes(e.message, "1234 ms");
});

Deno.test("CallNotPermittedError without a retry hint says nothing about retrying", () => {
  const e = new CallNotPermittedError("b", "FORCED_OPEN", null);
  assertEquals(e.retryAfterMs, null);
  assert(!e.message.includes("retry"));
});

Deno.test("IllegalTransitionError lists the allowed targets in fields and message", () => {
  const e = new IllegalTransitionError("CLOSED", "HALF_OPEN", ["OPEN", "DISABLED"]);
  assertInstanceOf(e, Error);
  assertEquals(e.name, "IllegalTransitionError");
  assertEquals(e.from, "CLOSED");
  assertEquals(e.to, "HALF_OPEN");
  assertEquals(e.allowed, ["OPEN", "DISABLED"]);
  assertStringIncludes(e.message, "CLOSED -> HALF_OPEN");
  assertStringIncludes(e.message, "OPEN, DISABLED");
});
