import { assert, assertEquals } from "@std/assert";
import { type BreakerSnapshot, CircuitBreaker } from "../../breaker/circuit_breaker.ts";
import type { BreakerConfig } from "../../breaker/config.ts";
import { createTestClock } from "../../testing/test_clock.ts";
import { bufferedText, rateView, windowText } from "./rate_text.js";

/** A breaker on a virtual clock with the defaults (minimum 5, window 10, 3 trials, 50 %). */
function breaker(config: Partial<BreakerConfig> = {}) {
  const clock = createTestClock(1_700_000_000_000);
  const cb = new CircuitBreaker("kafka-publisher", config, { clock });
  const call = (fail: boolean) =>
    cb.execute(() => fail ? Promise.reject(new Error("broker down")) : Promise.resolve())
      .catch(() => {});
  const calls = async (n: number, fail: boolean) => {
    for (let i = 0; i < n; i++) await call(fail);
  };
  // As the page gets it: through JSON.
  const snap = (): BreakerSnapshot => JSON.parse(JSON.stringify(cb.snapshot()));
  return { cb, clock, calls, snap };
}

/** Everything the card says about one snapshot. */
function card(s: BreakerSnapshot) {
  const f = rateView(s, "failure");
  const slow = rateView(s, "slow");
  return {
    failure: f.value,
    failureBar: f.percent,
    failureFoot: f.foot,
    slow: slow.value,
    slowFoot: slow.foot,
    window: windowText(s),
    buffered: bufferedText(s),
  };
}

/** A rate is shown exactly when the window holds its minimum, and then a bar is drawn. */
function assertAgrees(s: BreakerSnapshot) {
  for (const kind of ["failure", "slow"] as const) {
    const v = rateView(s, kind);
    const judged = s.rateWindow.calls !== "none" &&
      s.bufferedCalls > 0 && s.bufferedCalls >= s.rateWindow.minimumNumberOfCalls;
    assertEquals(v.percent !== null, judged, `${s.state} ${kind}: ${v.value}`);
    assertEquals(v.value.startsWith("not "), !judged, `${s.state} ${kind}: ${v.value}`);
    assert(!/needs \d+ calls/.test(v.foot), v.foot);
  }
}

Deno.test("rate text: below the minimum, CLOSED says not evaluated yet with the count, and no bar", async () => {
  const { cb, calls, snap } = breaker();
  await calls(2, true);
  const s = snap();
  assertEquals(card(s), {
    failure: "not evaluated yet (2 of 5 calls)",
    failureBar: null,
    failureFoot: "threshold 50.0 %",
    slow: "not evaluated yet (2 of 5 calls)",
    slowFoot: "threshold 50.0 % · slow = over 5,000 ms",
    window: "window: last 10 calls",
    buffered: "2 / 10",
  });
  assertAgrees(s);
  cb.dispose();
});

Deno.test("rate text: at the minimum the rate is drawn with what it counts", async () => {
  const { cb, calls, snap } = breaker();
  await calls(4, false);
  await calls(1, true);
  const s = snap();
  assertEquals(card(s), {
    failure: "20.0 %",
    failureBar: 20,
    failureFoot: "threshold 50.0 % · 1 of 5 calls failed",
    slow: "0.0 %",
    slowFoot: "threshold 50.0 % · 0 of 5 calls slow (over 5,000 ms)",
    window: "window: last 10 calls",
    buffered: "5 / 10",
  });
  assertEquals([rateView(s, "failure").level, rateView(s, "slow").level], ["ok", "ok"]);
  assertAgrees(s);
  cb.dispose();
});

Deno.test("rate text: OPEN after a trip shows the calls that opened it", async () => {
  const { cb, calls, snap } = breaker();
  await calls(5, true);
  const s = snap();
  assertEquals(s.state, "OPEN");
  assertEquals(card(s).failure, "100.0 %");
  assertEquals(card(s).failureFoot, "threshold 50.0 % · 5 of 5 calls failed");
  assertEquals(card(s).window, "window: the 5 calls before opening");
  assertEquals(rateView(s, "failure").level, "bad");
  assertAgrees(s);
  cb.dispose();
});

