/** How an outbox row becomes a Kafka record: key = payment id, event id and type in headers. */
import type { OutboundRecord } from "../kafka/publisher.ts";

/** The fields of a row that the Kafka record is built from. */
export interface RecordSource {
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
}

/** Builds the Kafka record of one outbox row. */
export function toRecord(row: RecordSource): OutboundRecord {
  return {
    eventId: row.id,
    key: row.aggregateid,
    value: row.payload,
    headers: {
      eventId: row.id,
      eventType: row.type,
      aggregateType: "payment",
      contentType: "application/json",
    },
  };
}
