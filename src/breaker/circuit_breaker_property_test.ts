import { assert, assertEquals, assertInstanceOf, assertStrictEquals } from "@std/assert";
import fc from "fast-check";
import { type BreakerEvent, type BreakerState, CircuitBreaker } from "./circuit_breaker.ts";
import { CallNotPermittedError, IllegalTransitionError } from "./errors.ts";
import { BREAKER_STATES } from "./states.ts";
import { createTestClock } from "../testing/test_clock.ts";

/** Written out again here so the test does not trust the table it is checking. */
const ILLEGAL = new Set(["CLOSED->HALF_OPEN", "METRICS_ONLY->OPEN", "METRICS_ONLY->HALF_OPEN"]);
const OPERATOR_ONLY: ReadonlySet<BreakerState> = new Set([
  "DISABLED",
  "METRICS_ONLY",
  "FORCED_OPEN",
  "FORCED_HALF_OPEN",
]);
const AUTOMATIC = new Set([
  "CLOSED->OPEN",
  "OPEN->HALF_OPEN",
  "HALF_OPEN->CLOSED",
  "HALF_OPEN->OPEN",
]);

class Ignored extends Error {}

type Op =
  | { kind: "start" }
  | { kind: "finish"; index: number; outcome: "ok" | "fail" | "ignored" }
  | { kind: "advance"; ms: number }
  /** The wall clock steps (NTP, VM resume): timestamps move, durations must not. */
  | { kind: "stepWall"; ms: number }
  /** The injected monotonic reading itself jumps, backwards or forwards. */
  | { kind: "jump"; ms: number }
  | { kind: "transition"; to: BreakerState; ttlMs: number | undefined }
  | { kind: "reset" }
  /** Subscribes an async listener that rejects, or unsubscribes the newest one. */
  | { kind: "asyncListener"; add: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "start" as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("finish" as const),
      index: fc.nat(),
      outcome: fc.constantFrom("ok" as const, "fail" as const, "ignored" as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 250 }), fc.integer({ min: 0, max: 4_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("transition" as const),
      to: fc.constantFrom(...BREAKER_STATES),
      ttlMs: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("asyncListener" as const), add: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("stepWall" as const),
      ms: fc.integer({ min: -3_600_000, max: 3_600_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("jump" as const),
      ms: fc.oneof(
        fc.integer({ min: -3_600_000, max: -1 }),
        fc.integer({ min: 0, max: 3_000 }),
      ),
    }),
  },
);

