import { assert, assertEquals } from "@std/assert";
import { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { createTestClock } from "../testing/test_clock.ts";
import { createMetrics } from "./metrics.ts";

const STATES = [
  "closed",
  "open",
  "half_open",
  "disabled",
  "metrics_only",
  "forced_open",
  "forced_half_open",
];
/** Written out again so the test does not trust the table it checks (DESIGN.md's three). */
const ILLEGAL = new Set(["closed->half_open", "metrics_only->open", "metrics_only->half_open"]);

/** `from->to` => value of every circuitbreaker_transitions_total series of breaker `name`. */
async function transitionSeries(render: () => Promise<string>, name: string) {
  const series = new Map<string, number>();
  const line =
    /^circuitbreaker_transitions_total\{name="([^"]+)",from="([a-z_]+)",to="([a-z_]+)"\} (\S+)$/;
  for (const l of (await render()).split("\n")) {
    const m = line.exec(l);
    if (m && m[1] === name) series.set(`${m[2]}->${m[3]}`, Number(m[4]));
  }
  return series;
}

Deno.test("every legal transition of every breaker is exported at 0 before it first happens", async () => {
  const clock = createTestClock(0);
  const breakers = ["kafka-publisher", "other"].map((n) => new CircuitBreaker(n, {}, { clock }));
  const metrics = createMetrics({ breakers, defaultMetrics: false });
  const legal = STATES.flatMap((from) =>
    STATES.filter((to) => to !== from && !ILLEGAL.has(`${from}->${to}`)).map((to) =>
      `${from}->${to}`
    )
  );
  assertEquals(legal.length, 7 * 6 - 3);
  for (const b of breakers) {
    const series = await transitionSeries(metrics.render, b.name);
    assertEquals([...series.keys()].sort(), [...legal].sort(), `series of ${b.name}`);
    assert([...series.values()].every((v) => v === 0), `all at 0 for ${b.name}`);
  }
});

Deno.test("a transition counts on its pre-created series; self and illegal pairs never appear", async () => {
  const clock = createTestClock(0);
  const cb = new CircuitBreaker("kafka-publisher", {}, { clock });
  const metrics = createMetrics({ breakers: [cb], defaultMetrics: false });
  cb.transitionTo("OPEN");
  cb.transitionTo("OPEN"); // a self-transition is a no-op
  clock.advance(30_000); // OPEN -> HALF_OPEN by its timer
  const series = await transitionSeries(metrics.render, "kafka-publisher");
  assertEquals(series.get("closed->open"), 1);
  assertEquals(series.get("open->half_open"), 1);
  assertEquals(series.get("half_open->closed"), 0);
  for (const pair of ILLEGAL) assertEquals(series.has(pair), false, pair);
  for (const s of STATES) assertEquals(series.has(`${s}->${s}`), false, `${s}->${s}`);
  cb.dispose();
});
