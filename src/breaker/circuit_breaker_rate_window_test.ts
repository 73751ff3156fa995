import { assertEquals } from "@std/assert";
import { type BreakerSnapshot, CircuitBreaker } from "./circuit_breaker.ts";
import { createTestClock } from "../testing/test_clock.ts";

/** The snapshot's rates and what they cover, in one comparable row. */
const row = (s: BreakerSnapshot) => ({
  state: s.state,
  failureRate: s.failureRate,
  buffered: s.bufferedCalls,
  over: s.rateWindow.calls,
  atOpening: s.rateWindow.atOpening,
  minimum: s.rateWindow.minimumNumberOfCalls,
});

/** Rates are null exactly below the minimum of the window they are computed over. */
function assertConsistent(s: BreakerSnapshot) {
  const judged = s.rateWindow.calls !== "none" && s.bufferedCalls > 0 &&
    s.bufferedCalls >= s.rateWindow.minimumNumberOfCalls;
  assertEquals(s.failureRate !== null, judged, JSON.stringify(row(s)));
  assertEquals(s.slowCallRate !== null, judged, JSON.stringify(row(s)));
}

Deno.test("snapshot: rateWindow names the calls the rates cover and their minimum, in every state", async () => {
  const clock = createTestClock(1_700_000_000_000);
  const cb = new CircuitBreaker("kafka-publisher", { maxWaitDurationInHalfOpenState: 5_000 }, {
    clock,
  });
  const calls = async (n: number, fail: boolean) => {
    for (let i = 0; i < n; i++) {
      await cb.execute(() => fail ? Promise.reject(new Error("down")) : Promise.resolve())
        .catch(() => {});
    }
  };
  const seen: ReturnType<typeof row>[] = [];
  const look = () => {
    const s = cb.snapshot();
    assertConsistent(s);
    seen.push(row(s));
  };
  await calls(2, true);
  look(); // CLOSED below the minimum
  await calls(3, true);
  look(); // OPEN: the five calls that opened it
  clock.advance(30_000);
  await calls(1, true);
  look(); // HALF_OPEN: one trial of three
  await calls(1, true);
  look(); // OPEN: two failed trials decided it
  clock.advance(30_000);
  await calls(1, false);
  clock.advance(5_000);
  look(); // OPEN: half-open undecided when its wait ran out
  for (const state of ["FORCED_OPEN", "DISABLED", "METRICS_ONLY", "FORCED_HALF_OPEN"] as const) {
    cb.transitionTo(state, { reason: "test" });
    look();
  }
  const closed = { over: "sliding-window", atOpening: false, minimum: 5 };
  const trials = { over: "half-open-trials", atOpening: false, minimum: 3 };
  const none = { over: "none", atOpening: false, minimum: 0, failureRate: null, buffered: 0 };
  assertEquals(seen, [
    { state: "CLOSED", failureRate: null, buffered: 2, ...closed },
    { state: "OPEN", failureRate: 100, buffered: 5, ...closed, atOpening: true },
    { state: "HALF_OPEN", failureRate: null, buffered: 1, ...trials },
    // Decided on the trials seen so far: 2 of 2 failed is 100 % over a minimum of 1.
    { state: "OPEN", failureRate: 100, buffered: 2, ...trials, atOpening: true, minimum: 1 },
    { state: "OPEN", failureRate: null, buffered: 1, ...trials, atOpening: true },
    { state: "FORCED_OPEN", ...none },
    { state: "DISABLED", ...none },
    { state: "METRICS_ONLY", failureRate: null, buffered: 0, ...closed },
    { state: "FORCED_HALF_OPEN", failureRate: null, buffered: 0, ...closed },
  ]);
  cb.dispose();
});
