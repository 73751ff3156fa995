/**
 * Time to trip under a stalled broker, with the seed's timings: the broker process is SIGSTOPped
 * (connections stay open, nothing answers) while clients keep sending a few events per second.
 * The breaker must be OPEN within 20 s of the stall; every acknowledged event must then reach
 * Kafka, the first copies of each payment's events in acceptance order.
 */
import { assert, assertEquals } from "@std/assert";
import type { BreakerEvent } from "../../src/breaker/circuit_breaker.ts";
import { runLoad } from "../../scripts/lib/load.ts";
import { kafkaCtl, readTopic, REAL_IO, startTestService, uniqueName, waitFor } from "./helpers.ts";

/** The seed's settings (DESIGN.md), which startTestService otherwise shortens. */
const SEED_TIMINGS = {
  KAFKA_REQUEST_TIMEOUT_MS: "10000",
  KAFKA_DELIVERY_TIMEOUT_MS: "15000",
  BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS: "5000",
  BREAKER_MINIMUM_NUMBER_OF_CALLS: "5",
  BREAKER_FAILURE_RATE_THRESHOLD: "50",
  BREAKER_SLOW_CALL_RATE_THRESHOLD: "50",
  BREAKER_SLIDING_WINDOW_TYPE: "COUNT_BASED",
  BREAKER_SLIDING_WINDOW_SIZE: "10",
  INLINE_PUBLISH_BUDGET_MS: "1000",
};
const TRIP_BOUND_MS = 20_000;

Deno.test({
  name:
    "Kafka stalled (SIGSTOP) under steady traffic: OPEN within 20 s with the seed timings, nothing lost or reordered",
  ...REAL_IO,
  async fn() {
    const t = await startTestService({
      ...SEED_TIMINGS,
      // Not part of the trip: a shorter OPEN wait only makes the recovery after SIGCONT quicker.
      BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: "2000",
    });
    const breaker = t.service.breaker;
    const transitions: Extract<BreakerEvent, { type: "STATE_TRANSITION" }>[] = [];
    const unsubscribe = breaker.subscribe((e) => {
      if (e.type === "STATE_TRANSITION") transitions.push(e);
    });
    const stopLoad = new AbortController();
    // 4 clients, each sending one event a second over 10 payment ids in turn: a payment gets an
    // event every 10 s, like a payment's lifecycle spread over time. (Events of a payment whose
    // earlier event is stuck in a stalled publish wait behind it for the relay, by design, so
    // traffic on only a handful of payment ids produces fewer calls for the breaker to judge.)
    const loadP = runLoad({
      targets: () => [t.base],
      keyPrefix: uniqueName("stall"),
      clients: 4,
      keys: 40,
      eventsPerKey: 1_000,
      ratePerClient: 1,
      durationMs: 120_000,
      signal: stopLoad.signal,
    });
    let paused = false;
    try {
      const warm = await waitFor(() => {
        const s = breaker.snapshot();
        return Promise.resolve(
          s.state === "CLOSED" && s.bufferedCalls >= 10 && s.failedCalls === 0,
        );
      }, 30_000);
      assert(
        warm,
        `no full healthy window before the stall: ${JSON.stringify(breaker.snapshot())}`,
      );

      const stalledAt = Date.now();
      await kafkaCtl("pause");
      paused = true;
      const opened = await waitFor(
        () => Promise.resolve(transitions.find((e) => e.to === "OPEN")),
        TRIP_BOUND_MS + 20_000,
      );
      const s = breaker.snapshot();
      await kafkaCtl("resume");
      paused = false;
      if (!opened) {
        throw new Error(
          `not OPEN ${Date.now() - stalledAt} ms after SIGSTOP: ${JSON.stringify(s)}`,
        );
      }
      const tripMs = opened.at - stalledAt;
      console.log(
        `breaker OPEN ${(tripMs / 1000).toFixed(1)} s after SIGSTOP (bound ${
          TRIP_BOUND_MS / 1000
        } s): ${opened.reason}; from ${opened.from}, transitions before it: ${
          transitions.length - 1
        }`,
      );
      assertEquals(opened.from, "CLOSED");
      assert(tripMs <= TRIP_BOUND_MS, `OPEN ${tripMs} ms after the stall (bound ${TRIP_BOUND_MS})`);

      const recovered = await waitFor(
        () => Promise.resolve(breaker.state === "CLOSED"),
        60_000,
        250,
      );
      assert(recovered, `not CLOSED again after SIGCONT: ${JSON.stringify(breaker.snapshot())}`);
    } finally {
      if (paused) await kafkaCtl("resume");
      stopLoad.abort();
      unsubscribe();
    }
    try {
      const load = await loadP;
      assertEquals(load.unacked.length, 0, "an event was refused while only Kafka stalled");
      const drained = await waitFor(
        async () => {
          const [r] = await t.db.query<{ n: string }>(
            "SELECT count(*)::text AS n FROM outbox WHERE status <> 'PUBLISHED'",
          );
          return r?.n === "0";
        },
        60_000,
        250,
      );
      assert(drained, "the outbox did not drain after SIGCONT");

      const messages = await readTopic(t.topic, load.acked.keys(), 60_000);
      const firstSeen = new Map<string, number>();
      messages.forEach((m, i) => firstSeen.has(m.eventId) || firstSeen.set(m.eventId, i));
      const missing = [...load.acked.keys()].filter((id) => !firstSeen.has(id));
      assertEquals(missing, [], "acknowledged events missing from the topic");
      for (const [key, order] of load.ackOrder) {
        const seen = [...order].sort((a, b) => firstSeen.get(a)! - firstSeen.get(b)!);
        assertEquals(seen, order, `events of ${key} out of acceptance order`);
      }
    } finally {
      await t.stop();
    }
  },
});
