import { assert, assertEquals, assertFalse } from "@std/assert";
import { evaluateHealth, halfOpenVerdict, isUnhealthy, percentage } from "./health.ts";

const policy = { failureRateThreshold: 50, slowCallRateThreshold: 50, minimumNumberOfCalls: 4 };

Deno.test("percentage is null below the minimum and for an empty window", () => {
  assertEquals(percentage(3, 3, 4), null);
  assertEquals(percentage(0, 0, 1), null);
  assertEquals(percentage(1, 4, 4), 25);
  assertEquals(percentage(0, 5, 4), 0);
  assertEquals(percentage(5, 5, 4), 100);
});

Deno.test("rates are unknown and never unhealthy before the minimum number of calls", () => {
  const h = evaluateHealth({ total: 3, failed: 3, slow: 3, slowFailed: 3 }, policy);
  assertEquals(h.failureRate, null);
  assertEquals(h.slowCallRate, null);
  assertFalse(isUnhealthy(h));
});

Deno.test("a failure rate exactly at the threshold is unhealthy", () => {
  const h = evaluateHealth({ total: 4, failed: 2, slow: 0, slowFailed: 0 }, policy);
  assertEquals(h.failureRate, 50);
  assert(h.failureRateExceeded);
  assertFalse(h.slowCallRateExceeded);
  assert(isUnhealthy(h));
});

Deno.test("a failure rate just under the threshold is healthy", () => {
  const h = evaluateHealth({ total: 5, failed: 2, slow: 0, slowFailed: 0 }, policy);
  assertEquals(h.failureRate, 40);
  assertFalse(isUnhealthy(h));
});

Deno.test("slow successes alone can make a window unhealthy", () => {
  const h = evaluateHealth({ total: 4, failed: 0, slow: 3, slowFailed: 0 }, policy);
  assertEquals(h.failureRate, 0);
  assertEquals(h.slowCallRate, 75);
  assert(h.slowCallRateExceeded);
  assertFalse(h.failureRateExceeded);
  assert(isUnhealthy(h));
});

Deno.test("slow failures count towards both rates", () => {
  const h = evaluateHealth({ total: 4, failed: 2, slow: 2, slowFailed: 2 }, {
    ...policy,
    failureRateThreshold: 60,
  });
  assertEquals(h.failureRate, 50);
  assertEquals(h.slowCallRate, 50);
  assertFalse(h.failureRateExceeded);
  assert(h.slowCallRateExceeded);
});

Deno.test("halfOpenVerdict decides as soon as the remaining trials cannot change the outcome", () => {
  const c = (total: number, failed: number, slow = 0) => ({ total, failed, slow, slowFailed: 0 });
  // 4 trials, 50 %: two failures already make 50 % whatever the other two do.
  assertEquals(halfOpenVerdict(c(2, 2), policy, 4), "unhealthy");
  assertEquals(halfOpenVerdict(c(3, 2, 0), policy, 4), "unhealthy");
  assertEquals(halfOpenVerdict(c(2, 0, 2), policy, 4), "unhealthy");
  // One failure of two: the last two decide.
  assertEquals(halfOpenVerdict(c(2, 1), policy, 4), "undecided");
  // Three successes: one more failure is 25 % < 50 %, so healthy already.
  assertEquals(halfOpenVerdict(c(3, 0), policy, 4), "healthy");
  assertEquals(halfOpenVerdict(c(4, 1), policy, 4), "healthy");
  assertEquals(halfOpenVerdict(c(1, 0), policy, 4), "undecided");
  assertEquals(halfOpenVerdict(c(0, 0), policy, 4), "undecided");
});

Deno.test("thresholds compare exactly: 29 of 50 is 58 %, 57 of 100 is 57 %, 29 of 100 is 29 %", () => {
  for (const [part, total] of [[29, 50], [57, 100], [29, 100]] as const) {
    const threshold = (part * 100) / total;
    const counts = { total, failed: part, slow: part, slowFailed: part };
    const h = evaluateHealth(counts, {
      failureRateThreshold: threshold,
      slowCallRateThreshold: threshold,
      minimumNumberOfCalls: 1,
    });
    assert(h.failureRateExceeded, `${part}/${total} at ${threshold}`);
    assert(h.slowCallRateExceeded, `${part}/${total} at ${threshold}`);
    // Shown rounded: 57.99999999999999 would read as below its own threshold.
    assertEquals(h.failureRate, threshold);
    assertEquals(percentage(part, total, 1), threshold);
  }
});

Deno.test("the early half-open verdict compares exactly too", () => {
  const verdictOf = (failed: number, total: number, trials: number, threshold: number) =>
    halfOpenVerdict({ total, failed, slow: 0, slowFailed: 0 }, {
      failureRateThreshold: threshold,
      slowCallRateThreshold: 100,
      minimumNumberOfCalls: trials,
    }, trials);
  assertEquals(verdictOf(29, 29, 100, 29), "unhealthy");
  assertEquals(verdictOf(57, 57, 100, 57), "unhealthy");
  assertEquals(verdictOf(29, 50, 50, 58), "unhealthy");
  // 28 failed and 71 healthy out of 100: one trial left can reach 29 %, so not healthy yet.
  assertEquals(verdictOf(28, 99, 100, 29), "undecided");
  assertEquals(verdictOf(27, 99, 100, 29), "healthy");
});
