/** The small interface the outbox and the HTTP layer publish through; Kafka stays behind it. */

/** One record to publish: value is the JSON text of the event. */
export interface OutboundRecord {
  eventId: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Publishes records to the event topic. */
export interface Publisher {
  /**
   * Publishes the records as one batch, in order; resolves once every record is acknowledged
   * (`acks=all`). Rejects when the batch was not acknowledged within the delivery deadline.
   */
  publish(records: OutboundRecord[]): Promise<void>;
  /**
   * Connects and makes sure the topic exists, so the first publish does not pay for it; rejects
   * when Kafka is unreachable (publishing still works later).
   */
  connect(): Promise<void>;
  /** Resolves when the cluster answers a metadata request (a cheap half-open probe). */
  ping(): Promise<void>;
  /** Releases connections; safe to call more than once. */
  close(): Promise<void>;
}
