import { assert, assertEquals } from "@std/assert";
import { BREAKER_EVENT_TYPES, callEvent, isCallBody } from "./events.ts";

Deno.test("the event type list names all eight types", () => {
  assertEquals(BREAKER_EVENT_TYPES.length, 8);
  assert(BREAKER_EVENT_TYPES.includes("SLOW_CALL_RATE_EXCEEDED"));
});

Deno.test("call events carry only their type's fields and are frozen", () => {
  const ok = callEvent("SUCCESS", "b", 5, "CLOSED", 1, 2.5, false, true, "ignored text", 7);
  assertEquals(ok, {
    type: "SUCCESS",
    breakerName: "b",
    at: 5,
    state: "CLOSED",
    seq: 1,
    durationMs: 2.5,
    late: false,
    slow: true,
  });
  assert(Object.isFrozen(ok));
  assert(isCallBody({ type: "NOT_PERMITTED", retryAfterMs: null }));
  assert(!isCallBody({ type: "RESET" }));
});
