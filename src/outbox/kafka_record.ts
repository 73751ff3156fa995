/** How an outbox row becomes a Kafka record: key = payment id, event id and type in headers. */
import type { OutboundRecord } from "../kafka/publisher.ts";

/** The fields of a row that the Kafka record is built from. */
export interface RecordSource {
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
}

/**
 * Builds the Kafka record of one outbox row. Exactly-once adds the `owner` header (the
 * transactional.id that published it), for operators tracing a recovery.
 */
export function toRecord(row: RecordSource, owner?: string): OutboundRecord {
  const headers: Record<string, string> = {
    eventId: row.id,
    eventType: row.type,
    aggregateType: "payment",
    contentType: "application/json",
  };
  if (owner) headers.owner = owner;
  return { eventId: row.id, key: row.aggregateid, value: row.payload, headers };
}
