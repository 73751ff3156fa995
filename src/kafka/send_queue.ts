/**
 * Publishes one at a time, each under its own deadline. Why one at a time: kafkajs's idempotent
 * producer numbers each partition's batches, and after a failed request it hands the numbers back
 * (sendMessages rolls the sequence back) although the broker may still write that request, as a
 * stalled broker does once it resumes. A different batch waiting on the same producer then gets
 * the same numbers, and the broker acknowledges it as a duplicate without writing it: an event
 * marked published that never reached Kafka. So a batch only starts once the one before it has
 * settled or been abandoned, and the publisher replaces its producer after a failed send.
 *
 * Why the deadline covers the wait: it is the publish's delivery timeout; a publish stuck behind
 * a stalled one is as late for its caller (and the breaker) as the stalled one itself.
 */
import { PublishTimeoutError } from "./errors.ts";
import { withDeadline } from "../deadline.ts";

/** A FIFO of sends, at most one running. */
export interface SendQueue {
  /**
   * Runs `send` once every earlier send has settled or been abandoned. Rejects with
   * PublishTimeoutError `deadlineMs` after this call; a send whose deadline passes while it waits
   * never starts, and one that is running is abandoned (it may go on, but no longer holds the
   * line). `started` tells whether `send` was called.
   */
  run<T>(send: () => Promise<T>, started?: { value: boolean }): Promise<T>;
}

/** Creates a queue whose sends each get `deadlineMs` from their submission. */
export function createSendQueue(deadlineMs: number): SendQueue {
  if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
    throw new RangeError(`deadlineMs must be a positive number, got ${deadlineMs}`);
  }
  /** Settles once every send submitted so far has settled or been abandoned. */
  let line: Promise<void> = Promise.resolve();
  return {
    async run<T>(send: () => Promise<T>, started = { value: false }): Promise<T> {
      const before = line;
      let leave!: () => void;
      const left = new Promise<void>((resolve) => (leave = resolve));
      line = before.then(() => left);
      let abandoned = false;
      const work = before.then(() => {
        if (abandoned) throw new PublishTimeoutError(deadlineMs);
        started.value = true;
        return send();
      });
      try {
        return await withDeadline(work, deadlineMs, () => {
          throw new PublishTimeoutError(deadlineMs);
        });
      } finally {
        abandoned = true;
        work.catch(() => {});
        leave();
      }
    },
  };
}
