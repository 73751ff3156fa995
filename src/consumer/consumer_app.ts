/**
 * The reference consumer's HTTP surface: /metrics for Prometheus, /health/live and /health/ready
 * for the orchestrator. Ready means connected to Kafka with at least one partition assigned; a
 * member left without a partition (more replicas than partitions) is live but not ready.
 */
import { Hono } from "hono";
import type { ConsumerMetrics } from "./consumer_metrics.ts";

/** What the consumer reports about its group membership. */
export interface ConsumerStatus {
  connected: boolean;
  /** Partitions held now. */
  assigned: number[];
}

/** What `createConsumerApp` needs. */
export interface ConsumerAppDeps {
  metrics: Pick<ConsumerMetrics, "render" | "registry">;
  status: () => ConsumerStatus;
  topic: string;
  group: string;
}

/** The consumer's Hono app. */
export function createConsumerApp(deps: ConsumerAppDeps): Hono {
  const app = new Hono();

  app.get("/health/live", (c) => c.json({ status: "UP" }));

  app.get("/health/ready", (c) => {
    const { connected, assigned } = deps.status();
    const ok = connected && assigned.length > 0;
    return c.json({
      status: ok ? "UP" : "DOWN",
      checks: {
        kafka: connected ? "UP" : "DOWN",
        group: deps.group,
        topic: deps.topic,
        partitions: assigned,
      },
    }, ok ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    return c.body(await deps.metrics.render(), 200, {
      "content-type": deps.metrics.registry.contentType,
    });
  });

  return app;
}
