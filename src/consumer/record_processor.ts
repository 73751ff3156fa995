/**
 * What the reference consumer does with each record: find its event id, drop it when the dedupe
 * window has seen the id, otherwise hand it to the application and count it. The reference
 * application does nothing; a real consumer (settlement, ledger) passes its own `apply`.
 */
import type { ConsumedRecord, RecordHandler } from "../kafka/group_consumer.ts";
import type { Logger } from "../log.ts";
import type { ConsumerMetrics } from "./consumer_metrics.ts";
import type { DedupeWindow } from "./dedupe_window.ts";

/** The header the outbox puts the event id in (src/outbox/publish_rows.ts, toRecord). */
export const EVENT_ID_HEADER = "eventId";

/**
 * The record's event id: the `eventId` header, else the `eventId` field of a JSON object value
 * (events written by another producer), else null.
 */
export function eventIdOf(record: Pick<ConsumedRecord, "headers" | "value">): string | null {
  const header = record.headers[EVENT_ID_HEADER];
  if (header) return header;
  if (!record.value || !record.value.trimStart().startsWith("{")) return null;
  try {
    const id = (JSON.parse(record.value) as { eventId?: unknown }).eventId;
    return typeof id === "string" && id !== "" ? id : null;
  } catch {
    return null;
  }
}

/** Options of `createRecordProcessor`. */
export interface RecordProcessorOptions {
  dedupe: DedupeWindow;
  metrics: Pick<ConsumerMetrics, "consumed" | "duplicate" | "processed">;
  logger: Logger;
  /** The application's work for a new event; rejecting re-delivers the record. Default: none. */
  apply?: (record: ConsumedRecord, eventId: string | null) => void | Promise<void>;
  /** Epoch ms (tests pass a fixed clock). */
  now?: () => number;
}

/** The handler the group consumer calls for every record. */
export function createRecordProcessor(opts: RecordProcessorOptions): RecordHandler {
  const { dedupe, metrics, logger } = opts;
  const now = opts.now ?? Date.now;
  // The highest offset processed per partition. A record at or below it is Kafka delivering the
  // same record again (the group resumed from its last committed offset after a rebalance or a
  // coordinator failover), not a second copy of an event: skipped, and not counted as one.
  const processedUpTo = new Map<number, bigint>();
  return async (record) => {
    metrics.consumed(record.partition);
    const offset = BigInt(record.offset);
    const upTo = processedUpTo.get(record.partition);
    if (upTo !== undefined && offset <= upTo) {
      logger.debug("redelivered record skipped", {
        partition: record.partition,
        offset: record.offset,
      });
      return;
    }
    const eventId = eventIdOf(record);
    if (eventId === null) {
      logger.warn("record without an event id: processed, cannot be deduplicated", {
        partition: record.partition,
        offset: record.offset,
      });
    } else if (dedupe.seen(eventId)) {
      processedUpTo.set(record.partition, offset);
      metrics.duplicate(record.partition);
      logger.debug("duplicate dropped", {
        eventId,
        partition: record.partition,
        offset: record.offset,
      });
      return;
    }
    try {
      await opts.apply?.(record, eventId);
    } catch (e) {
      // Not processed: the re-delivered copy must not be taken for a duplicate.
      if (eventId !== null) dedupe.forget(eventId);
      throw e;
    }
    processedUpTo.set(record.partition, offset);
    metrics.processed(now());
  };
}
