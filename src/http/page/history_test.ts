import { assertAlmostEquals, assertEquals } from "@std/assert";
import {
  ACCEPTED,
  breakerPoint,
  COL,
  createHistory,
  parseCounters,
  PUBLISHED,
  ratePerSecond,
} from "./history.js";
import type { BreakerSnapshot } from "../../breaker/circuit_breaker.ts";
import type { ChartBreakerPoint, ChartSample } from "../../metrics/chart_history.ts";

const STATES = ["CLOSED", "OPEN", "FORCED_OPEN"];

function snapshot(over: Partial<ChartBreakerPoint> = {}): ChartBreakerPoint {
  return {
    state: "CLOSED",
    failureRate: 10,
    failureRateThreshold: 40,
    slowCallRate: null,
    slowCallRateThreshold: 70,
    ...over,
  };
}

const counters = (accepted: number, published: number) => ({
  [ACCEPTED]: accepted,
  [PUBLISHED]: published,
});

Deno.test("history: parseCounters reads unlabelled samples and skips comments and others", () => {
  const text = [
    "# HELP outbox_accepted_total Events stored in the outbox",
    "# TYPE outbox_accepted_total counter",
    "outbox_accepted_total 42",
    'http_requests_total{route="/"} 7',
    "outbox_published_total 4.5e1",
    "outbox_pending_events NaN",
    "",
  ].join("\n");
  assertEquals(parseCounters(text, [ACCEPTED, PUBLISHED, "outbox_pending_events"]), {
    [ACCEPTED]: 42,
    [PUBLISHED]: 45,
  });
});

Deno.test("history: a rate needs both readings, time, and a counter that did not go back", () => {
  assertEquals(ratePerSecond({ a: 10 }, { a: 30 }, "a", 2), 10);
  assertEquals(ratePerSecond(null, { a: 30 }, "a", 2), null);
  assertEquals(ratePerSecond({ a: 10 }, {}, "a", 2), null);
  assertEquals(ratePerSecond({ a: 10 }, { a: 3 }, "a", 2), null, "restart");
  assertEquals(ratePerSecond({ a: 10 }, { a: 12 }, "a", 0), null);
});

Deno.test("history: rows carry rates, rates against thresholds, backlog and state index", () => {
  const h = createHistory({ windowMs: 300_000, gapMs: 3_000, states: STATES });
  h.add({ at: 1_000_000, breaker: snapshot(), counters: counters(0, 0), pending: 0 });
  h.add({
    at: 1_002_000,
    breaker: snapshot({ state: "FORCED_OPEN" }),
    counters: counters(10, 4),
    pending: 6,
  });
  const cols = h.columns();
  assertEquals(cols[0], [1000, 1002]);
  assertEquals(cols[COL.accepted], [null, 5]);
  assertEquals(cols[COL.published], [null, 2]);
  assertEquals(cols[COL.failureRate], [10, 10]);
  assertEquals(cols[COL.failureThreshold], [40, 40]);
  assertEquals(cols[COL.slowRate], [null, null]);
  assertEquals(cols[COL.slowThreshold], [70, 70]);
  assertEquals(cols[COL.pending], [0, 6]);
  assertEquals(cols[COL.state], [0, 2]);
});

Deno.test("history: a failed /metrics costs one row; the next rate spans both intervals", () => {
  const h = createHistory({ windowMs: 300_000, gapMs: 3_000, states: STATES });
  h.add({ at: 0, breaker: null, counters: counters(0, 0), pending: null });
  h.add({ at: 1_000, breaker: null, counters: null, pending: null });
  h.add({ at: 2_000, breaker: null, counters: counters(8, 8), pending: null });
  assertEquals(h.columns()[COL.accepted], [null, null, 4]);
  assertEquals(h.columns()[COL.state], [null, null, null]);
});

