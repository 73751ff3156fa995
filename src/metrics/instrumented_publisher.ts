/** A Publisher decorator that records every publish's latency and outcome. */
import type { Publisher } from "../kafka/publisher.ts";
import type { Metrics } from "./metrics.ts";

/** Wraps `inner` so each publish is observed in `kafka_publish_duration_seconds`. */
export function instrumentPublisher(inner: Publisher, metrics: Metrics): Publisher {
  return {
    async publish(records, owner) {
      const start = performance.now();
      try {
        await inner.publish(records, owner);
        metrics.observePublish("success", (performance.now() - start) / 1000, records.length);
      } catch (e) {
        metrics.observePublish("failure", (performance.now() - start) / 1000, records.length);
        throw e;
      }
    },
    connect: () => inner.connect(),
    ping: () => inner.ping(),
    close: () => inner.close(),
    transactional: inner.transactional,
  };
}
