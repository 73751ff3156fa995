/**
 * Several at-least-once publishers behind one: a publish goes to the lane with the fewest
 * publishes running. A kafkajs idempotent producer must send one batch at a time (send_queue.ts),
 * so one producer bounds inline publishing to one produce round trip per batch; two lanes let a
 * batch go out while the one before it waits for its acknowledgement. Per-key order does not rest
 * on the producer: a row is published inline only when no older row of its key is pending, so two
 * batches in flight never hold two events of one payment.
 */
import type { OutboundRecord, Publisher } from "./publisher.ts";

/** Spreads publishes over `lanes` (at least one); exactly-once publishers are not pooled. */
export function createPublisherPool(lanes: Publisher[]): Publisher {
  if (lanes.length === 0) throw new RangeError("a publisher pool needs at least one lane");
  if (lanes.some((l) => l.transactional)) {
    throw new RangeError("exactly-once publishers cannot be pooled: one producer owns the claims");
  }
  if (lanes.length === 1) return lanes[0]!;
  const running = lanes.map(() => 0);

  return {
    async publish(records: OutboundRecord[]): Promise<void> {
      let lane = 0;
      for (let i = 1; i < lanes.length; i++) if (running[i]! < running[lane]!) lane = i;
      running[lane]!++;
      try {
        await lanes[lane]!.publish(records);
      } finally {
        running[lane]!--;
      }
    },
    async connect(): Promise<void> {
      await Promise.all(lanes.map((l) => l.connect()));
    },
    ping: () => lanes[0]!.ping(),
    async close(): Promise<void> {
      await Promise.allSettled(lanes.map((l) => l.close()));
    },
  };
}
