/** Slow calls counted while still running (running_calls.ts), in virtual time. */
import { assertEquals, assertRejects } from "@std/assert";
import {
  type BreakerConfig,
  type BreakerEvent,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from "./circuit_breaker.ts";
import { CallNotPermittedError } from "./errors.ts";
import { createTestClock } from "../testing/test_clock.ts";

const START = 1_700_000_000_000;

class PerRecord extends Error {}

/** A call the test settles by hand. */
interface Hung {
  settled: Promise<unknown>;
  resolve(): void;
  reject(e?: unknown): void;
}

function setup(config: Partial<BreakerConfig> = {}, options: CircuitBreakerOptions = {}) {
  const clock = createTestClock(START);
  const cb = new CircuitBreaker("kafka-publisher", {
    ignoreError: (e) => e instanceof PerRecord,
    ...config,
  }, { clock, ...options });
  const events: BreakerEvent[] = [];
  cb.subscribe((e) => events.push(e));
  const hang = (): Hung => {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const work = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const settled = cb.execute(() => work).catch((e) => e);
    return { settled, resolve, reject: (e = new Error("broker stalled")) => reject(e) };
  };
  const quick = async (n: number) => {
    for (let i = 0; i < n; i++) await cb.execute(() => Promise.resolve());
  };
  const window = () => {
    const s = cb.snapshot();
    return [s.bufferedCalls, s.failedCalls, s.slowCalls, s.slowFailedCalls];
  };
  return { clock, cb, events, hang, quick, window };
}

Deno.test("a call running past the threshold counts as slow then, not when it ends", async () => {
  const { clock, cb, hang, quick, window } = setup();
  await quick(10); // a full window of successes, as under steady traffic
  const stalled = Array.from({ length: 5 }, hang);
  clock.advance(5_000);
  assertEquals(cb.state, "CLOSED", "at the threshold a call is not slow yet");
  clock.advance(1);
  assertEquals(cb.state, "OPEN");
  assertEquals(cb.snapshot().slowCallRate, 50);
  const opened = cb.recentEvents({ type: "STATE_TRANSITION" }).at(-1);
  assertEquals(opened?.type === "STATE_TRANSITION" && opened.reason, "slow call rate 50% >= 50%");
  // The trip happened 5 s after the stall, not at the calls' 15 s delivery deadline.
  assertEquals(cb.snapshot().stateSince, START + 5_001);
  clock.advance(9_999);
  stalled.forEach((c) => c.reject());
  await Promise.all(stalled.map((c) => c.settled));
  assertEquals(window(), [10, 0, 5, 0], "late results leave the stats that opened it alone");
});

Deno.test("a call counted slow while running and then succeeding is one slow success", async () => {
  const { clock, cb, events, hang, window } = setup();
  const call = hang();
  clock.advance(5_001);
  assertEquals(window(), [1, 0, 1, 0]);
  clock.advance(999);
  call.resolve();
  await call.settled;
  assertEquals(window(), [1, 0, 1, 0]);
  const totals = cb.snapshot().totals;
  assertEquals([totals.successful, totals.slowSuccessful], [0, 1]);
  const outcomes = events.filter((e) => e.type === "SUCCESS");
  assertEquals(outcomes.length, 1);
  assertEquals(outcomes[0]?.type === "SUCCESS" && [outcomes[0].durationMs, outcomes[0].slow], [
    6_000,
    true,
  ]);
});

Deno.test("a call counted slow while running and then failing becomes one slow failure", async () => {
  const { clock, cb, events, hang, window } = setup();
  const call = hang();
  clock.advance(15_000);
  call.reject();
  await call.settled;
  assertEquals(window(), [1, 1, 1, 1]);
  const s = cb.snapshot();
  assertEquals([s.totals.failed, s.totals.slowFailed], [0, 1]);
  assertEquals(events.filter((e) => e.type === "ERROR").length, 1);
});

Deno.test("the failure of a call whose slow entry left the window is not counted again", async () => {
  const { clock, cb, hang, quick, window } = setup({
    slidingWindowSize: 3,
    minimumNumberOfCalls: 3,
  });
  const call = hang();
  clock.advance(5_001);
  await quick(3); // the slow entry is evicted
  call.reject();
  await call.settled;
  assertEquals(window(), [3, 0, 0, 0]);
  assertEquals(cb.snapshot().totals.slowFailed, 1, "still in the all-time counters");
});

Deno.test("in a TIME_BASED window the failure amends the slow entry of its second", async () => {
  const { clock, hang, window } = setup({ slidingWindowType: "TIME_BASED", slidingWindowSize: 10 });
  const call = hang();
  clock.advance(5_001);
  clock.advance(3_000);
  call.reject();
  await call.settled;
  assertEquals(window(), [1, 1, 1, 1]);
  clock.advance(10_000);
  assertEquals(window(), [0, 0, 0, 0]);
});

Deno.test("an ignored error after the threshold keeps its slow entry", async () => {
  const { clock, cb, hang, window } = setup();
  const call = hang();
  clock.advance(5_001);
  call.reject(new PerRecord("record too large"));
  await call.settled;
  assertEquals(window(), [1, 0, 1, 0]);
  assertEquals(cb.snapshot().totals.ignored, 1);
});

Deno.test("HALF_OPEN reopens once hung trials pass the threshold, not after the half-open limit", async () => {
  const { clock, cb, hang } = setup();
  for (let i = 0; i < 5; i++) {
    await cb.execute(() => Promise.reject(new Error("down"))).catch(() => {});
  }
  assertEquals(cb.state, "OPEN");
  clock.advance(30_000);
  assertEquals(cb.state, "HALF_OPEN");
  const trials = [hang(), hang()];
  clock.advance(5_001); // 2 of 3 trials slow: unhealthy whatever the third does
  assertEquals(cb.state, "OPEN");
  trials.forEach((t) => t.resolve());
  await Promise.all(trials.map((t) => t.settled));
  assertEquals(cb.state, "OPEN");
});

Deno.test("a HALF_OPEN trial counted slow keeps its permit when it ends in an ignored error", async () => {
  const { clock, cb, hang } = setup({ permittedNumberOfCallsInHalfOpenState: 1 });
  cb.transitionTo("OPEN");
  clock.advance(30_000);
  const trial = hang();
  clock.advance(5_001); // one slow trial of one: unhealthy
  assertEquals(cb.state, "OPEN");
  trial.reject(new PerRecord("invalid record"));
  await trial.settled;
  assertEquals(cb.snapshot().halfOpenTrialsInFlight, 0);
});

Deno.test("calls admitted in DISABLED are never counted while running", async () => {
  const { clock, cb, hang, window } = setup();
  cb.transitionTo("DISABLED");
  const call = hang();
  clock.advance(20_000);
  assertEquals(window(), [0, 0, 0, 0]);
  assertEquals(clock.pendingTimers(), 0);
  call.resolve();
  await call.settled;
  assertEquals(cb.snapshot().totals.slowSuccessful, 1);
});

Deno.test("METRICS_ONLY reports the slow-call rate crossing while the calls still run", () => {
  const { clock, cb, events, hang } = setup();
  cb.transitionTo("METRICS_ONLY");
  for (let i = 0; i < 5; i++) hang();
  clock.advance(5_001);
  assertEquals(events.filter((e) => e.type === "SLOW_CALL_RATE_EXCEEDED").length, 1);
  assertEquals(cb.state, "METRICS_ONLY");
});

Deno.test("a call running across an operator transition is late: never counted in the new window", async () => {
  const { clock, cb, hang, window } = setup();
  const call = hang();
  cb.transitionTo("FORCED_HALF_OPEN");
  clock.advance(5_001);
  assertEquals(window(), [0, 0, 0, 0]);
  call.reject();
  await call.settled;
  assertEquals(window(), [0, 0, 0, 0]);
});

Deno.test("with timers late or disposed, the next call counts overdue calls first and may be refused", async () => {
  const inner = createTestClock(START);
  // A clock whose timers never fire models a blocked event loop.
  const clock = { ...inner, setTimeout: () => null, clearTimeout: () => {} };
  const cb = new CircuitBreaker("b", {}, { clock });
  for (let i = 0; i < 5; i++) cb.execute(() => new Promise(() => {}));
  inner.advance(5_001);
  await assertRejects(() => cb.execute(() => Promise.resolve()), CallNotPermittedError);
  assertEquals(cb.snapshot().slowCalls, 5);

  const { clock: c2, cb: disposed, hang } = setup();
  disposed.dispose();
  hang();
  c2.advance(5_001);
  assertEquals(disposed.snapshot().slowCalls, 1, "a snapshot is a look too");
});

Deno.test("under a stall with one new call per second the breaker opens 9 s in, not 47 s", async () => {
  // The inline publisher's pattern with the seed's settings: a batch stuck longer than the 1 s
  // budget no longer holds back the next, so calls start a second apart; each would fail at its
  // 15 s deadline. Counting at completion the fifth result comes at 4 s + 15 s; counted while
  // running the fifth slow call is 4 s + 5 s.
  const { clock, cb, hang, quick } = setup();
  await quick(10);
  const stallAt = clock.now();
  const stalled: Hung[] = [];
  while (cb.state === "CLOSED") {
    stalled.push(hang());
    clock.advance(1_000);
  }
  assertEquals(cb.snapshot().stateSince - stallAt, 9_001);
  assertEquals(stalled.length, 10, "one call a second until it opened");
  stalled.forEach((c) => c.reject());
  await Promise.all(stalled.map((c) => c.settled));
});

Deno.test("the slow-call timer is armed once for a burst of calls, not per call", async () => {
  const { clock, cb, hang } = setup();
  const calls = Array.from({ length: 100 }, hang);
  assertEquals(clock.pendingTimers(), 1);
  calls.forEach((c) => c.resolve());
  await Promise.all(calls.map((c) => c.settled));
  await cb.execute(() => Promise.resolve());
  assertEquals(clock.pendingTimers(), 1);
  clock.advance(5_001);
  assertEquals(clock.pendingTimers(), 0, "nothing running: not re-armed");
});