const setupArb = fc.record({
  permitted: fc.integer({ min: 1, max: 3 }),
  timeBased: fc.boolean(),
  backoff: fc.boolean(),
  randomSeed: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

type Setup = typeof setupArb extends fc.Arbitrary<infer T> ? T : never;

interface Outcome {
  ok: boolean;
  value?: unknown;
  error?: unknown;
}

interface Pending {
  resolve(): void;
  reject(e: unknown): void;
  settled: Promise<Outcome>;
  state: BreakerState;
  generation: number;
  /** The model's monotonic time when the call started. */
  startedAt: number;
}

/** Replays `ops` against a small breaker and checks the invariants after every step. */
async function run(setup: Setup, ops: Op[]): Promise<void> {
  const clock = createTestClock(1_000_000);
  const permitted = setup.permitted;
  const cb = new CircuitBreaker("prop", {
    minimumNumberOfCalls: 2,
    slidingWindowSize: 4,
    slidingWindowType: setup.timeBased ? "TIME_BASED" : "COUNT_BASED",
    permittedNumberOfCallsInHalfOpenState: permitted,
    waitDurationInOpenState: 1_000,
    maxWaitDurationInHalfOpenState: 1_500,
    slowCallDurationThreshold: 100,
    ignoreError: (e) => e instanceof Ignored,
    openWaitBackoff: setup.backoff ? { multiplier: 2, maxWaitMs: 5_000, jitter: 0.3 } : null,
  }, { clock, random: () => setup.randomSeed, onListenerError: () => listenerErrors++ });
  const events: BreakerEvent[] = [];
  let listenerErrors = 0;
  cb.subscribe((e) => events.push(e));
  // A throwing subscriber rides along in every run; rejecting ones come and go (asyncListener).
  cb.subscribe(() => {
    throw new Error("subscriber bug");
  });
  /** Deliveries to rejecting subscribers: each must come back as one reported error. */
  let rejections = 0;
  const asyncListeners: (() => void)[] = [];
  /**
   * Elapsed time as the breaker must see it: advances and forward jumps count, a backward jump
   * counts as no time, a wall-clock step never counts.
   */
  let modelNow = 0;
  /** modelNow at which an operator's TTL falls due; null when none is armed. */
  let ttlDue: number | null = null;

  const pending: Pending[] = [];
  /** HALF_OPEN admissions per generation that still hold a permit. */
  const halfOpenPermits = new Map<number, number>();
  let started = 0;
  let settledCount = 0;

  const checkInvariants = () => {
    const s = cb.snapshot();
    assert(BREAKER_STATES.includes(s.state), `unknown state ${s.state}`);
    assertEquals(cb.state, s.state);
    for (const rate of [s.failureRate, s.slowCallRate]) {
      assert(rate === null || (rate >= 0 && rate <= 100), `rate out of range: ${rate}`);
    }
    assert(s.failedCalls <= s.bufferedCalls && s.slowCalls <= s.bufferedCalls);
    assert(s.slowFailedCalls <= Math.min(s.failedCalls, s.slowCalls));
    const t = s.totals;
    assertEquals(
      t.successful + t.failed + t.slowSuccessful + t.slowFailed + t.ignored + t.notPermitted,
      settledCount,
      "all-time totals must add up to settled execute calls",
    );
    assertEquals(s.notPermittedCalls, t.notPermitted);
    assert(s.halfOpenTrialsInFlight <= permitted, "breaker reports too many trials in flight");
    if (s.state === "HALF_OPEN" || s.state === "FORCED_HALF_OPEN") {
      const inFlightNow = pending.filter((p) =>
        p.generation === s.generation && p.state === s.state
      ).length;
      assert(inFlightNow <= permitted, `${inFlightNow} concurrent trials > ${permitted}`);
      assertEquals(s.halfOpenTrialsInFlight, inFlightNow);
    }
    if (s.state === "HALF_OPEN") {
      assert((halfOpenPermits.get(s.generation) ?? 0) <= permitted, "too many half-open trials");
    }
  };

  for (const op of ops) {
    const before = cb.snapshot();
    const eventsBefore = events.length;
    switch (op.kind) {
      case "start": {
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<string>((res, rej) => {
          resolve = () => res("value");
          reject = rej;
        });
        promise.catch(() => {});
        let called = false;
        const settled = cb.execute(() => {
          called = true;
          return promise;
        }).then(
          (value): Outcome => ({ ok: true, value }),
          (error: unknown): Outcome => ({ ok: false, error }),
        );
        started++;
        const now = cb.snapshot();
        if (called) {
          pending.push({
            resolve,
            reject,
            settled,
            state: now.state,
            generation: now.generation,
            startedAt: modelNow,
          });
          if (now.state === "HALF_OPEN") {
            halfOpenPermits.set(now.generation, (halfOpenPermits.get(now.generation) ?? 0) + 1);
          }
        } else {
          const r = await settled;
          settledCount++;
          assertInstanceOf(r.error, CallNotPermittedError);
          assert(
            ["OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_HALF_OPEN"].includes(now.state),
            `a call was rejected in ${now.state}`,
          );
        }
        break;
      }
      case "finish": {
        if (pending.length === 0) break;
        const [call] = pending.splice(op.index % pending.length, 1);
        if (call === undefined) break;
        const error = op.outcome === "ignored" ? new Ignored("per record") : new Error("broker");
        if (op.outcome === "ok") call.resolve();
        else call.reject(error);
        const r = await call.settled;
        settledCount++;
        if (op.outcome === "ok") assertEquals(r, { ok: true, value: "value" });
        else assertStrictEquals(r.error, error);
        // Timed on the monotonic reading: wall steps and backward jumps leave no trace.
        let outcome: BreakerEvent | undefined;
        for (const e of events.slice(eventsBefore)) {
          if (e.type === "SUCCESS" || e.type === "ERROR" || e.type === "IGNORED_ERROR") outcome = e;
        }
        if (outcome === undefined || !("durationMs" in outcome)) {
          throw new Error("a finished call emits its outcome");
        }
        assertEquals(outcome.durationMs, modelNow - call.startedAt, "call duration");
        if (outcome.type !== "IGNORED_ERROR") {
          assertEquals(outcome.slow, modelNow - call.startedAt > 100, "slow flag");
        }
        if (op.outcome === "ignored" && call.state === "HALF_OPEN") {
          halfOpenPermits.set(call.generation, (halfOpenPermits.get(call.generation) ?? 1) - 1);
        }
        break;
      }
      case "advance":
        clock.advance(op.ms);
        modelNow += op.ms;
        break;
      case "stepWall":
        clock.stepWall(op.ms);
        break;
      case "jump":
        clock.jump(op.ms);
        modelNow += Math.max(0, op.ms);
        break;
      case "transition": {
        const legal = !ILLEGAL.has(`${before.state}->${op.to}`);
        try {
          cb.transitionTo(op.to, op.ttlMs === undefined ? {} : { ttlMs: op.ttlMs });
          assert(legal, `${before.state} -> ${op.to} should have been refused`);
          assertEquals(cb.state, op.to);
          if (op.ttlMs !== undefined && op.to !== "CLOSED") ttlDue = modelNow + op.ttlMs;
          else if (op.to !== before.state) ttlDue = null;
        } catch (e) {
          assertInstanceOf(e, IllegalTransitionError);
          assert(!legal, `${before.state} -> ${op.to} should have been allowed`);
          assertEquals(cb.state, before.state);
        }
        break;
      }
      case "reset":
        cb.reset();
        assertEquals(cb.state, "CLOSED");
        break;
      case "asyncListener":
        if (op.add) {
          asyncListeners.push(cb.subscribe(async () => {
            rejections++;
            await null;
            throw new Error("async subscriber bug");
          }));
        } else {
          asyncListeners.pop()?.();
        }
        break;
    }

    // Operator states change only through transitionTo/reset, or the TTL an operator set.
    const operatorOp = op.kind === "transition" || op.kind === "reset";
    if (!operatorOp && OPERATOR_ONLY.has(before.state) && cb.state !== before.state) {
      assertEquals(cb.state, "CLOSED", `${before.state} left by itself to ${cb.state}`);
      assert(before.ttlExpiresAt !== null && ttlDue !== null && modelNow >= ttlDue);
    }
    if (
      op.kind === "reset" ||
      events.slice(eventsBefore).some((e) => e.type === "STATE_TRANSITION" && !e.operator)
    ) {
      ttlDue = null;
    }
    for (const e of events.slice(eventsBefore)) {
      if (e.type !== "STATE_TRANSITION" || e.operator) continue;
      const edge = `${e.from}->${e.to}`;
      assert(AUTOMATIC.has(edge) || e.reason === "ttl expired", `unexpected automatic ${edge}`);
      if (OPERATOR_ONLY.has(e.from)) assertEquals(e.reason, "ttl expired");
    }
    checkInvariants();
  }

  // Drain: every started call settles and is accounted for exactly once.
  for (const call of pending.splice(0)) {
    call.resolve();
    await call.settled;
    settledCount++;
  }
  checkInvariants();
  assertEquals(settledCount, started);

  let last: BreakerState = "CLOSED";
  events.forEach((e, i) => {
    assertEquals(e.seq, i + 1, "seq must increase by one per event");
    if (e.type === "STATE_TRANSITION") {
      assertEquals(e.from, last, "transitions must chain");
      last = e.to;
    }
  });
  assertEquals(last, cb.state);
  await new Promise((r) => setTimeout(r, 0));
  // Every event reached the throwing subscriber, and every rejection was reported: all contained.
  assertEquals(listenerErrors, events.length + rejections);
  cb.dispose();
}

Deno.test("random operation sequences keep every breaker invariant", async () => {
  await fc.assert(
    fc.asyncProperty(
      setupArb,
      fc.array(opArb, { minLength: 20, maxLength: 120, size: "max" }),
      run,
    ),
    { numRuns: 500 },
  );
});
