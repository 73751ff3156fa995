import { assertEquals, assertThrows } from "@std/assert";
import FakeTimers from "@sinonjs/fake-timers";
import { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { createTestClock } from "../testing/test_clock.ts";
import { ACCEPTED, PUBLISHED } from "../http/page/history.js";
import type { OutboxStats } from "../outbox/repository.ts";
import {
  CHART_HISTORY_SAMPLES,
  CHART_SAMPLE_INTERVAL_MS,
  CHARTED_COUNTERS,
  createChartHistory,
} from "./chart_history.ts";
import { createMetrics } from "./metrics.ts";

const T0 = 1_700_000_000_000;

function setup(opts: { pending?: () => Promise<OutboxStats>; capacity?: number } = {}) {
  const clock = createTestClock(T0);
  const breaker = new CircuitBreaker("kafka-publisher", { failureRateThreshold: 40 }, { clock });
  const metrics = createMetrics({ breakers: [breaker], defaultMetrics: false });
  let wall = T0;
  const pending = opts.pending ??
    (() =>
      Promise.resolve({
        pending: 7,
        oldestPendingAgeSeconds: 1,
        deadLettered: 0,
        publishedApprox: 0,
      }));
  const history = createChartHistory({
    breaker,
    metrics,
    outboxStats: pending,
    capacity: opts.capacity,
    now: () => wall,
  });
  return { breaker, metrics, history, tick: (ms: number) => (wall += ms) };
}

Deno.test("chart history: a sample holds the breaker's state, rates, thresholds, counters, backlog", async () => {
  const { breaker, metrics, history, tick } = setup();
  metrics.accepted(5);
  metrics.published(3);
  await history.sample();
  breaker.transitionTo("FORCED_OPEN", { reason: "test" });
  tick(2_000);
  metrics.accepted(2);
  await history.sample();
  const view = history.view();
  assertEquals([view.intervalMs, view.capacity, view.now], [
    CHART_SAMPLE_INTERVAL_MS,
    CHART_HISTORY_SAMPLES,
    T0 + 2_000,
  ]);
  assertEquals(view.samples, [
    {
      at: T0,
      breaker: {
        state: "CLOSED",
        failureRate: null,
        failureRateThreshold: 40,
        slowCallRate: null,
        slowCallRateThreshold: 50,
      },
      counters: { outbox_accepted_total: 5, outbox_published_total: 3 },
      pending: 7,
    },
    {
      at: T0 + 2_000,
      breaker: {
        state: "FORCED_OPEN",
        failureRate: null,
        failureRateThreshold: 40,
        slowCallRate: null,
        slowCallRateThreshold: 50,
      },
      counters: { outbox_accepted_total: 7, outbox_published_total: 3 },
      pending: 7,
    },
  ]);
  breaker.dispose();
});

Deno.test("chart history: the counters it samples are those the page's charts read", () => {
  assertEquals([...CHARTED_COUNTERS], [ACCEPTED, PUBLISHED]);
});

Deno.test("chart history: an unreadable backlog is null and the sample is still taken", async () => {
  const { breaker, history } = setup({ pending: () => Promise.reject(new Error("pg down")) });
  await history.sample();
  const [s] = history.view().samples;
  assertEquals([s?.pending, s?.breaker?.state], [null, "CLOSED"]);
  breaker.dispose();
});

Deno.test("chart history: memory is bounded; the oldest samples go first", async () => {
  const { breaker, history, tick } = setup({ capacity: 3 });
  for (let i = 0; i < 5; i++) {
    await history.sample();
    tick(1_000);
  }
  assertEquals(history.view().samples.map((s) => s.at), [T0 + 2_000, T0 + 3_000, T0 + 4_000]);
  breaker.dispose();
});

Deno.test("chart history: start samples at once, then every interval, until stop", async () => {
  const timers = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setInterval", "clearInterval"],
  });
  const { breaker, history, tick } = setup();
  try {
    history.start();
    history.start(); // a second start is not a second timer
    await timers.tickAsync(0);
    assertEquals(history.view().samples.length, 1);
    for (let i = 0; i < 3; i++) {
      tick(CHART_SAMPLE_INTERVAL_MS);
      await timers.tickAsync(CHART_SAMPLE_INTERVAL_MS);
    }
    assertEquals(history.view().samples.length, 4);
    await history.stop();
    assertEquals(timers.countTimers(), 0, "stop leaves no timer");
    await timers.tickAsync(10 * CHART_SAMPLE_INTERVAL_MS);
    assertEquals(history.view().samples.length, 4);
  } finally {
    timers.uninstall();
    breaker.dispose();
  }
});

Deno.test("chart history: an interval below 100 ms is a RangeError", () => {
  const { breaker, metrics } = setup();
  assertThrows(() => createChartHistory({ breaker, metrics, intervalMs: 10 }), RangeError);
  breaker.dispose();
});
