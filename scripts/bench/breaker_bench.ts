/**
 * Breaker overhead per call: our CircuitBreaker.execute against opossum and cockatiel wrapping
 * the same resolved promise, plus the bare call as the floor. Run: deno bench -A scripts/bench/breaker_bench.ts
 */
import CircuitBreakerOpossum from "opossum";
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";

const work = () => Promise.resolve(42);

const ours = new CircuitBreaker("bench");
const opossum = new CircuitBreakerOpossum(work, { timeout: false, errorThresholdPercentage: 50 });
const cockatiel = circuitBreaker(handleAll, {
  halfOpenAfter: 30_000,
  breaker: new ConsecutiveBreaker(5),
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

globalThis.addEventListener("unload", () => {
  ours.dispose();
  opossum.shutdown();
});
