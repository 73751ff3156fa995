import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  type BreakerConfig,
  type BreakerEvent,
  type BreakerState,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from "./circuit_breaker.ts";
import { CallNotPermittedError, IllegalTransitionError } from "./errors.ts";
import { BREAKER_STATES } from "./states.ts";
import { createTestClock, type TestClock } from "../testing/test_clock.ts";

const START = 1_700_000_000_000;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A call the breaker rejected never awaits its promise; that must not be an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function setup(config: Partial<BreakerConfig> = {}, options: CircuitBreakerOptions = {}) {
  const clock = createTestClock(START);
  const cb = new CircuitBreaker("kafka-publisher", config, { clock, ...options });
  const events: BreakerEvent[] = [];
  cb.subscribe((e) => events.push(e));
  const transitions = () =>
    events.flatMap((e) => e.type === "STATE_TRANSITION" ? [`${e.from}->${e.to}`] : []);
  return { clock, cb, events, transitions };
}

/** Narrows an event to the expected type, failing the test otherwise. */
function ofType<T extends BreakerEvent["type"]>(
  event: BreakerEvent | undefined,
  type: T,
): Extract<BreakerEvent, { type: T }> {
  assertEquals(event?.type, type);
  return event as Extract<BreakerEvent, { type: T }>;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

const settle = (p: Promise<unknown>): Promise<Settled> =>
  p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));

/** One call that takes `durationMs` of virtual time and then succeeds or fails. */
async function call(
  cb: CircuitBreaker,
  clock: TestClock,
  opts: { fail?: boolean; durationMs?: number; error?: unknown } = {},
): Promise<Settled> {
  const d = deferred();
  const p = settle(cb.execute(() => d.promise));
  clock.advance(opts.durationMs ?? 0);
  if (opts.fail) d.reject(opts.error ?? new Error("broker down"));
  else d.resolve("ok");
  return await p;
}

async function calls(cb: CircuitBreaker, clock: TestClock, n: number, fail: boolean) {
  for (let i = 0; i < n; i++) await call(cb, clock, { fail });
}

/** Puts a default breaker (min 5, window 10, 50 %) into OPEN with five failures. */
async function tripped(config: Partial<BreakerConfig> = {}, options: CircuitBreakerOptions = {}) {
  const s = setup(config, options);
  await calls(s.cb, s.clock, 5, true);
  assertEquals(s.cb.state, "OPEN");
  return s;
}

// ---------------------------------------------------------------- CLOSED

Deno.test("a new breaker is CLOSED and passes results through", async () => {
  const { cb } = setup();
  assertEquals(cb.name, "kafka-publisher");
  assertEquals(cb.state, "CLOSED");
  assertEquals(await cb.execute(() => Promise.resolve(42)), 42);
});

Deno.test("execute rethrows the very error fn rejected with", async () => {
  const { cb } = setup();
  const error = new Error("broker down");
  const thrown = await assertRejects(() => cb.execute(() => Promise.reject(error)));
  assertStrictEquals(thrown, error);
});

Deno.test("a synchronous throw inside fn is recorded like a rejection", async () => {
  const { cb, events } = setup();
  const error = new Error("sync");
  const thrown = await assertRejects(() =>
    cb.execute(() => {
      throw error;
    })
  );
  assertStrictEquals(thrown, error);
  assertEquals(cb.snapshot().failedCalls, 1);
  assertEquals(events.at(-1)?.type, "ERROR");
});

Deno.test("execute refuses a non-function with a TypeError", async () => {
  const { cb } = setup();
  await assertRejects(() => cb.execute(42 as never), TypeError);
});

Deno.test("the breaker name must be a non-empty string", () => {
  assertThrows(() => new CircuitBreaker(""), TypeError);
  assertThrows(() => new CircuitBreaker(3 as never), TypeError);
});

Deno.test("an invalid config fails at construction naming the field", () => {
  assertThrows(
    () => new CircuitBreaker("b", { failureRateThreshold: 150 }),
    RangeError,
    "failureRateThreshold must be in (0, 100], got 150",
  );
});

Deno.test("CLOSED does not open before minimumNumberOfCalls even at 100 % failures", async () => {
  const { cb, clock } = setup();
  await calls(cb, clock, 4, true);
  assertEquals(cb.state, "CLOSED");
  assertEquals(cb.snapshot().failureRate, null);
});

Deno.test("CLOSED opens when the failure rate reaches the threshold at the minimum", async () => {
  const { cb, clock, events } = setup();
  await calls(cb, clock, 3, false);
  await calls(cb, clock, 2, true);
  assertEquals(cb.state, "CLOSED"); // 2/5 = 40 %
  await call(cb, clock, { fail: true }); // 3/6 = 50 %
  assertEquals(cb.state, "OPEN");
  const tail = events.slice(-3);
  assertEquals(tail.map((e) => e.type), ["ERROR", "FAILURE_RATE_EXCEEDED", "STATE_TRANSITION"]);
  const exceeded = ofType(tail[1], "FAILURE_RATE_EXCEEDED");
  const transition = ofType(tail[2], "STATE_TRANSITION");
  assertEquals(exceeded.rate, 50);
  assertEquals([transition.from, transition.to, transition.operator], ["CLOSED", "OPEN", false]);
  assertEquals(transition.reason, "failure rate 50% >= 50%");
  assertEquals(transition.state, "OPEN");
});

Deno.test("CLOSED stays closed while the failure rate is under the threshold", async () => {
  const { cb, clock } = setup();
  for (let i = 0; i < 30; i++) await call(cb, clock, { fail: i % 3 === 0 });
  assertEquals(cb.state, "CLOSED");
  const rate = cb.snapshot().failureRate;
  assert(rate !== null && rate < 50);
});

Deno.test("the COUNT_BASED window forgets outcomes older than the last N calls", async () => {
  const { cb, clock } = setup({ slidingWindowSize: 5, failureRateThreshold: 60 });
  await calls(cb, clock, 2, true);
  await calls(cb, clock, 5, false); // the two failures are evicted
  await calls(cb, clock, 2, true);
  assertEquals(cb.state, "CLOSED"); // 2/5 = 40 %, not 4/9
  assertEquals(cb.snapshot().failureRate, 40);
});

// ---------------------------------------------------------------- slow calls