Deno.test("rate text: HALF_OPEN counts its trials against the trial count, not the CLOSED minimum", async () => {
  const { cb, clock, calls, snap } = breaker();
  await calls(5, true);
  clock.advance(30_000);
  await calls(1, true);
  const s = snap();
  assertEquals(s.state, "HALF_OPEN");
  assertEquals(card(s), {
    failure: "not evaluated yet (1 of 3 trial calls)",
    failureBar: null,
    failureFoot: "threshold 50.0 %",
    slow: "not evaluated yet (1 of 3 trial calls)",
    slowFoot: "threshold 50.0 % · slow = over 5,000 ms",
    window: "window: the half-open trials (3 calls)",
    buffered: "1 / 3",
  });
  assertAgrees(s);
  cb.dispose();
});

Deno.test("rate text: OPEN again after failed trials (issue 23: 100 % next to 'needs 5 calls, has 2')", async () => {
  const { cb, clock, calls, snap } = breaker();
  await calls(5, true);
  clock.advance(30_000);
  await calls(2, true);
  const s = snap();
  assertEquals([s.state, s.failureRate, s.bufferedCalls], ["OPEN", 100, 2]);
  assertEquals(card(s), {
    failure: "100.0 %",
    failureBar: 100,
    failureFoot: "threshold 50.0 % · 2 of 2 trial calls failed",
    slow: "0.0 %",
    slowFoot: "threshold 50.0 % · 0 of 2 trial calls slow (over 5,000 ms)",
    window: "window: the 2 trial calls before opening",
    buffered: "2 / 3",
  });
  assertAgrees(s);
  cb.dispose();
});

Deno.test("rate text: OPEN after an undecided half-open says which trials were not enough", async () => {
  const { cb, clock, calls, snap } = breaker({ maxWaitDurationInHalfOpenState: 5_000 });
  await calls(5, true);
  clock.advance(30_000);
  await calls(1, false);
  clock.advance(5_000);
  const s = snap();
  assertEquals(s.state, "OPEN");
  assertEquals(card(s).failure, "not evaluated (1 of 3 trial calls)");
  assertEquals(card(s).window, "window: the 1 trial call before opening");
  assertAgrees(s);
  cb.dispose();
});

Deno.test("rate text: states without a window say so instead of asking for calls", () => {
  const { cb, snap } = breaker();
  for (const state of ["FORCED_OPEN", "DISABLED"] as const) {
    cb.transitionTo(state, { reason: "test" });
    const s = snap();
    assertEquals(card(s), {
      failure: "not recorded",
      failureBar: null,
      failureFoot: `threshold 50.0 % · no window in ${state}`,
      slow: "not recorded",
      slowFoot: `threshold 50.0 % · no window in ${state}`,
      window: `no window in ${state}`,
      buffered: "—",
    });
    assertAgrees(s);
  }
  cb.dispose();
});

Deno.test("rate text: METRICS_ONLY, FORCED_HALF_OPEN and time windows use their sliding window", async () => {
  const { cb, calls, snap } = breaker({
    slidingWindowType: "TIME_BASED",
    slidingWindowSize: 60,
    minimumNumberOfCalls: 3,
  });
  for (const state of ["METRICS_ONLY", "FORCED_HALF_OPEN"] as const) {
    cb.transitionTo(state, { reason: "test" });
    await calls(state === "METRICS_ONLY" ? 3 : 1, true);
    const s = snap();
    assertEquals(card(s).window, "window: last 60 s");
    assertEquals(card(s).buffered, `${s.bufferedCalls} in 60 s`);
    assertAgrees(s);
  }
  assertEquals(card(snap()).failure, "not evaluated yet (1 of 3 calls)");
  cb.dispose();
});
