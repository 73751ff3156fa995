/**
 * The reference consumer's settings table: the Kafka, HTTP and logging settings it shares with the
 * service (its own port and client id), CONSUMER_* of its own. Its modules take their defaults
 * from here when called without one.
 */
import {
  groupId,
  HOST,
  KAFKA_BROKERS,
  KAFKA_CLIENT_ID,
  KAFKA_REQUEST_TIMEOUT_MS,
  KAFKA_TOPIC,
  LOG_LEVEL,
  PORT,
  sessionTimeout,
  SHUTDOWN_TIMEOUT_MS,
} from "./shared.ts";
import { bool, int, variant } from "./setting.ts";

/** The consumer's settings, by the ConsumerConfig field they fill. */
export const CONSUMER_SETTINGS = Object.freeze({
  // The service has 8080.
  port: variant(PORT, { default: 8081, doc: "HTTP of /metrics and /health" }),
  host: HOST,
  kafkaBrokers: variant(KAFKA_BROKERS, { doc: "where the events are" }),
  kafkaTopic: KAFKA_TOPIC,
  // Visible in broker logs and group descriptions.
  kafkaClientId: variant(KAFKA_CLIENT_ID, { default: "payment-consumer" }),
  requestTimeoutMs: KAFKA_REQUEST_TIMEOUT_MS,
  groupId: groupId("CONSUMER_GROUP", "payment-events-reference", "consumer group id"),
  // About 15 MB of UUID text and map entries at the default.
  dedupeWindow: int("CONSUMER_DEDUPE_WINDOW", 100_000, {
    min: 1,
    max: 10_000_000,
    unit: "ids",
    doc: "distinct event ids remembered for dropping copies",
  }),
  // One admin round trip each.
  lagRefreshMs: int("CONSUMER_LAG_REFRESH_MS", 5000, {
    min: 100,
    max: 300_000,
    unit: "ms",
    doc: "time between two lag refreshes",
  }),
  fromBeginning: bool("CONSUMER_FROM_BEGINNING", true, {
    doc: "a group without commits starts at the first record (else at new)",
  }),
  sessionTimeoutMs: sessionTimeout("CONSUMER_SESSION_TIMEOUT_MS"),
  logLevel: LOG_LEVEL,
  shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
});