Deno.test("slow successes trip the breaker through the slow-call rate", async () => {
  const { cb, clock, events } = setup({ slowCallDurationThreshold: 100 });
  for (let i = 0; i < 5; i++) await call(cb, clock, { durationMs: 101 });
  assertEquals(cb.state, "OPEN");
  const exceeded = ofType(
    events.find((e) => e.type === "SLOW_CALL_RATE_EXCEEDED"),
    "SLOW_CALL_RATE_EXCEEDED",
  );
  assertEquals(exceeded.rate, 100);
  assertFalse(events.some((e) => e.type === "FAILURE_RATE_EXCEEDED"));
  const transition = ofType(events.find((e) => e.type === "STATE_TRANSITION"), "STATE_TRANSITION");
  assertEquals(transition.reason, "slow call rate 100% >= 50%");
});

Deno.test("a call exactly at the slow threshold is not slow", async () => {
  const { cb, clock, events } = setup({ slowCallDurationThreshold: 100 });
  await call(cb, clock, { durationMs: 100 });
  await call(cb, clock, { durationMs: 101 });
  const successes = events.filter((e) => e.type === "SUCCESS");
  assertEquals(successes.map((e) => e.type === "SUCCESS" && [e.durationMs, e.slow]), [
    [100, false],
    [101, true],
  ]);
});

Deno.test("slow failures count in both window rates but once in the totals", async () => {
  const { cb, clock, events } = setup({ slowCallDurationThreshold: 100 });
  await call(cb, clock, { fail: true, durationMs: 200 });
  await call(cb, clock, { fail: true });
  await call(cb, clock, { durationMs: 200 });
  await call(cb, clock);
  const s = cb.snapshot();
  assertEquals(
    [s.bufferedCalls, s.failedCalls, s.slowCalls, s.slowFailedCalls, s.successfulCalls],
    [4, 2, 2, 1, 2],
  );
  assertEquals(s.totals, {
    successful: 1,
    failed: 1,
    slowSuccessful: 1,
    slowFailed: 1,
    ignored: 0,
    notPermitted: 0,
  });
  const error = ofType(events.find((e) => e.type === "ERROR"), "ERROR");
  assertEquals([error.durationMs, error.slow, error.errorMessage], [200, true, "broker down"]);
});

// ---------------------------------------------------------------- TIME_BASED

Deno.test("a TIME_BASED window opens on failures within the window", async () => {
  const { cb, clock } = setup({ slidingWindowType: "TIME_BASED", slidingWindowSize: 10 });
  for (let i = 0; i < 5; i++) {
    await call(cb, clock, { fail: true });
    clock.advance(1_000);
  }
  assertEquals(cb.state, "OPEN");
});

Deno.test("a TIME_BASED window does not add up failures spread wider than the window", async () => {
  const { cb, clock } = setup({ slidingWindowType: "TIME_BASED", slidingWindowSize: 3 });
  for (let i = 0; i < 10; i++) {
    await call(cb, clock, { fail: true });
    clock.advance(2_000);
  }
  assertEquals(cb.state, "CLOSED");
  assert(cb.snapshot().bufferedCalls <= 2);
});

Deno.test("an idle gap longer than the TIME_BASED window expires old failures", async () => {
  const { cb, clock } = setup({ slidingWindowType: "TIME_BASED", slidingWindowSize: 10 });
  await calls(cb, clock, 4, true); // one short of the minimum
  assertEquals(cb.snapshot().bufferedCalls, 4);
  clock.advance(11_000);
  const idle = cb.snapshot();
  assertEquals([idle.bufferedCalls, idle.failedCalls, idle.failureRate], [0, 0, null]);
  await call(cb, clock, { fail: true });
  assertEquals(cb.state, "CLOSED");
  assertEquals(cb.snapshot().bufferedCalls, 1);
});

// ---------------------------------------------------------------- OPEN

Deno.test("OPEN rejects without calling fn and says when to retry", async () => {
  const { cb, clock, events } = await tripped();
  clock.advance(10_000);
  let called = false;
  const error = await assertRejects(
    () =>
      cb.execute(() => {
        called = true;
        return Promise.resolve();
      }),
    CallNotPermittedError,
  );
  assertFalse(called);
  assertEquals(error.breakerName, "kafka-publisher");
  assertEquals(error.state, "OPEN");
  assertEquals(error.retryAfterMs, 20_000);
  const last = ofType(events.at(-1), "NOT_PERMITTED");
  assertEquals(last.retryAfterMs, 20_000);
  assertEquals(cb.snapshot().notPermittedCalls, 1);
  assertEquals(cb.snapshot().totals.notPermitted, 1);
});

Deno.test("OPEN moves to HALF_OPEN by timer after exactly the wait, without any call", async () => {
  const { cb, clock, events } = await tripped();
  clock.advance(29_999);
  assertEquals(cb.state, "OPEN");
  clock.advance(1);
  assertEquals(cb.state, "HALF_OPEN");
  const t = ofType(events.at(-1), "STATE_TRANSITION");
  assertEquals([t.from, t.to, t.operator], ["OPEN", "HALF_OPEN", false]);
  assertEquals(t.reason, "open wait of 30000 ms elapsed");
  assertEquals(t.at, START + 30_000);
});

Deno.test("OPEN shows the stats that opened it, and an empty window is never reported as -1", async () => {
  const { cb } = await tripped();
  const s = cb.snapshot();
  assertEquals([s.failureRate, s.bufferedCalls, s.failedCalls], [100, 5, 5]);
  assertEquals(s.openedAt, START);
  assertEquals(s.retryAfterMs, 30_000);
});

// ---------------------------------------------------------------- HALF_OPEN

