import { assertAlmostEquals, assertEquals } from "@std/assert";
import {
  ACCEPTED,
  COL,
  createHistory,
  parseCounters,
  PUBLISHED,
  ratePerSecond,
} from "./history.js";
import type { BreakerSnapshot } from "../../breaker/circuit_breaker.ts";

const STATES = ["CLOSED", "OPEN", "FORCED_OPEN"];

function snapshot(over: Partial<BreakerSnapshot> = {}): BreakerSnapshot {
  return {
    state: "CLOSED",
    failureRate: 10,
    slowCallRate: null,
    config: { failureRateThreshold: 40, slowCallRateThreshold: 70 },
    ...over,
  } as BreakerSnapshot;
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
  h.add({ at: 1_000_000, snapshot: snapshot(), counters: counters(0, 0), pending: 0 });
  h.add({
    at: 1_002_000,
    snapshot: snapshot({ state: "FORCED_OPEN" }),
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
  h.add({ at: 0, snapshot: null, counters: counters(0, 0), pending: null });
  h.add({ at: 1_000, snapshot: null, counters: null, pending: null });
  h.add({ at: 2_000, snapshot: null, counters: counters(8, 8), pending: null });
  assertEquals(h.columns()[COL.accepted], [null, null, 4]);
  assertEquals(h.columns()[COL.state], [null, null, null]);
});

Deno.test("history: a pause leaves an empty row and restarts the rates", () => {
  const h = createHistory({ windowMs: 300_000, gapMs: 3_000, states: STATES });
  h.add({ at: 0, snapshot: snapshot(), counters: counters(0, 0), pending: 1 });
  h.add({ at: 60_000, snapshot: snapshot(), counters: counters(600, 600), pending: 2 });
  const cols = h.columns();
  assertEquals(cols[0]!.length, 3);
  assertAlmostEquals(cols[0]![1]!, 0.001);
  assertEquals(cols[COL.pending], [1, null, 2]);
  assertEquals(cols[COL.accepted], [null, null, null]);
});

Deno.test("history: only the window is kept", () => {
  const h = createHistory({ windowMs: 10_000, gapMs: 3_000, states: STATES });
  for (let at = 0; at <= 30_000; at += 1_000) {
    h.add({ at, snapshot: snapshot(), counters: counters(at, at), pending: at });
  }
  assertEquals(h.size, 11);
  assertEquals(h.columns()[0]![0], 20);
});
