import { assertEquals, assertStringIncludes } from "@std/assert";
import { type ConsumerStatus, createConsumerApp } from "./consumer_app.ts";
import { CONSUMER_METRIC_NAMES, createConsumerMetrics } from "./consumer_metrics.ts";

function appWith(status: ConsumerStatus) {
  const metrics = createConsumerMetrics({
    topic: "payment-events",
    group: "g",
    assignedPartitions: () => status.assigned.length,
    defaultMetrics: false,
  });
  const app = createConsumerApp({
    metrics,
    status: () => status,
    topic: "payment-events",
    group: "g",
  });
  return { app, metrics };
}

Deno.test("consumer app: live always; ready only when connected with partitions assigned", async () => {
  const status: ConsumerStatus = { connected: false, assigned: [] };
  const { app } = appWith(status);
  assertEquals((await app.request("/health/live")).status, 200);
  assertEquals((await app.request("/health/ready")).status, 503);
  status.connected = true;
  const waiting = await app.request("/health/ready");
  assertEquals(
    waiting.status,
    503,
    "connected but no partition yet (or more members than partitions)",
  );
  assertEquals((await waiting.json()).checks.kafka, "UP");
  status.assigned = [0, 2];
  const ready = await app.request("/health/ready");
  assertEquals(ready.status, 200);
  assertEquals(await ready.json(), {
    status: "UP",
    checks: { kafka: "UP", group: "g", topic: "payment-events", partitions: [0, 2] },
  });
});

Deno.test("consumer app: /metrics serves every consumer family in the Prometheus text format", async () => {
  const status: ConsumerStatus = { connected: true, assigned: [0, 1, 2] };
  const { app, metrics } = appWith(status);
  metrics.consumed(1);
  metrics.consumed(1);
  metrics.duplicate(1);
  metrics.processed(1_700_000_000_000);
  metrics.setLag([{ partition: 0, lag: 0 }, { partition: 1, lag: 7 }]);
  const res = await app.request("/metrics");
  assertEquals(res.status, 200);
  assertStringIncludes(res.headers.get("content-type") ?? "", "text/plain");
  const text = await res.text();
  for (const name of Object.values(CONSUMER_METRIC_NAMES)) {
    assertStringIncludes(text, `# TYPE ${name} `);
  }
  // Partitions known from the lag refresh start their counters at 0.
  assertStringIncludes(
    text,
    'payment_consumer_duplicates_dropped_total{topic="payment-events",partition="0",group="g"} 0',
  );
  for (
    const line of [
      'payment_consumer_lag{topic="payment-events",partition="1",group="g"} 7',
      'payment_consumer_messages_total{topic="payment-events",partition="1",group="g"} 2',
      'payment_consumer_duplicates_dropped_total{topic="payment-events",partition="1",group="g"} 1',
      'payment_consumer_last_processed_timestamp_seconds{topic="payment-events",group="g"} 1700000000',
      'payment_consumer_assigned_partitions{topic="payment-events",group="g"} 3',
      'payment_consumer_lag_refresh_errors_total{topic="payment-events",group="g"} 0',
    ]
  ) {
    assertStringIncludes(text, line);
  }
});