Deno.test("HALF_OPEN closes once the remaining trials can no longer make it unhealthy", async () => {
  const { cb, clock, transitions } = await tripped();
  clock.advance(30_000);
  await call(cb, clock);
  assertEquals(cb.state, "HALF_OPEN"); // 1 of 3: two failures could still make 66.7 %
  await call(cb, clock); // 2 of 3: even a failing third trial leaves 33.3 % < 50 %
  assertEquals(cb.state, "CLOSED");
  assertEquals(transitions(), ["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]);
  const s = cb.snapshot();
  assertEquals([s.bufferedCalls, s.consecutiveOpenings], [0, 0]);
});

Deno.test("HALF_OPEN reopens as soon as the failed trials reach the threshold", async () => {
  const { cb, clock, events } = await tripped();
  clock.advance(30_000);
  await call(cb, clock, { fail: true });
  assertEquals(cb.state, "HALF_OPEN"); // 1 of 3 failed: 33.3 % so far, two successes would close
  assertEquals(cb.snapshot().failureRate, null);
  await call(cb, clock, { fail: true }); // 2 of 3 failed: 66.7 % whatever the third does
  assertEquals(cb.state, "OPEN");
  const t = ofType(events.at(-1), "STATE_TRANSITION");
  assertEquals(t.reason, "half-open trials unhealthy: failure rate 100% >= 50%");
  assertEquals(events.at(-2)?.type, "FAILURE_RATE_EXCEEDED");
});

Deno.test("HALF_OPEN admits at most the permitted trials until it decides", async () => {
  const { cb, clock } = await tripped();
  clock.advance(30_000);
  const trials = [deferred(), deferred(), deferred()];
  const running = trials.map((d) => settle(cb.execute(() => d.promise)));
  assertEquals(cb.snapshot().halfOpenTrialsInFlight, 3);
  const extra = await assertRejects(
    () => cb.execute(() => Promise.resolve()),
    CallNotPermittedError,
  );
  assertEquals([extra.state, extra.retryAfterMs], ["HALF_OPEN", null]);
  trials[0]?.resolve("ok");
  await running[0];
  // A finished trial frees no permit: the cap counts trials, not concurrency.
  assertEquals(cb.snapshot().halfOpenTrialsInFlight, 2);
  await assertRejects(() => cb.execute(() => Promise.resolve()), CallNotPermittedError);
  trials[1]?.resolve("ok");
  trials[2]?.resolve("ok");
  await Promise.all(running);
  assertEquals(cb.state, "CLOSED");
  assertEquals(cb.snapshot().totals.notPermitted, 2);
});

Deno.test("HALF_OPEN left undecided goes back to OPEN after maxWaitDurationInHalfOpenState", async () => {
  const { cb, clock, events } = await tripped({ maxWaitDurationInHalfOpenState: 5_000 });
  clock.advance(30_000);
  const hanging = deferred();
  const p = settle(cb.execute(() => hanging.promise));
  clock.advance(4_999);
  assertEquals(cb.state, "HALF_OPEN");
  clock.advance(1);
  assertEquals(cb.state, "OPEN");
  const t = ofType(events.at(-1), "STATE_TRANSITION");
  assertEquals([t.from, t.to, t.operator], ["HALF_OPEN", "OPEN", false]);
  assertEquals(t.reason, "half-open undecided after 5000 ms");
  hanging.resolve("late");
  assertEquals(await p, { ok: true, value: "late" });
  assertEquals(cb.state, "OPEN");
});

Deno.test("the default half-open max wait is 60 s, so a silent HALF_OPEN never sticks", async () => {
  const { cb, clock } = await tripped();
  clock.advance(30_000);
  assertEquals(cb.state, "HALF_OPEN");
  clock.advance(60_000);
  assertEquals(cb.state, "OPEN");
});

Deno.test("an ignored trial releases its half-open permit", async () => {
  const perRecord = new Error("MESSAGE_TOO_LARGE");
  const { cb, clock } = await tripped({ ignoreError: (e) => e === perRecord });
  clock.advance(30_000);
  await call(cb, clock, { fail: true, error: perRecord });
  await call(cb, clock);
  assertEquals(cb.state, "HALF_OPEN"); // one real trial so far; the ignored one gave its permit back
  await call(cb, clock);
  assertEquals(cb.state, "CLOSED");
});

Deno.test("an operator may move OPEN to HALF_OPEN early", async () => {
  const { cb, events } = await tripped();
  cb.transitionTo("HALF_OPEN", { reason: "probe now" });
  assertEquals(cb.state, "HALF_OPEN");
  const t = ofType(events.at(-1), "STATE_TRANSITION");
  assertEquals([t.operator, t.reason], [true, "probe now"]);
});

// ---------------------------------------------------------------- backoff

Deno.test("repeated openings back off exponentially up to the cap, and CLOSED resets it", async () => {
  const { cb, clock } = await tripped({
    waitDurationInOpenState: 1_000,
    openWaitBackoff: { multiplier: 2, maxWaitMs: 5_000, jitter: 0.5 },
  }, { random: () => 0.5 }); // 0.5 = no jitter
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    assertEquals(cb.state, "OPEN");
    waits.push(cb.snapshot().retryAfterMs ?? -1);
    clock.advance(waits.at(-1) ?? 0);
    assertEquals(cb.state, "HALF_OPEN");
    await calls(cb, clock, 3, true);
  }
  assertEquals(waits, [1_000, 2_000, 4_000, 5_000, 5_000]);
  assertEquals(cb.snapshot().consecutiveOpenings, 6);
  clock.advance(cb.snapshot().retryAfterMs ?? 0);
  await calls(cb, clock, 3, false);
  assertEquals(cb.state, "CLOSED");
  await calls(cb, clock, 5, true);
  assertEquals(cb.snapshot().retryAfterMs, 1_000);
});

Deno.test("backoff jitter spreads the wait by +-jitter using the injected random", async () => {
  const config = {
    waitDurationInOpenState: 10_000,
    openWaitBackoff: { multiplier: 3, maxWaitMs: 60_000, jitter: 0.2 },
  };
  assertEquals((await tripped(config, { random: () => 0 })).cb.snapshot().retryAfterMs, 8_000);
  assertEquals((await tripped(config, { random: () => 0.75 })).cb.snapshot().retryAfterMs, 11_000);
  assertEquals((await tripped(config, { random: () => 1 })).cb.snapshot().retryAfterMs, 12_000);
});

Deno.test("without backoff every opening waits exactly waitDurationInOpenState", async () => {
  const { cb, clock } = await tripped({ waitDurationInOpenState: 7_000 }, { random: () => 0 });
  for (let i = 0; i < 3; i++) {
    assertEquals(cb.snapshot().retryAfterMs, 7_000);
    clock.advance(7_000);
    await calls(cb, clock, 3, true);
  }
});

// ---------------------------------------------------------------- operator states

Deno.test("every legal operator transition works and the three illegal ones throw", () => {
  for (const from of BREAKER_STATES) {
    for (const to of BREAKER_STATES) {
      const { cb, events } = setup();
      if (from !== "CLOSED") {
        // HALF_OPEN is reached legally through OPEN; everything else directly.
        if (from === "HALF_OPEN") cb.transitionTo("OPEN");
        cb.transitionTo(from);
      }
      assertEquals(cb.state, from);
      const before = events.length;
      const illegal = (from === "CLOSED" && to === "HALF_OPEN") ||
        (from === "METRICS_ONLY" && (to === "OPEN" || to === "HALF_OPEN"));
      if (illegal) {
        const e = assertThrows(() => cb.transitionTo(to), IllegalTransitionError);
        assertEquals([e.from, e.to], [from, to]);
        assertFalse(e.allowed.includes(to));
        assertFalse(e.allowed.includes(from));
        assertStringIncludes(e.message, e.allowed.join(", "));
        assertEquals(cb.state, from);
        assertEquals(events.length, before);
      } else {
        cb.transitionTo(to, { reason: "test" });
        assertEquals(cb.state, to);
        if (from === to) {
          assertEquals(events.length, before, `${from} self-transition emitted`);
        } else {
          const t = ofType(events.at(-1), "STATE_TRANSITION");
          assertEquals([t.from, t.to, t.operator, t.reason], [from, to, true, "test"]);
        }
      }
      cb.dispose();
    }
  }
});

Deno.test("IllegalTransitionError lists the allowed targets", () => {
  const { cb } = setup();
  const e = assertThrows(() => cb.transitionTo("HALF_OPEN"), IllegalTransitionError);
  assertEquals(e.allowed, ["OPEN", "DISABLED", "METRICS_ONLY", "FORCED_OPEN", "FORCED_HALF_OPEN"]);
  cb.transitionTo("METRICS_ONLY");
  const m = assertThrows(() => cb.transitionTo("OPEN"), IllegalTransitionError);
  assertEquals(m.allowed, ["CLOSED", "DISABLED", "FORCED_OPEN", "FORCED_HALF_OPEN"]);
});

Deno.test("transitionTo rejects unknown states and bad options", () => {
  const { cb } = setup();
  assertThrows(
    () => cb.transitionTo("closed" as BreakerState),
    TypeError,
    'unknown breaker state "closed"',
  );
  assertThrows(() => cb.transitionTo("OPEN", { ttlMs: 0 }), RangeError, "ttlMs");
  assertThrows(() => cb.transitionTo("OPEN", { ttlMs: 1.5 }), RangeError, "ttlMs");
  assertThrows(() => cb.transitionTo("OPEN", { ttlMs: 2 ** 31 }), RangeError, "ttlMs");
  assertThrows(() => cb.transitionTo("OPEN", { reason: 5 as never }), TypeError, "reason");
  assertEquals(cb.state, "CLOSED");
});

Deno.test("a self-transition keeps the window and emits nothing", async () => {
  const { cb, clock, events } = setup();
  await calls(cb, clock, 3, true);
  const before = events.length;
  const generation = cb.snapshot().generation;
  cb.transitionTo("CLOSED");
  assertEquals(events.length, before);
  assertEquals(cb.snapshot().failedCalls, 3);
  assertEquals(cb.snapshot().generation, generation);
  await calls(cb, clock, 2, true);
  assertEquals(cb.state, "OPEN"); // the three kept failures counted
});

Deno.test("an operator OPEN waits like an automatic one and then probes", () => {
  const { cb, clock, transitions } = setup();
  cb.transitionTo("OPEN", { reason: "maintenance" });
  assertEquals(cb.snapshot().retryAfterMs, 30_000);
  clock.advance(30_000);
  assertEquals(cb.state, "HALF_OPEN");
  assertEquals(transitions(), ["CLOSED->OPEN", "OPEN->HALF_OPEN"]);
});

Deno.test("DISABLED passes every call, counts totals only and never opens", async () => {
  const { cb, clock } = setup();
  cb.transitionTo("DISABLED");
  await calls(cb, clock, 50, true);
  clock.advance(10 * 60_000);
  assertEquals(cb.state, "DISABLED");
  const s = cb.snapshot();
  assertEquals([s.bufferedCalls, s.failureRate, s.slowCallRate], [0, null, null]);
  assertEquals(s.totals.failed, 50);
});

Deno.test("METRICS_ONLY records and reports each threshold crossing but never transitions", async () => {
  const { cb, clock, events } = setup({ slowCallDurationThreshold: 100 });
  cb.transitionTo("METRICS_ONLY");
  await calls(cb, clock, 10, true);
  assertEquals(cb.state, "METRICS_ONLY");
  assertEquals(cb.snapshot().failureRate, 100);
  const exceeded = () => events.filter((e) => e.type === "FAILURE_RATE_EXCEEDED");
  assertEquals(exceeded().length, 1); // once per crossing, not per call
  await calls(cb, clock, 10, false); // rate drops to 0 %: re-armed
  await calls(cb, clock, 10, true);
  assertEquals(exceeded().length, 2);
  for (let i = 0; i < 10; i++) await call(cb, clock, { durationMs: 150 });
  assertEquals(events.filter((e) => e.type === "SLOW_CALL_RATE_EXCEEDED").length, 1);
  clock.advance(60 * 60_000);
  assertEquals(cb.state, "METRICS_ONLY");
  assertEquals(events.filter((e) => e.type === "STATE_TRANSITION").length, 1);
});

Deno.test("FORCED_OPEN rejects everything, counts rejections and never leaves by itself", async () => {
  const { cb, clock } = setup();
  cb.transitionTo("FORCED_OPEN");
  for (let i = 0; i < 3; i++) {
    const e = await assertRejects(() => cb.execute(() => Promise.resolve()), CallNotPermittedError);
    assertEquals([e.state, e.retryAfterMs], ["FORCED_OPEN", null]);
  }
  clock.advance(24 * 3_600_000);
  assertEquals(cb.state, "FORCED_OPEN");
  const s = cb.snapshot();
  assertEquals([s.notPermittedCalls, s.bufferedCalls, s.retryAfterMs], [3, 0, null]);
});

Deno.test("FORCED_HALF_OPEN caps concurrency, records outcomes and never leaves by itself", async () => {
  const { cb, clock } = setup();
  cb.transitionTo("FORCED_HALF_OPEN");
  const inFlight = [deferred(), deferred(), deferred()];
  const running = inFlight.map((d) => settle(cb.execute(() => d.promise)));
  const e = await assertRejects(() => cb.execute(() => Promise.resolve()), CallNotPermittedError);
  assertEquals(e.state, "FORCED_HALF_OPEN");
  inFlight[0]?.reject(new Error("down"));
  await running[0];
  // Unlike HALF_OPEN, a finished call frees a slot.
  await call(cb, clock, { fail: true });
  inFlight[1]?.reject(new Error("down"));
  inFlight[2]?.reject(new Error("down"));
  await Promise.all(running);
  await calls(cb, clock, 10, true);
  clock.advance(24 * 3_600_000);
  assertEquals(cb.state, "FORCED_HALF_OPEN");
  const s = cb.snapshot();
  assertEquals([s.failureRate, s.bufferedCalls, s.halfOpenTrialsInFlight], [100, 10, 0]);
});

// ---------------------------------------------------------------- TTL

Deno.test("an operator state with a TTL returns to CLOSED when it expires", async () => {
  const { cb, clock, events } = setup();
  cb.transitionTo("FORCED_OPEN", { reason: "broker upgrade", ttlMs: 60_000 });
  assertEquals(cb.snapshot().ttlExpiresAt, START + 60_000);
  clock.advance(20_000);
  const e = await assertRejects(() => cb.execute(() => Promise.resolve()), CallNotPermittedError);
  assertEquals(e.retryAfterMs, 40_000);
  assertEquals(cb.snapshot().retryAfterMs, 40_000);
  clock.advance(40_000);
  assertEquals(cb.state, "CLOSED");
  const t = ofType(events.at(-1), "STATE_TRANSITION");
  assertEquals([t.from, t.to, t.operator, t.reason], [
    "FORCED_OPEN",
    "CLOSED",
    false,
    "ttl expired",
  ]);
  assertEquals(cb.snapshot().ttlExpiresAt, null);
});

Deno.test("a later transition cancels a pending TTL", () => {
  const { cb, clock, transitions } = setup();
  cb.transitionTo("DISABLED", { ttlMs: 10_000 });
  clock.advance(5_000);
  cb.transitionTo("FORCED_HALF_OPEN");
  assertEquals(cb.snapshot().ttlExpiresAt, null);
  clock.advance(60_000);
  assertEquals(cb.state, "FORCED_HALF_OPEN");
  assertEquals(transitions(), ["CLOSED->DISABLED", "DISABLED->FORCED_HALF_OPEN"]);
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("an automatic transition cancels a pending TTL too", () => {
  const { cb, clock, transitions } = setup();
  cb.transitionTo("OPEN", { ttlMs: 40_000 });
  clock.advance(30_000); // open wait ends first
  assertEquals(cb.state, "HALF_OPEN");
  clock.advance(10_000);
  assertEquals(cb.state, "HALF_OPEN");
  assertEquals(transitions(), ["CLOSED->OPEN", "OPEN->HALF_OPEN"]);
});

Deno.test("repeating the current state with a TTL re-arms the TTL without a transition", () => {
  const { cb, clock, events } = setup();
  cb.transitionTo("FORCED_OPEN", { ttlMs: 10_000 });
  clock.advance(8_000);
  const before = events.length;
  cb.transitionTo("FORCED_OPEN", { ttlMs: 10_000 });
  assertEquals(events.length, before);
  clock.advance(8_000);
  assertEquals(cb.state, "FORCED_OPEN");
  clock.advance(2_000);
  assertEquals(cb.state, "CLOSED");
});

Deno.test("a TTL on CLOSED is meaningless and not armed", () => {
  const { cb, clock } = setup();
  cb.transitionTo("DISABLED");
  cb.transitionTo("CLOSED", { ttlMs: 1_000 });
  assertEquals(cb.snapshot().ttlExpiresAt, null);
  assertEquals(clock.pendingTimers(), 0);
});

// ---------------------------------------------------------------- generations

Deno.test("a result arriving after its state ended skips the new window but counts in totals", async () => {
  const { cb, clock, events } = setup();
  const slowCall = deferred();
  const p = settle(cb.execute(() => slowCall.promise)); // starts in CLOSED
  await calls(cb, clock, 5, true);
  clock.advance(30_000);
  assertEquals(cb.state, "HALF_OPEN");
  slowCall.reject(new Error("late failure"));
  await p;
  const s = cb.snapshot();
  assertEquals([s.state, s.bufferedCalls, s.failedCalls, s.halfOpenTrialsInFlight], [
    "HALF_OPEN",
    0,
    0,
    0,
  ]);
  assertEquals(s.totals.slowFailed + s.totals.failed, 6);
  const late = ofType(events.at(-1), "ERROR");
  assertEquals([late.late, late.state, late.errorMessage], [true, "HALF_OPEN", "late failure"]);
  await calls(cb, clock, 3, false);
  assertEquals(cb.state, "CLOSED");
});

Deno.test("a late success from an earlier HALF_OPEN does not count as a trial of the next one", async () => {
  const { cb, clock } = await tripped({ maxWaitDurationInHalfOpenState: 1_000 });
  clock.advance(30_000);
  const old = [deferred(), deferred(), deferred()];
  const running = old.map((d) => settle(cb.execute(() => d.promise)));
  clock.advance(1_000); // undecided -> OPEN
  clock.advance(30_000); // -> HALF_OPEN again
  assertEquals(cb.state, "HALF_OPEN");
  old.forEach((d) => d.resolve("late"));
  await Promise.all(running);
  assertEquals(cb.state, "HALF_OPEN");
  assertEquals(cb.snapshot().bufferedCalls, 0);
});

Deno.test("reset returns to CLOSED with a fresh window, keeps totals and emits RESET", async () => {
  const { cb, clock, events } = await tripped();
  cb.reset();
  assertEquals(cb.state, "CLOSED");
  assertEquals(events.slice(-2).map((e) => e.type), ["STATE_TRANSITION", "RESET"]);
  const s = cb.snapshot();
  assertEquals([s.bufferedCalls, s.totals.failed, s.consecutiveOpenings], [0, 5, 0]);
  await calls(cb, clock, 3, true);
  cb.reset(); // already CLOSED: no transition, but the window is cleared
  assertEquals(events.at(-1)?.type, "RESET");
  assertEquals(events.at(-2)?.type, "ERROR");
  assertEquals(cb.snapshot().bufferedCalls, 0);
});

// ---------------------------------------------------------------- predicates

Deno.test("an ignored error is rethrown, kept out of the window and counted as ignored", async () => {
  const perRecord = Object.assign(new Error("record too large"), { perRecord: true });
  const { cb, clock, events } = setup({
    ignoreError: (e) => (e as { perRecord?: boolean }).perRecord === true,
  });
  for (let i = 0; i < 10; i++) {
    const r = await call(cb, clock, { fail: true, error: perRecord, durationMs: 10 });
    assert(!r.ok && r.error === perRecord);
  }
  assertEquals(cb.state, "CLOSED");
  const s = cb.snapshot();
  assertEquals([s.bufferedCalls, s.totals.ignored], [0, 10]);
  const e = ofType(events.at(-1), "IGNORED_ERROR");
  assertEquals([e.durationMs, e.errorMessage], [10, "record too large"]);
});

Deno.test("ignoreError wins over recordError", async () => {
  const { cb, clock } = setup({ recordError: () => true, ignoreError: () => true });
  await calls(cb, clock, 10, true);
  assertEquals(cb.snapshot().totals.ignored, 10);
  assertEquals(cb.state, "CLOSED");
});

Deno.test("an error recordError rejects counts as a success but is still rethrown", async () => {
  const { cb, clock, events } = setup({
    recordError: (e) => (e as Error).message !== "not found",
  });
  for (let i = 0; i < 10; i++) {
    const r = await call(cb, clock, { fail: true, error: new Error("not found") });
    assertFalse(r.ok);
  }
  assertEquals(cb.state, "CLOSED");
  assertEquals(cb.snapshot().totals.successful, 10);
  assertEquals(events.at(-1)?.type, "SUCCESS");
  await calls(cb, clock, 10, true); // other errors are failures
  assertEquals(cb.state, "OPEN");
});

Deno.test("a throwing predicate counts the error as a failure", async () => {
  const { cb, clock } = setup({
    ignoreError: () => {
      throw new Error("predicate bug");
    },
    recordError: () => {
      throw new Error("predicate bug");
    },
  });
  const r = await call(cb, clock, { fail: true, error: new Error("original") });
  assert(!r.ok && (r.error as Error).message === "original");
  assertEquals(cb.snapshot().failedCalls, 1);
});

Deno.test("non-Error rejections get a readable errorMessage", async () => {
  const { cb, clock, events } = setup();
  await call(cb, clock, { fail: true, error: "plain string" });
  const e = ofType(events.at(-1), "ERROR");
  assertEquals(e.errorMessage, "plain string");
});

// ---------------------------------------------------------------- events

Deno.test("a throwing subscriber does not break the breaker or starve other subscribers", async () => {
  const reported: unknown[] = [];
  const { cb, clock, events } = setup({}, { onListenerError: (e) => reported.push(e) });
  cb.subscribe(() => {
    throw new Error("metrics exporter broke");
  });
  const after: BreakerEvent[] = [];
  cb.subscribe((e) => after.push(e));
  await calls(cb, clock, 5, true);
  assertEquals(cb.state, "OPEN");
  assertEquals(after.length, events.length);
  assertEquals(reported.length, events.length);
  assertEquals(await settle(cb.execute(() => Promise.resolve())).then((r) => r.ok), false);
});

Deno.test("unsubscribed listeners get no more events", async () => {
  const { cb, clock } = setup();
  const seen: BreakerEvent[] = [];
  const off = cb.subscribe((e) => seen.push(e));
  await call(cb, clock);
  off();
  await call(cb, clock);
  assertEquals(seen.length, 1);
});

Deno.test("every event carries name, time, state and an increasing seq", async () => {
  const { cb, clock, events } = setup();
  await calls(cb, clock, 5, true);
  clock.advance(30_000);
  await calls(cb, clock, 3, false);
  for (const [i, e] of events.entries()) {
    assertEquals(e.seq, i + 1);
    assertEquals(e.breakerName, "kafka-publisher");
    assert(BREAKER_STATES.includes(e.state));
    assert(e.at >= START);
  }
  const opened = events.find((e) => e.type === "STATE_TRANSITION");
  assertEquals(opened?.state, "OPEN");
  const lastError = events.filter((e) => e.type === "ERROR").at(-1);
  assertEquals(lastError?.state, "CLOSED"); // emitted before the transition
});

Deno.test("recentEvents keeps eventBufferSize call outcomes and as many state changes, newest last", async () => {
  const { cb, clock, events } = setup({ eventBufferSize: 5 });
  await calls(cb, clock, 5, true); // 5 ERROR + FAILURE_RATE_EXCEEDED + STATE_TRANSITION
  for (let i = 0; i < 3; i++) await call(cb, clock); // 3 NOT_PERMITTED
  const recent = cb.recentEvents();
  // The 5 newest call outcomes (2 ERROR, 3 NOT_PERMITTED) plus both state-change events.
  assertEquals(recent.length, 7);
  assertEquals(recent, events.slice(-10).filter((e) => e.seq !== 1 && e.seq !== 2 && e.seq !== 3));
  assertEquals(cb.recentEvents({ type: "STATE_TRANSITION" }).length, 1);
  assertEquals(cb.recentEvents({ type: "ERROR" }).length, 2); // the oldest three evicted
  assertEquals(cb.recentEvents({ type: "NOT_PERMITTED", limit: 2 }).map((e) => e.seq), [
    events.length - 1,
    events.length,
  ]);
});

// ---------------------------------------------------------------- snapshot

Deno.test("snapshot has the documented shape and survives JSON", async () => {
  const { cb, clock } = setup({ slowCallDurationThreshold: 100 });
  await call(cb, clock, { durationMs: 150 });
  const s = cb.snapshot();
  assertEquals(Object.keys(s).sort(), [
    "bufferedCalls",
    "config",
    "consecutiveOpenings",
    "failedCalls",
    "failureRate",
    "generation",
    "halfOpenTrialsInFlight",
    "name",
    "notPermittedCalls",
    "openedAt",
    "rateWindow",
    "retryAfterMs",
    "slowCallRate",
    "slowCalls",
    "slowFailedCalls",
    "state",
    "stateSince",
    "successfulCalls",
    "totals",
    "ttlExpiresAt",
  ]);
  assertEquals(JSON.parse(JSON.stringify(s)), s);
  assertEquals(s.config.slowCallDurationThreshold, 100);
  assertEquals(s.config.openWaitBackoff, null);
  assertFalse("recordError" in s.config);
  assertEquals([s.openedAt, s.retryAfterMs, s.ttlExpiresAt, s.failureRate], [
    null,
    null,
    null,
    null,
  ]);
  assertEquals(s.stateSince, START);
});

Deno.test("snapshot rates are percentages, never -1", async () => {
  const { cb, clock } = setup({
    slidingWindowSize: 10,
    minimumNumberOfCalls: 4,
    failureRateThreshold: 100,
  });
  assertEquals(cb.snapshot().failureRate, null);
  await calls(cb, clock, 3, false);
  await call(cb, clock, { fail: true });
  assertEquals(cb.snapshot().failureRate, 25);
  assertEquals(cb.snapshot().slowCallRate, 0);
});

Deno.test("all-time totals add up to the number of settled execute calls", async () => {
  const { cb, clock } = setup({
    slowCallDurationThreshold: 10,
    ignoreError: (e) => e === "ignore",
  });
  let settled = 0;
  const run = async (opts: Parameters<typeof call>[2]) => {
    await call(cb, clock, opts);
    settled++;
  };
  await run({});
  await run({ durationMs: 20 });
  await run({ fail: true, error: "ignore" });
  await run({ fail: true, durationMs: 20 });
  for (let i = 0; i < 6; i++) await run({ fail: true });
  for (let i = 0; i < 4; i++) await run({});
  const t = cb.snapshot().totals;
  assertEquals(t.notPermitted > 0, true);
  assertEquals(
    t.successful + t.failed + t.slowSuccessful + t.slowFailed + t.ignored + t.notPermitted,
    settled,
  );
});

// ---------------------------------------------------------------- timers

Deno.test("dispose clears every timer; an OPEN wait then ends at the next look", async () => {
  const { cb, clock, transitions } = await tripped();
  cb.transitionTo("FORCED_OPEN", { ttlMs: 5_000 });
  cb.transitionTo("OPEN", { ttlMs: 100_000 });
  assert(clock.pendingTimers() > 0);
  cb.dispose();
  assertEquals(clock.pendingTimers(), 0);
  clock.advance(29_999);
  assertEquals(cb.state, "OPEN");
  await assertRejects(() => cb.execute(() => Promise.resolve(1)), CallNotPermittedError);
  clock.advance(1);
  await call(cb, clock);
  assertEquals(cb.state, "HALF_OPEN");
  assertEquals(transitions().at(-1), "OPEN->HALF_OPEN");
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("a late OPEN timer does not stop the wait from ending on the next call", async () => {
  // A clock whose timers never fire models a blocked event loop.
  const inner = createTestClock(START);
  const clock = { ...inner, setTimeout: () => null, clearTimeout: () => {} };
  const cb = new CircuitBreaker("b", {}, { clock });
  for (let i = 0; i < 5; i++) await settle(cb.execute(() => Promise.reject(new Error("x"))));
  assertEquals(cb.state, "OPEN");
  inner.advance(30_000);
  assertEquals(await cb.execute(() => Promise.resolve("probe")), "probe");
  assertEquals(cb.state, "HALF_OPEN");
});

Deno.test("a timer that outlives its state cannot move a later state", async () => {
  // A clock that cannot cancel timers: only the generation guard stops stale ones.
  const inner = createTestClock(START);
  const clock = { ...inner, clearTimeout: () => {} };
  const cb = new CircuitBreaker("b", {}, { clock });
  for (let i = 0; i < 5; i++) await settle(cb.execute(() => Promise.reject(new Error("x"))));
  assertEquals(cb.state, "OPEN");
  cb.transitionTo("FORCED_OPEN", { ttlMs: 10_000 });
  cb.transitionTo("DISABLED");
  inner.advance(60_000); // stale OPEN wait and stale TTL both fire now
  assertEquals(cb.state, "DISABLED");
});

Deno.test("states never leave a stale timer behind", async () => {
  const { cb, clock } = await tripped();
  assertEquals(clock.pendingTimers(), 1); // OPEN wait
  clock.advance(30_000);
  assertEquals(clock.pendingTimers(), 1); // HALF_OPEN max wait
  await calls(cb, clock, 3, false);
  assertEquals(cb.state, "CLOSED");
  // The third call ran in CLOSED: the slow-call timer it armed is not cleared per call (that
  // would cost a setTimeout and a clearTimeout per call); it fires once and is not re-armed.
  assertEquals(clock.pendingTimers(), 1);
  clock.advance(5_001);
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("the real clock is the default and an idle breaker keeps no timer alive", () => {
  const cb = new CircuitBreaker("real");
  cb.transitionTo("OPEN");
  assertEquals(cb.state, "OPEN");
  const remaining = cb.snapshot().retryAfterMs;
  assert(remaining !== null && remaining <= 30_000 && remaining > 29_000);
  // Whole milliseconds, although the monotonic clock reads fractions.
  assert(Number.isInteger(remaining), `retryAfterMs ${remaining}`);
  cb.dispose();
  assertInstanceOf(cb, CircuitBreaker);
});

// ---------------------------------------------------------------- hardening (issue 12)

Deno.test("a wall-clock step during instant calls is neither slow nor a failure", async () => {
  const { cb, clock, events } = setup();
  for (let i = 0; i < 5; i++) {
    const d = deferred();
    const p = settle(cb.execute(() => d.promise));
    clock.stepWall(3_600_000); // NTP step or VM resume: the wall clock jumps, elapsed time does not
    d.resolve("ok");
    assertEquals((await p).ok, true);
  }
  const s = cb.snapshot();
  assertEquals(s.state, "CLOSED");
  assertEquals(s.slowCallRate, 0);
  assertEquals(s.totals.slowSuccessful, 0);
  // Timestamps shown to people follow the wall clock.
  const last = events.at(-1)!;
  assertEquals(last.at, START + 5 * 3_600_000);
});

Deno.test("after the clock steps back a TIME_BASED window keeps sliding and the OPEN wait stays 30 s", async () => {
  const { cb, clock } = setup({ slidingWindowType: "TIME_BASED", slidingWindowSize: 10 });
  clock.jump(-3_600_000);
  for (let i = 0; i < 5; i++) {
    await call(cb, clock, { fail: true });
    clock.advance(60_000); // each failure is long gone from a 10 s window before the next
  }
  assertEquals(cb.state, "CLOSED");
  assertEquals(cb.snapshot().bufferedCalls, 0);
  cb.transitionTo("OPEN");
  clock.jump(-3_600_000);
  const wait = cb.snapshot().retryAfterMs;
  assert(wait !== null && wait <= 30_000, `retryAfterMs ${wait}`);
  await assertRejects(() => cb.execute(() => Promise.resolve(1)), CallNotPermittedError);
  clock.advance(30_000);
  assertEquals(cb.state, "HALF_OPEN");
});

Deno.test("a clock going backwards mid-call does not make the call negative or slow", async () => {
  const { cb, clock } = setup({ slowCallDurationThreshold: 100 });
  const d = deferred();
  const p = settle(cb.execute(() => d.promise));
  clock.jump(-10_000);
  clock.advance(50);
  d.resolve("ok");
  await p;
  const ok = ofType(cb.recentEvents({ type: "SUCCESS" }).at(-1), "SUCCESS");
  assert(ok.durationMs >= 0 && ok.durationMs <= 50, `duration ${ok.durationMs}`);
  assertEquals(ok.slow, false);
});

Deno.test("an async listener's rejection is contained and reported, never unhandled", async () => {
  const reported: unknown[] = [];
  const { cb, clock } = setup({}, { onListenerError: (e) => reported.push(e) });
  const boom = new Error("async subscriber bug");
  cb.subscribe(() => Promise.reject(boom));
  await call(cb, clock);
  await calls(cb, clock, 5, true);
  assertEquals(cb.state, "OPEN");
  await new Promise((r) => setTimeout(r, 0)); // let the rejections be observed
  assert(reported.length >= 6, `reported ${reported.length}`);
  assertStrictEquals(reported[0], boom);
});

Deno.test("an async listener's rejection without an error reporter does not escape", async () => {
  const { cb, clock } = setup();
  cb.subscribe(async () => {
    await Promise.resolve();
    throw new Error("async subscriber bug");
  });
  await calls(cb, clock, 5, true);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(cb.state, "OPEN");
});

Deno.test("rates exactly at a threshold trip (29 of 50 at 58 %, 57 of 100 at 57 %)", async () => {
  for (const [failures, total, threshold] of [[29, 50, 58], [57, 100, 57], [29, 100, 29]]) {
    const { cb, clock } = setup({
      failureRateThreshold: threshold!,
      slidingWindowSize: total!,
      minimumNumberOfCalls: total!,
    });
    await calls(cb, clock, total! - failures!, false);
    await calls(cb, clock, failures!, true);
    assertEquals(cb.state, "OPEN", `${failures}/${total} at ${threshold}`);
    assertEquals(cb.snapshot().failureRate, threshold, "the shown rate is rounded for display");
  }
});

Deno.test("a listener acts on a settled breaker: METRICS_ONLY on FAILURE_RATE_EXCEEDED sticks", async () => {
  const errors: unknown[] = [];
  const { cb, clock, transitions } = setup({}, { onListenerError: (e) => errors.push(e) });
  cb.subscribe((e) => {
    if (e.type === "FAILURE_RATE_EXCEEDED") cb.transitionTo("METRICS_ONLY");
  });
  await calls(cb, clock, 5, true);
  assertEquals(errors, []);
  assertEquals(cb.state, "METRICS_ONLY");
  assertEquals(transitions(), ["CLOSED->OPEN", "OPEN->METRICS_ONLY"]);
});

Deno.test("reset() from an ERROR listener leaves no failure of the old generation behind", async () => {
  const { cb, clock } = setup();
  let resets = 0;
  cb.subscribe((e) => {
    if (e.type === "ERROR" && resets++ === 0) cb.reset();
  });
  await call(cb, clock, { fail: true });
  const s = cb.snapshot();
  assertEquals(s.bufferedCalls, 0);
  assertEquals(s.failedCalls, 0);
  assertEquals(s.totals.failed, 1);
});

Deno.test("events from one operation reach listeners in seq order after the state settled", async () => {
  const { cb, clock } = setup();
  const seen: string[] = [];
  cb.subscribe((e) => seen.push(`${e.seq}:${e.type}:${cb.state}`));
  await calls(cb, clock, 5, true);
  const last = seen.slice(-3);
  assertEquals(last.map((s) => s.split(":")[1]), [
    "ERROR",
    "FAILURE_RATE_EXCEEDED",
    "STATE_TRANSITION",
  ]);
  // Every one of them was delivered once the breaker was already OPEN.
  for (const s of last) assert(s.endsWith(":OPEN"), s);
});

Deno.test("a disposed breaker still honours the half-open limit and a TTL, lazily", async () => {
  const { cb, clock } = await tripped({ maxWaitDurationInHalfOpenState: 10_000 });
  clock.advance(30_000);
  assertEquals(cb.state, "HALF_OPEN");
  const hung = [deferred(), deferred(), deferred()];
  const trials = hung.map((d) => settle(cb.execute(() => d.promise)));
  cb.dispose();
  assertEquals(clock.pendingTimers(), 0);
  clock.advance(10_000);
  // The deadline passed with the trials still hung: the next look at the breaker sees OPEN.
  assertEquals(cb.snapshot().state, "OPEN");
  assertEquals(cb.state, "OPEN");
  hung.forEach((d) => d.resolve("late"));
  await Promise.all(trials);

  cb.transitionTo("FORCED_OPEN", { ttlMs: 5_000 });
  assertEquals(cb.snapshot().ttlExpiresAt, START + 40_000 + 5_000);
  assertEquals(clock.pendingTimers(), 0);
  clock.advance(5_000);
  assertEquals(await cb.execute(() => Promise.resolve("through")), "through");
  assertEquals(cb.state, "CLOSED");
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("with the real clock, event timestamps are whole wall-clock ms and durations monotonic", async () => {
  const cb = new CircuitBreaker("real-events");
  const events: BreakerEvent[] = [];
  cb.subscribe((e) => events.push(e));
  const before = Date.now();
  await cb.execute(() => Promise.resolve(1));
  cb.transitionTo("FORCED_OPEN");
  await assertRejects(() => cb.execute(() => Promise.resolve(1)), CallNotPermittedError);
  const after = Date.now();
  assertEquals(events.map((e) => e.type), ["SUCCESS", "STATE_TRANSITION", "NOT_PERMITTED"]);
  for (const e of [...events, ...cb.recentEvents()]) {
    assert(Number.isInteger(e.at) && e.at >= before - 1 && e.at <= after + 1, `at ${e.at}`);
  }
  const ok = ofType(events[0], "SUCCESS");
  assert(ok.durationMs >= 0 && ok.durationMs < 1_000, `duration ${ok.durationMs}`);
  cb.dispose();
});

// ---------------------------------------------------------------- refuses()

Deno.test("refuses(): OPEN and FORCED_OPEN refuse and count it as execute does; other states take nothing", async () => {
  const { cb, clock, events } = await tripped({ waitDurationInOpenState: 1000 });
  const notPermitted = () => events.filter((e) => e.type === "NOT_PERMITTED").length;
  assertEquals(cb.refuses(), true);
  assertEquals(cb.snapshot().notPermittedCalls, 1);
  assertEquals(notPermitted(), 1);

  // The wait elapses: HALF_OPEN admits trials, so nothing is refused, counted or reserved.
  clock.advance(1000);
  assertEquals(cb.refuses(), false);
  assertEquals(cb.state, "HALF_OPEN");
  assertEquals(cb.snapshot().notPermittedCalls, 1);
  // All three trials are still there for execute.
  for (let i = 0; i < 3; i++) assertEquals((await call(cb, clock)).ok, true);
  assertEquals(cb.state, "CLOSED");
  assertEquals(cb.refuses(), false);

  cb.transitionTo("FORCED_OPEN");
  assertEquals(cb.refuses(), true);
  assertEquals(cb.snapshot().notPermittedCalls, 2);
  cb.transitionTo("DISABLED");
  assertEquals(cb.refuses(), false);
  assertEquals(cb.snapshot().notPermittedCalls, 2);
});
