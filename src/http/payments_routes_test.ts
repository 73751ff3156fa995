import { assertEquals } from "@std/assert";
import { paymentsRoutes, type PaymentsRoutesDeps } from "./payments_routes.ts";
import {
  fakeDb,
  fakeIngest,
  jsonRequest,
  mounted,
  paymentEventBody,
  recordingLogger,
  recordingMetrics,
  storedRow,
} from "../testing/http_fakes.ts";

const ID = "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f";
const ACCEPTED_AT = "2026-01-02T03:04:05.000Z";

function setup(over: Partial<PaymentsRoutesDeps> = {}) {
  const db = fakeDb();
  const ingest = fakeIngest();
  const metrics = recordingMetrics();
  const logger = recordingLogger();
  const app = mounted(
    "/payments",
    paymentsRoutes({
      db,
      ingest,
      metrics,
      logger,
      retryAfter: "2",
      maxInFlight: 10,
      bodyLimitBytes: 1024,
      bodyReadTimeoutMs: 1000,
      ...over,
    }),
    logger,
  );
  return { app, db, ingest, metrics, logger };
}

const post = (body: unknown = paymentEventBody()) => jsonRequest("POST", body);

Deno.test("payments routes: PUBLISHED is 201 with Location, and the event reached the ingest path", async () => {
  const { app, ingest, metrics } = setup();
  ingest.next = { kind: "published", createdAt: new Date(ACCEPTED_AT) };
  const res = await app.request("/payments", post());
  assertEquals(res.status, 201);
  assertEquals(res.headers.get("location"), `/payments/${ID}`);
  assertEquals(await res.json(), { eventId: ID, status: "PUBLISHED", acceptedAt: ACCEPTED_AT });
  assertEquals(ingest.accepted.map((e) => [e.id, e.aggregateid, e.type]), [
    [ID, "pay-1", "PAYMENT_CREATED"],
  ]);
  assertEquals(metrics.acceptedTotal, 1);
});

Deno.test("payments routes: PENDING and DEAD_LETTERED are 202 with the reason", async () => {
  const { app, ingest, metrics } = setup();
  ingest.next = { kind: "pending", createdAt: new Date(ACCEPTED_AT), reason: "breaker open" };
  const pending = await app.request("/payments", post());
  assertEquals(pending.status, 202);
  assertEquals(await pending.json(), {
    eventId: ID,
    status: "PENDING",
    acceptedAt: ACCEPTED_AT,
    detail: "breaker open",
  });
  ingest.next = { kind: "dead_lettered", createdAt: new Date(ACCEPTED_AT), reason: "too large" };
  const dead = await app.request("/payments", post());
  assertEquals(dead.status, 202);
  assertEquals((await dead.json()).status, "DEAD_LETTERED");
  assertEquals(metrics.acceptedTotal, 2);
});

Deno.test("payments routes: a replay is 200 and not counted as accepted again", async () => {
  const { app, ingest, metrics } = setup();
  ingest.next = {
    kind: "replay",
    status: "PUBLISHED",
    createdAt: new Date(ACCEPTED_AT),
    publishedAt: new Date("2026-01-02T03:04:06.000Z"),
  };
  const res = await app.request("/payments", post());
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    eventId: ID,
    status: "PUBLISHED",
    acceptedAt: ACCEPTED_AT,
    publishedAt: "2026-01-02T03:04:06.000Z",
    replay: true,
  });
  assertEquals(metrics.acceptedTotal, 0);
});

Deno.test("payments routes: a reused event id with another body is a 409 problem", async () => {
  const { app, ingest } = setup();
  ingest.next = { kind: "conflict", createdAt: new Date(ACCEPTED_AT) };
  const res = await app.request("/payments", post());
  assertEquals(res.status, 409);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals([body.title, body.eventId, body.instance], [
    "Event id already used",
    ID,
    "/payments",
  ]);
});

Deno.test("payments routes: an outbox that cannot be written is 503 with Retry-After, logged", async () => {
  const { app, ingest, logger } = setup();
  ingest.next = new Error("connection reset");
  const res = await app.request("/payments", post());
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("retry-after"), "2");
  assertEquals((await res.json()).title, "Outbox unavailable");
  assertEquals(logger.records.map((r) => [r.level, r.msg, r.fields.error]), [
    ["error", "outbox write failed", "connection reset"],
  ]);
});

Deno.test("payments routes: the body limit and schema apply before the ingest path is asked", async () => {
  const { app, ingest } = setup({ bodyLimitBytes: 64 });
  const big = await app.request(
    "/payments",
    post(paymentEventBody({ merchantId: "m".repeat(100) })),
  );
  assertEquals(big.status, 413);
  const { app: app2, ingest: ingest2 } = setup();
  const invalid = await app2.request("/payments", post({ paymentId: "pay-1" }));
  assertEquals(invalid.status, 422);
  assertEquals(ingest.accepted.length + ingest2.accepted.length, 0);
});

Deno.test("payments routes: the in-flight cap refuses with 503 before the body is read", async () => {
  const { app, ingest } = setup({ maxInFlight: 1 });
  let release: () => void = () => {};
  ingest.accept = (event) => {
    ingest.accepted.push(event);
    return new Promise((r) =>
      release = () => r({ kind: "pending", createdAt: new Date(ACCEPTED_AT), reason: "" })
    );
  };
  const first = app.request("/payments", post());
  while (ingest.accepted.length === 0) await new Promise((r) => setTimeout(r, 0));
  const second = await app.request("/payments", post());
  assertEquals(second.status, 503);
  assertEquals(second.headers.get("retry-after"), "2");
  assertEquals((await second.json()).title, "Too many requests in flight");
  release();
  assertEquals((await first).status, 202);
  assertEquals(ingest.accepted.length, 1);
});

Deno.test("payments routes: GET by id shows the stored row; the query asked for that id", async () => {
  const { app, db } = setup();
  db.answer = () => [storedRow()];
  const res = await app.request(`/payments/${ID.toUpperCase()}`);
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    eventId: ID,
    paymentId: "pay-1",
    type: "PAYMENT_CREATED",
    status: "PUBLISHED",
    attempts: 1,
    lastError: null,
    acceptedAt: ACCEPTED_AT,
    publishedAt: "2026-01-02T03:04:06.000Z",
    event: paymentEventBody(),
  });
  assertEquals(db.queries.map((q) => q.params), [[ID.toUpperCase()]]);
});

Deno.test("payments routes: GET by id answers 400 for a non-UUID and 404 for an unknown one", async () => {
  const { app, db } = setup();
  const bad = await app.request("/payments/not-a-uuid");
  assertEquals(bad.status, 400);
  assertEquals((await bad.json()).title, "Invalid event id");
  assertEquals(db.queries.length, 0, "a bad id never reaches the database");
  const unknown = await app.request(`/payments/${ID}`);
  assertEquals(unknown.status, 404);
  assertEquals((await unknown.json()).detail, `no event with id ${ID}`);
});

Deno.test("payments routes: GET by id while Postgres is down is 503 with Retry-After", async () => {
  const { app, db, logger } = setup();
  db.down = true;
  const res = await app.request(`/payments/${ID}`);
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("retry-after"), "2");
  assertEquals((await res.json()).detail, "Postgres is not reachable; retry later");
  assertEquals(logger.records.map((r) => r.msg), ["outbox read failed"]);
});