Deno.test("history: a pause leaves an empty row and restarts the rates", () => {
  const h = createHistory({ windowMs: 300_000, gapMs: 3_000, states: STATES });
  h.add({ at: 0, breaker: snapshot(), counters: counters(0, 0), pending: 1 });
  h.add({ at: 60_000, breaker: snapshot(), counters: counters(600, 600), pending: 2 });
  const cols = h.columns();
  assertEquals(cols[0]!.length, 3);
  assertAlmostEquals(cols[0]![1]!, 0.001);
  assertEquals(cols[COL.pending], [1, null, 2]);
  assertEquals(cols[COL.accepted], [null, null, null]);
});

Deno.test("history: only the window is kept", () => {
  const h = createHistory({ windowMs: 10_000, gapMs: 3_000, states: STATES });
  for (let at = 0; at <= 30_000; at += 1_000) {
    h.add({ at, breaker: snapshot(), counters: counters(at, at), pending: at });
  }
  assertEquals(h.size, 11);
  assertEquals(h.columns()[0]![0], 20);
});

Deno.test("history: breakerPoint takes the charted figures of a snapshot, and nothing else", () => {
  const full = {
    state: "OPEN",
    failureRate: 60,
    slowCallRate: 0,
    bufferedCalls: 5,
    config: { failureRateThreshold: 40, slowCallRateThreshold: 70, minimumNumberOfCalls: 5 },
  } as unknown as BreakerSnapshot;
  assertEquals(breakerPoint(full), {
    state: "OPEN",
    failureRate: 60,
    failureRateThreshold: 40,
    slowCallRate: 0,
    slowCallRateThreshold: 70,
  });
  assertEquals(breakerPoint(null), null);
  assertEquals(breakerPoint({} as BreakerSnapshot), null);
});

/** A service sample every 2 s from `at`, in `state`, with counters growing by 10 per sample. */
function samples(from: number, n: number, state = "CLOSED"): ChartSample[] {
  return Array.from({ length: n }, (_, i) => ({
    at: from + i * 2_000,
    breaker: snapshot({ state: state as ChartBreakerPoint["state"] }),
    counters: counters(10 * i, 10 * i),
    pending: i,
  }));
}

Deno.test("history: the service's samples come first, shifted onto this browser's clock", () => {
  const h = createHistory({ windowMs: 900_000, gapMs: 3_000, states: STATES });
  const view = {
    intervalMs: 2_000,
    capacity: 480,
    now: 1_010_000,
    samples: [...samples(1_000_000, 3), ...samples(1_006_000, 2, "FORCED_OPEN")],
  };
  // This browser's clock runs 5 s ahead of the service's.
  h.seed(view, 1_015_000);
  const cols = h.columns();
  // 2 s apart is no gap for samples taken every 2 s (polls break the line after 3 s).
  assertEquals(cols[0], [1005, 1007, 1009, 1011, 1013]);
  assertEquals(cols[COL.state], [0, 0, 0, 2, 2]);
  assertEquals(cols[COL.pending], [0, 1, 2, 0, 1]);
  assertEquals(cols[COL.accepted], [null, 5, 5, null, 5]);
  // The first poll a second after the answer joins the samples without a gap row.
  h.add({ at: 1_016_000, breaker: snapshot(), counters: counters(30, 30), pending: 9 });
  assertEquals(h.columns()[0]!.at(-1), 1016);
  assertEquals(h.size, 6);
});

Deno.test("history: a sample missing from the service's history still breaks the line", () => {
  const h = createHistory({ windowMs: 900_000, gapMs: 3_000, states: STATES });
  const view = {
    intervalMs: 2_000,
    capacity: 480,
    now: 1_030_000,
    samples: [...samples(1_000_000, 2), ...samples(1_020_000, 2)],
  };
  h.seed(view, 1_030_000);
  assertEquals(h.columns()[COL.pending], [0, 1, null, 0, 1]);
});

Deno.test("history: a reading not after the last one is dropped", () => {
  const h = createHistory({ windowMs: 900_000, gapMs: 3_000, states: STATES });
  h.add({ at: 5_000, breaker: snapshot(), counters: null, pending: 1 });
  h.add({ at: 5_000, breaker: snapshot(), counters: null, pending: 2 });
  h.add({ at: 4_000, breaker: snapshot(), counters: null, pending: 3 });
  assertEquals(h.columns()[COL.pending], [1]);
});
