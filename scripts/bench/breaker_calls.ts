/**
 * Runs N sequential calls through one breaker implementation wrapping a resolved promise, for
 * instruction counting, which unlike wall time repeats exactly on a busy machine:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null deno run -A \
 *     scripts/bench/breaker_calls.ts <bare|ours|opossum|cockatiel> <calls>
 *
 * Instructions per call = (total at 2N - total at N) / N, which cancels start-up and JIT warm-up.
 * `deno task bench:instructions` does that for all four and prints the table.
 */
import CircuitBreakerOpossum from "opossum";
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";

export const IMPLEMENTATIONS = ["bare", "ours", "opossum", "cockatiel"] as const;
type Impl = typeof IMPLEMENTATIONS[number];

const work = () => Promise.resolve(42);

/** A function performing one call through the named implementation, and its cleanup. */
export function makeCall(impl: Impl): { call: () => Promise<unknown>; close: () => void } {
  switch (impl) {
    case "bare":
      return { call: work, close: () => {} };
    case "ours": {
      const b = new CircuitBreaker("bench");
      return { call: () => b.execute(work), close: () => b.dispose() };
    }
    case "opossum": {
      const b = new CircuitBreakerOpossum(work, { timeout: false, errorThresholdPercentage: 50 });
      return { call: () => b.fire(), close: () => b.shutdown() };
    }
    case "cockatiel": {
      const b = circuitBreaker(handleAll, {
        halfOpenAfter: 30_000,
        breaker: new ConsecutiveBreaker(5),
      });
      return { call: () => b.execute(work), close: () => {} };
    }
  }
}

if (import.meta.main) {
  const [impl, countArg] = Deno.args;
  const n = Number(countArg);
  if (!IMPLEMENTATIONS.includes(impl as Impl) || !Number.isInteger(n) || n < 1) {
    console.error(
      `usage: breaker_calls.ts <${IMPLEMENTATIONS.join("|")}> <calls>; got ${Deno.args.join(" ")}`,
    );
    Deno.exit(2);
  }
  const { call, close } = makeCall(impl as Impl);
  for (let i = 0; i < n; i++) await call();
  close();
}
