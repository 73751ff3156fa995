/** The small interface the outbox and the HTTP layer publish through; Kafka stays behind it. */

/** Name of the breaker that guards publishing (metrics, admin routes, the operator page). */
export const PUBLISH_BREAKER = "kafka-publisher";

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
   * In exactly-once mode the batch is one Kafka transaction of the producer whose
   * transactional.id is `owner` (the rows' claim owner); it rejects with StaleOwnerError when
   * that is not the current producer, and with UncertainPublishError when the transaction's
   * outcome is unknown.
   */
  publish(records: OutboundRecord[], owner?: string): Promise<void>;
  /**
   * Connects and makes sure the topic exists, so the first publish does not pay for it; rejects
   * when Kafka is unreachable (publishing still works later).
   */
  connect(): Promise<void>;
  /** Resolves when the cluster answers a metadata request (a cheap half-open probe). */
  ping(): Promise<void>;
  /** Releases connections; safe to call more than once. */
  close(): Promise<void>;
  /** Present in exactly-once mode only. */
  readonly transactional?: Transactional;
}

/** The exactly-once side of a publisher: who it publishes as, and fencing of other owners. */
export interface Transactional {
  /**
   * The owner rows must be claimed by to be published now: the current producer's
   * transactional.id. It changes whenever a producer is dropped (a new id per producer, so a
   * dropped producer's id is never initialised again by its own process).
   */
  owner(): string;
  /**
   * Fences `owner`: initialises a producer with that transactional.id, which aborts its open
   * transaction or waits for its commit to complete, and bumps its epoch so its old producer
   * can no longer commit. Resolves once that is done.
   */
  fence(owner: string): Promise<void>;
  /**
   * Drops the current producer (a new owner takes over from the next publish), so that rows of
   * the current owner whose claims expired can be recovered like any other owner's.
   */
  retire(reason: string): void;
}
