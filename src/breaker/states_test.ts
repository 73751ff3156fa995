import { assert, assertEquals, assertFalse } from "@std/assert";
import {
  allowedTargets,
  BREAKER_STATES,
  type BreakerState,
  isBreakerState,
  isLegalTransition,
} from "./states.ts";

Deno.test("there are exactly the seven upper-case states", () => {
  assertEquals([...BREAKER_STATES], [
    "CLOSED",
    "OPEN",
    "HALF_OPEN",
    "DISABLED",
    "METRICS_ONLY",
    "FORCED_OPEN",
    "FORCED_HALF_OPEN",
  ]);
  assert(Object.isFrozen(BREAKER_STATES));
});

Deno.test("isBreakerState accepts the seven names only", () => {
  for (const s of BREAKER_STATES) assert(isBreakerState(s));
  assertFalse(isBreakerState("closed"));
  assertFalse(isBreakerState("HALF-OPEN"));
  assertFalse(isBreakerState(undefined));
  assertFalse(isBreakerState(3));
});

Deno.test("exactly the three Resilience4j transitions are illegal", () => {
  const illegal: string[] = [];
  for (const from of BREAKER_STATES) {
    for (const to of BREAKER_STATES) {
      if (!isLegalTransition(from, to)) illegal.push(`${from}->${to}`);
    }
  }
  assertEquals(illegal.sort(), [
    "CLOSED->HALF_OPEN",
    "METRICS_ONLY->HALF_OPEN",
    "METRICS_ONLY->OPEN",
  ]);
});

Deno.test("allowedTargets lists legal targets without the state itself", () => {
  assertEquals(allowedTargets("CLOSED"), [
    "OPEN",
    "DISABLED",
    "METRICS_ONLY",
    "FORCED_OPEN",
    "FORCED_HALF_OPEN",
  ]);
  assertEquals(allowedTargets("METRICS_ONLY"), [
    "CLOSED",
    "DISABLED",
    "FORCED_OPEN",
    "FORCED_HALF_OPEN",
  ]);
  const fromOpen: BreakerState[] = allowedTargets("OPEN");
  assertEquals(fromOpen.length, 6);
});
