/**
 * The service's settings table: every variable src/config.ts reads (the breaker's BREAKER_* come
 * from BREAKER_CONFIG_FIELDS, see breaker.ts), in the README's order. Modules that need a default
 * when called without one (tests) take it from here.
 */
import {
  ADMIN_TOKEN,
  DATABASE_SCHEMA,
  DATABASE_URL,
  HOST,
  KAFKA_BROKERS,
  KAFKA_CLIENT_ID,
  KAFKA_REQUEST_TIMEOUT_MS,
  KAFKA_TOPIC,
  LOG_LEVEL,
  PORT,
  SHUTDOWN_TIMEOUT_MS,
} from "./shared.ts";
import { bool, httpUrl, int, oneOf, parsed, text, variant } from "./setting.ts";

/** What an acknowledged event's trip to Kafka promises (README, "Delivery guarantees"). */
export const DELIVERY_GUARANTEES = ["at-least-once", "exactly-once"] as const;

/**
 * The default of KAFKA_TRANSACTION_TIMEOUT_MS and OUTBOX_CLAIM_LEASE_MS: a transaction or a claim
 * never legitimately outlives the delivery deadline; a dead or stalled owner's open transaction
 * holds back read_committed readers until the broker aborts it.
 */
export function afterDeliveryDeadline(deliveryTimeoutMs: number): number {
  return deliveryTimeoutMs + 15_000;
}
const AFTER_DELIVERY = "`KAFKA_DELIVERY_TIMEOUT_MS` + 15000";

