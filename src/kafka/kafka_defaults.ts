/**
 * Where the service and the reference consumer find Kafka when KAFKA_BROKERS and KAFKA_TOPIC are
 * unset (no kafkajs import: config modules read these without loading the client).
 */

/** The local broker of `scripts/kafka.sh start`. */
export const DEFAULT_KAFKA_BROKERS = "127.0.0.1:9092";

/** The topic payment events are published to. */
export const DEFAULT_KAFKA_TOPIC = "payment-events";

/** At-least-once: producers inline publishes are spread over (publisher_pool.ts). */
export const DEFAULT_INLINE_PRODUCERS = 2;
