/**
 * Breaker overhead per call: our CircuitBreaker.execute against opossum and cockatiel wrapping
 * the same resolved promise, plus the bare call as the floor. Run: deno task bench:breaker
 *
 * Rows:
 * - ours, default config (COUNT_BASED window of 10, failure and slow-call rates): every call is
 *   timed on the monotonic clock, two performance.now() reads, for slow-call detection and the
 *   duration metrics;
 * - opossum, default rolling stats;
 * - cockatiel with ConsecutiveBreaker (no window, no timing) and with CountBreaker (a count window
 *   and failure rate like ours; still no timing);
 * - diagnostics that account for the difference: ours with a constant clock (everything but the
 *   clock reads), the two performance.now() reads alone, and two Date.now() reads (the wall
 *   clock the breaker timed calls with before it moved to the monotonic one).
 */
import CircuitBreakerOpossum from "opossum";
import { circuitBreaker, ConsecutiveBreaker, CountBreaker, handleAll } from "cockatiel";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";
import { realClock } from "../../src/breaker/clock.ts";

const work = () => Promise.resolve(42);

const ours = new CircuitBreaker("bench");
const oursConstantClock = new CircuitBreaker("bench-constant-clock", {}, {
  clock: { ...realClock, now: () => 0 },
});
const opossum = new CircuitBreakerOpossum(work, { timeout: false, errorThresholdPercentage: 50 });
const cockatiel = circuitBreaker(handleAll, {
  halfOpenAfter: 30_000,
  breaker: new ConsecutiveBreaker(5),
});
const cockatielCount = circuitBreaker(handleAll, {
  halfOpenAfter: 30_000,
  breaker: new CountBreaker({ threshold: 0.5, size: 100, minimumNumberOfCalls: 100 }),
});

Deno.bench(
  { name: "baseline: bare resolved promise", group: "breaker", baseline: false },
  async () => {
    await work();
  },
);

Deno.bench({ name: "ours: CircuitBreaker.execute", group: "breaker", baseline: true }, async () => {
  await ours.execute(work);
});

Deno.bench({ name: "opossum: fire", group: "breaker" }, async () => {
  await opossum.fire();
});

Deno.bench({ name: "cockatiel: execute", group: "breaker" }, async () => {
  await cockatiel.execute(work);
});

Deno.bench({ name: "cockatiel (CountBreaker): execute", group: "breaker" }, async () => {
  await cockatielCount.execute(work);
});

Deno.bench({ name: "diagnostic: ours, constant clock", group: "diagnostic" }, async () => {
  await oursConstantClock.execute(work);
});

let sink = 0;
Deno.bench({ name: "diagnostic: performance.now() twice", group: "diagnostic" }, () => {
  sink += performance.now() - performance.now();
});
Deno.bench({ name: "diagnostic: Date.now() twice", group: "diagnostic" }, () => {
  sink += Date.now() - Date.now();
});

globalThis.addEventListener("unload", () => {
  ours.dispose();
  oursConstantClock.dispose();
  opossum.shutdown();
  if (sink === Infinity) console.log(sink);
});