/** The service's settings, by the Config field they fill. */
export const SERVICE_SETTINGS = Object.freeze({
  port: PORT,
  host: HOST,
  databaseUrl: DATABASE_URL,
  databaseSchema: DATABASE_SCHEMA,
  databasePoolSize: int("DATABASE_POOL_SIZE", 10, {
    min: 1,
    max: 200,
    unit: "connections",
    doc: "Postgres connections",
  }),
  dataDir: text("DATA_DIR", "./data", {
    doc: "folder of the embedded store (when `DATABASE_URL` is unset); one service per folder",
  }),
  kafkaBrokers: KAFKA_BROKERS,
  kafkaTopic: variant(KAFKA_TOPIC, {
    doc: "topic (created with `KAFKA_TOPIC_PARTITIONS` partitions when missing)",
  }),
  topicPartitions: int("KAFKA_TOPIC_PARTITIONS", 3, {
    min: 1,
    max: 1000,
    doc: "partitions of a topic the service creates",
  }),
  kafkaClientId: KAFKA_CLIENT_ID,
  requestTimeoutMs: KAFKA_REQUEST_TIMEOUT_MS,
  deliveryTimeoutMs: int("KAFKA_DELIVERY_TIMEOUT_MS", 15_000, {
    min: 100,
    unit: "ms",
    doc: "overall deadline of one publish, enforced by us",
  }),
  retries: int("KAFKA_RETRIES", 1, {
    min: 0,
    max: 10,
    doc: "producer retries (idempotent producer, `acks=all`)",
  }),
  deliveryGuarantee: oneOf("DELIVERY_GUARANTEE", "at-least-once", DELIVERY_GUARANTEES, {
    doc: "idempotent producer, or Kafka transactions with fencing (see " +
      '"Delivery guarantees" in the guide)',
  }),
  transactionTimeoutMs: int("KAFKA_TRANSACTION_TIMEOUT_MS", undefined, {
    min: 1000,
    max: 900_000,
    unit: "ms",
    defaultText: AFTER_DELIVERY,
    doc:
      "exactly-once: the broker aborts a transaction left open longer (a dead or stalled owner's)",
  }),
  killAfterCommit: parsed("FAILPOINT", null, {
    parse: (v) => {
      const m = /^kill-after-commit:([1-9][0-9]{0,8})$/.exec(v);
      return m ? Number(m[1]) : null;
    },
    must: "be kill-after-commit:<n> (n >= 1)",
    allowed: "`kill-after-commit:<n>`",
    doc:
      "tests only: SIGKILLs the service right after its n-th Kafka commit, before the outbox mark",
  }),
  adminToken: ADMIN_TOKEN,
  logLevel: LOG_LEVEL,
  inlinePublish: bool("INLINE_PUBLISH", true, {
    doc: "publish inline before answering; `false` leaves every event to the relay",
  }),
  inlineBudgetMs: int("INLINE_PUBLISH_BUDGET_MS", 1000, {
    min: 0,
    unit: "ms",
    doc: "longest an answer waits for Kafka; slower publishes go on in the background and the " +
      "answer is `202`",
  }),
  // 0: batches form while the batches before them are in flight, one per publisher lane; a linger
  // of 5 ms held every batch back for a timer and bound the healthy phase to about 5,000 req/s at
  // 64 connections.
  publishLingerMs: int("KAFKA_LINGER_MS", 0, {
    min: 0,
    max: 1000,
    unit: "ms",
    doc: "longest an inline publish batch waits for more records (as Kafka's `linger.ms`); at 0 " +
      "batches form while earlier ones are in flight",
  }),
  inlineProducers: int("KAFKA_INLINE_PRODUCERS", 2, {
    min: 1,
    max: 16,
    doc: "at-least-once: producers inline publishes are spread over, one batch in flight on " +
      "each (exactly-once uses one)",
  }),
  commitConcurrency: int("OUTBOX_COMMIT_CONCURRENCY", 2, {
    min: 1,
    max: 64,
    doc: "outbox transactions running at once (group commit)",
  }),
  commitBatchMax: int("OUTBOX_COMMIT_BATCH_MAX", 256, {
    min: 1,
    max: 10_000,
    unit: "events",
    doc: "most events in one outbox transaction",
  }),
  commitLingerMs: int("OUTBOX_COMMIT_LINGER_MS", 0, {
    min: 0,
    max: 1000,
    unit: "ms",
    doc: "longest a group commit waits for more events (`0`: commit as soon as a slot is free)",
  }),
  relayBatchSize: int("RELAY_BATCH_SIZE", 500, {
    min: 1,
    max: 10_000,
    unit: "events",
    doc: "events per relay batch (one Kafka produce request)",
  }),
  relayPollIntervalMs: int("RELAY_POLL_INTERVAL_MS", 250, {
    min: 10,
    unit: "ms",
    doc: "relay poll interval when idle",
  }),
  claimLeaseMs: int("OUTBOX_CLAIM_LEASE_MS", undefined, {
    min: 1000,
    unit: "ms",
    defaultText: AFTER_DELIVERY,
    doc: "how long an inline publish keeps the relay off its row",
  }),
  outboxRetentionHours: int("OUTBOX_RETENTION_HOURS", 168, {
    min: 0,
    unit: "hours",
    doc: "published rows older than this are pruned (`0` keeps them)",
  }),
  shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
  shutdownDrainMs: int("SHUTDOWN_DRAIN_MS", 2000, {
    min: 0,
    max: 60_000,
    unit: "ms",
    doc: "on SIGTERM, serve on (not ready, `Connection: close`) this long or until 500 ms quiet; " +
      "under the timeout",
  }),
  bodyLimitBytes: int("BODY_LIMIT_BYTES", 64 * 1024, {
    min: 1024,
    unit: "bytes",
    doc: "request body limit (`413` above)",
  }),
  bodyReadTimeoutMs: int("BODY_READ_TIMEOUT_MS", 10_000, {
    min: 100,
    unit: "ms",
    doc: "longest a `POST /payments` body may take to arrive; `408` after",
  }),
  maxInFlightPayments: int("MAX_INFLIGHT_PAYMENTS", 1024, {
    min: 1,
    doc: "`POST /payments` handled at once; more get `503` + `Retry-After`",
  }),
  settlementUrl: httpUrl("SETTLEMENT_URL", {
    defaultText: "unset = not configured",
    doc:
      "base URL of the settlement process, e.g. `http://payment-settlement:8082`; the operator " +
      "page's settlement panel",
  }),
});

/** OUTBOX_CLAIM_LEASE_MS when unset and KAFKA_DELIVERY_TIMEOUT_MS is at its default. */
export const DEFAULT_CLAIM_LEASE_MS = afterDeliveryDeadline(
  SERVICE_SETTINGS.deliveryTimeoutMs.default,
);
