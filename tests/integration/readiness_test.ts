import { assertEquals } from "@std/assert";
import { createApp } from "../../src/http/app.ts";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";
import { silentLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics/metrics.ts";
import { createPostgresDb } from "../../src/outbox/db.ts";
import type { Ingest } from "../../src/outbox/ingest.ts";
import type { Relay } from "../../src/outbox/relay.ts";
import { paymentEvent, REAL_IO } from "./helpers.ts";

Deno.test({
  name:
    "/health/ready answers 503 and POST /payments 503 with Retry-After when Postgres is unreachable",
  ...REAL_IO,
  async fn() {
    // A port nothing listens on: every query fails to connect.
    const db = createPostgresDb("postgres://postgres@127.0.0.1:1/postgres", { connectTimeoutS: 1 });
    const breaker = new CircuitBreaker("kafka-publisher");
    const ingest: Ingest = {
      accept: () =>
        db.query("SELECT 1").then(() => ({ kind: "pending", createdAt: new Date(), reason: "" })),
      drain: () => Promise.resolve(),
      unmarkedSince: () => undefined,
    };
    const relay: Relay = {
      start() {},
      wake() {},
      stop: () => Promise.resolve(),
      status: () => ({
        running: false,
        leader: false,
        lastBatchSize: 0,
        lastError: null,
        publishedTotal: 0,
      }),
    };
    const app = createApp({
      db,
      ingest,
      relay,
      breakers: [breaker],
      metrics: createMetrics({ breakers: [breaker], defaultMetrics: false }),
      logger: silentLogger,
      adminToken: null,
    });
    try {
      const ready = await app.request("/health/ready");
      assertEquals(ready.status, 503);
      const body = await ready.json();
      assertEquals(body.checks.postgres, "DOWN");
      assertEquals(body.checks.kafka["kafka-publisher"], "CLOSED");
      const res = await app.request("/payments", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(paymentEvent()),
      });
      assertEquals(res.status, 503);
      assertEquals(res.headers.get("retry-after"), "2");
      assertEquals(res.headers.get("content-type"), "application/problem+json");
    } finally {
      breaker.dispose();
      await db.close(100);
    }
  },
});
