import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  ADMIN_TOKEN,
  getJson,
  paymentEvent,
  postPayment,
  readTopic,
  REAL_IO,
  startTestService,
  waitFor,
} from "./helpers.ts";

Deno.test({
  name: "POST /payments with Kafka up answers 201 PUBLISHED and the event is in the topic",
  ...REAL_IO,
  async fn() {
    const t = await startTestService();
    try {
      const event = paymentEvent();
      const res = await postPayment(t.base, event);
      assertEquals(res.status, 201, JSON.stringify(res.body));
      assertEquals(res.body.status, "PUBLISHED");
      assertEquals(res.body.eventId, event.eventId);
      assertEquals(res.headers.get("location"), `/payments/${event.eventId}`);
      const messages = await readTopic(t.topic, [event.eventId as string]);
      const got = messages.find((m) => m.eventId === event.eventId);
      if (!got) throw new Error("the event was not read back from the topic");
      assertEquals(got.key, event.paymentId);
      assertEquals(got.value.amount, event.amount);
      const stored = await getJson(t.base, `/payments/${event.eventId}`);
      assertEquals(stored.status, "PUBLISHED");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "a repeated eventId answers 200 with the stored status and is stored and published once",
  ...REAL_IO,
  async fn() {
    const t = await startTestService();
    try {
      const event = paymentEvent();
      assertEquals((await postPayment(t.base, event)).status, 201);
      const again = await postPayment(t.base, event);
      assertEquals(again.status, 200);
      assertEquals(again.body.replay, true);
      assertEquals(again.body.status, "PUBLISHED");
      const [row] = await t.db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM outbox WHERE id = $1",
        [event.eventId],
      );
      assertEquals(row?.n, "1");
      // A marker event published after the replay bounds the read: once it is seen, any second
      // copy of the first event would have been read too.
      const marker = paymentEvent();
      assertEquals((await postPayment(t.base, marker)).status, 201);
      const messages = await readTopic(t.topic, [
        event.eventId as string,
        marker.eventId as string,
      ]);
      assertEquals(messages.filter((m) => m.eventId === event.eventId).length, 1);

      const changed = await postPayment(t.base, { ...event, amount: 1 });
      assertEquals(changed.status, 409);
      assertEquals(changed.headers.get("content-type"), "application/problem+json");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "invalid bodies get 4xx problem+json naming the problem and store nothing",
  ...REAL_IO,
  async fn() {
    const t = await startTestService();
    try {
      const cases: [unknown, Record<string, string>, number, RegExp][] = [
        ["{not json", { "content-type": "application/json" }, 400, /not valid JSON/],
        [paymentEvent(), { "content-type": "text/plain" }, 415, /application\/json/],
        [{ ...paymentEvent(), extra: 1 }, { "content-type": "application/json" }, 422, /extra/],
        [{ ...paymentEvent(), amount: -5 }, { "content-type": "application/json" }, 422, /amount/],
        [{ ...paymentEvent(), amount: 1.5 }, { "content-type": "application/json" }, 422, /amount/],
        [
          { ...paymentEvent(), currency: "XYZ" },
          { "content-type": "application/json" },
          422,
          /currency/,
        ],
        [{ ...paymentEvent(), type: "NOPE" }, { "content-type": "application/json" }, 422, /type/],
        [
          { ...paymentEvent(), eventId: "x" },
          { "content-type": "application/json" },
          422,
          /eventId/,
        ],
        [
          { ...paymentEvent(), occurredAt: "yesterday" },
          { "content-type": "application/json" },
          422,
          /occurredAt/,
        ],
        [
          JSON.stringify({ ...paymentEvent(), metadata: { big: "x".repeat(70_000) } }),
          {
            "content-type": "application/json",
          },
          413,
          /exceeds/,
        ],
        ["[]", { "content-type": "application/json" }, 422, /body|expected/i],
      ];
      for (const [body, headers, status, detail] of cases) {
        const res = await postPayment(t.base, body, headers);
        assertEquals(res.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${res.status}`);
        assertEquals(res.headers.get("content-type"), "application/problem+json");
        assertEquals(res.body.status, status);
        assertMatch(String(res.body.detail), detail);
      }
      const [row] = await t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox");
      assertEquals(row?.n, "0");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "admin routes: read state, forced transitions, 404, 409, 401 and 403",
  ...REAL_IO,
  async fn() {
    const t = await startTestService();
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${t.base}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(body),
      });
    try {
      const state = await getJson(t.base, "/circuit-breaker/kafka-publisher");
      assertEquals(state.state, "CLOSED");
      const list = await getJson(t.base, "/circuit-breaker");
      assertEquals((list.circuitBreakers as unknown[]).length, 1);

      const noToken = await post("/circuit-breaker/kafka-publisher/state", {
        state: "FORCED_OPEN",
      });
      assertEquals(noToken.status, 401);
      assertMatch(noToken.headers.get("www-authenticate") ?? "", /Bearer/);
      await noToken.body?.cancel();
      const wrong = await post(
        "/circuit-breaker/kafka-publisher/state",
        { state: "FORCED_OPEN" },
        "wrong-token-xxxxxxxx",
      );
      assertEquals(wrong.status, 403);
      const wrongBody = await wrong.text();
      assert(
        !wrongBody.includes(ADMIN_TOKEN) && !wrongBody.includes("wrong-token"),
        "token echoed",
      );

      const unknown = await post(
        "/circuit-breaker/nope/state",
        { state: "FORCED_OPEN" },
        ADMIN_TOKEN,
      );
      assertEquals(unknown.status, 404);
      await unknown.body?.cancel();
      const bad = await post(
        "/circuit-breaker/kafka-publisher/state",
        { state: "SIDEWAYS" },
        ADMIN_TOKEN,
      );
      assertEquals(bad.status, 422);
      await bad.body?.cancel();

      const forced = await post(
        "/circuit-breaker/kafka-publisher/state",
        { state: "FORCED_OPEN", reason: "investigating" },
        ADMIN_TOKEN,
      );
      assertEquals(forced.status, 200);
      assertEquals((await forced.json()).state, "FORCED_OPEN");
      const whileOpen = await postPayment(t.base, paymentEvent());
      assertEquals(whileOpen.status, 202);
      assertEquals(whileOpen.body.status, "PENDING");

      const metricsOnly = await post("/circuit-breaker/kafka-publisher/state", {
        state: "METRICS_ONLY",
      }, ADMIN_TOKEN);
      assertEquals(metricsOnly.status, 200);
      await metricsOnly.body?.cancel();
      const illegal = await post(
        "/circuit-breaker/kafka-publisher/state",
        { state: "OPEN" },
        ADMIN_TOKEN,
      );
      assertEquals(illegal.status, 409);
      const problem = await illegal.json();
      assert(
        Array.isArray(problem.allowed) && problem.allowed.includes("CLOSED"),
        JSON.stringify(problem),
      );
      assert(!problem.allowed.includes("OPEN"));

      const closed = await post(
        "/circuit-breaker/kafka-publisher/state",
        { state: "CLOSED" },
        ADMIN_TOKEN,
      );
      assertEquals(closed.status, 200);
      await closed.body?.cancel();
      const events = await getJson(
        t.base,
        "/circuit-breaker/kafka-publisher/events?type=STATE_TRANSITION",
      );
      const transitions = events.events as { to: string }[];
      assertEquals(transitions.map((e) => e.to), ["FORCED_OPEN", "METRICS_ONLY", "CLOSED"]);
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "admin mutations answer 403 saying how to enable them when ADMIN_TOKEN is unset",
  ...REAL_IO,
  async fn() {
    const t = await startTestService({ ADMIN_TOKEN: "" });
    try {
      const res = await fetch(`${t.base}/circuit-breaker/kafka-publisher/state`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: "Bearer anything-at-all-here",
        },
        body: JSON.stringify({ state: "FORCED_OPEN" }),
      });
      assertEquals(res.status, 403);
      assertMatch((await res.json()).detail, /ADMIN_TOKEN/);
      assertEquals((await getJson(t.base, "/circuit-breaker/kafka-publisher")).state, "CLOSED");
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "/metrics exports every breaker, HTTP, outbox and Kafka series",
  ...REAL_IO,
  async fn() {
    const t = await startTestService();
    try {
      assertEquals((await postPayment(t.base, paymentEvent())).status, 201);
      // The 201 comes once Kafka has the event; marking its row published is batched off the
      // answer path, so the outbox gauges settle a moment later.
      const scrape = () => fetch(`${t.base}/metrics`).then((r) => r.text());
      const text = await waitFor(async () => {
        const body = await scrape();
        return body.includes("outbox_pending_events 0") ? body : "";
      }, 5_000) || await scrape();
      for (
        const series of [
          'resilience4j_circuitbreaker_state{name="kafka-publisher",state="closed"} 1',
          'resilience4j_circuitbreaker_state{name="kafka-publisher",state="forced_half_open"} 0',
          'resilience4j_circuitbreaker_state{name="kafka-publisher",state="metrics_only"} 0',
          'resilience4j_circuitbreaker_calls_seconds_count{name="kafka-publisher",kind="successful"} 1',
          'resilience4j_circuitbreaker_calls_seconds_bucket{le="0.001",name="kafka-publisher",kind="failed"}',
          'resilience4j_circuitbreaker_not_permitted_calls_total{name="kafka-publisher",kind="not_permitted"} 0',
          'resilience4j_circuitbreaker_buffered_calls{name="kafka-publisher",kind="successful"} 1',
          'resilience4j_circuitbreaker_slow_calls{name="kafka-publisher",kind="failed"} 0',
          'resilience4j_circuitbreaker_failure_rate{name="kafka-publisher"}',
          'resilience4j_circuitbreaker_slow_call_rate{name="kafka-publisher"}',
          "circuitbreaker_transitions_total",
          'http_requests_total{method="POST",route="/payments",status="201"} 1',
          "http_request_duration_seconds_bucket",
          "outbox_pending_events 0",
          "outbox_oldest_pending_age_seconds 0",
          "outbox_dead_lettered_events 0",
          "outbox_published_total 1",
          "outbox_accepted_total 1",
          'kafka_publish_duration_seconds_count{outcome="success"} 1',
          "process_resident_memory_bytes",
        ]
      ) {
        assert(text.includes(series), `missing ${series}`);
      }
    } finally {
      await t.stop();
    }
  },
});

Deno.test({
  name: "readiness follows Postgres, not Kafka: no broker still accepts events as 202 PENDING",
  ...REAL_IO,
  async fn() {
    const t = await startTestService({
      KAFKA_BROKERS: "127.0.0.1:1",
      BREAKER_MINIMUM_NUMBER_OF_CALLS: "2",
    });
    try {
      const ready = await fetch(`${t.base}/health/ready`);
      assertEquals(ready.status, 200);
      const body = await ready.json();
      assertEquals(body.checks.postgres, "UP");
      const res = await postPayment(t.base, paymentEvent());
      assertEquals(res.status, 202);
      assertEquals(res.body.status, "PENDING");
      assertEquals((await fetch(`${t.base}/health/live`)).status, 200);
    } finally {
      await t.stop();
    }
  },
});
