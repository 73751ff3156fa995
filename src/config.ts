/**
 * The only reader of the environment. Every setting is parsed and validated once at start-up;
 * a bad value stops the service with a message naming the variable and the value.
 */
import type { BreakerConfig } from "./breaker/config.ts";
import { ConfigError, type Env } from "./env_reader.ts";
import type { LogLevel } from "./log.ts";
import { readBreaker } from "./settings/breaker.ts";
import {
  afterDeliveryDeadline,
  DELIVERY_GUARANTEES,
  SERVICE_SETTINGS as S,
} from "./settings/service.ts";
import { SettingsReader } from "./settings/setting.ts";
import type { ProducerSettings } from "./kafka/kafkajs_publisher.ts";

/** Lives with the settings table; callers import it from here. */
export { DELIVERY_GUARANTEES };
/** One of DELIVERY_GUARANTEES. */
export type DeliveryGuarantee = typeof DELIVERY_GUARANTEES[number];

/** The validated service configuration. */
export interface Config {
  port: number;
  host: string;
  /** Postgres server URL; null runs the embedded store in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  databaseSchema: string;
  databasePoolSize: number;
  kafka: ProducerSettings & {
    /** At-least-once: producers inline publishes are spread over (publisher_pool.ts). */
    inlineProducers: number;
  };
  /** at-least-once (idempotent producer) or exactly-once (Kafka transactions with fencing). */
  deliveryGuarantee: DeliveryGuarantee;
  /** Exactly-once: the broker aborts a transaction left open longer than this. */
  transactionTimeoutMs: number;
  /** Test failpoint (FAILPOINT=kill-after-commit:N); null in production. */
  killAfterCommit: number | null;
  adminToken: string | null;
  logLevel: LogLevel;
  relay: { batchSize: number; pollIntervalMs: number; leaseMs: number };
  inlinePublish: boolean;
  inlineBudgetMs: number;
  /** Group commit: outbox transactions running at once, and events per transaction. */
  commit: { concurrency: number; batchMax: number; lingerMs: number };
  /** Longest an inline publish batch waits for more records (Kafka's linger.ms). */
  publishLingerMs: number;
  outboxRetentionMs: number;
  shutdownTimeoutMs: number;
  /** After a signal, longest the service keeps serving (`Connection: close`, not ready) before it stops accepting. */
  shutdownDrainMs: number;
  bodyLimitBytes: number;
  /** Longest a request body may take to arrive (408 after). */
  bodyReadTimeoutMs: number;
  /** POST /payments handled at once; more get 503 with Retry-After. */
  maxInFlightPayments: number;
  /** Base URL of the settlement process the operator page's panel reads; null: not configured. */
  settlementUrl: string | null;
  breaker: BreakerConfig;
}

/** Lives in env_reader.ts (the consumer's config throws it too); callers import it from here. */
export { ConfigError };

/**
 * Parses and validates the environment against the service's settings table; throws ConfigError
 * listing every bad variable.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = new SettingsReader(env, problems);
  const deliveryTimeoutMs = read.int(S.deliveryTimeoutMs);
  const config: Config = {
    port: read.int(S.port),
    host: read.text(S.host),
    databaseUrl: read.text(S.databaseUrl),
    dataDir: read.text(S.dataDir),
    databaseSchema: read.text(S.databaseSchema),
    databasePoolSize: read.int(S.databasePoolSize),
    kafka: {
      brokers: read.brokers(S.kafkaBrokers),
      topic: read.text(S.kafkaTopic),
      clientId: read.text(S.kafkaClientId),
      requestTimeoutMs: read.int(S.requestTimeoutMs),
      deliveryTimeoutMs,
      retries: read.int(S.retries),
      topicPartitions: read.int(S.topicPartitions),
      inlineProducers: read.int(S.inlineProducers),
    },
    deliveryGuarantee: read.oneOf(S.deliveryGuarantee),
    transactionTimeoutMs: read.int(
      S.transactionTimeoutMs,
      afterDeliveryDeadline(deliveryTimeoutMs),
    ),
    killAfterCommit: read.parsed(S.killAfterCommit),
    adminToken: read.text(S.adminToken),
    logLevel: read.oneOf(S.logLevel),
    relay: {
      batchSize: read.int(S.relayBatchSize),
      pollIntervalMs: read.int(S.relayPollIntervalMs),
      leaseMs: read.int(S.claimLeaseMs, afterDeliveryDeadline(deliveryTimeoutMs)),
    },
    inlinePublish: read.bool(S.inlinePublish),
    commit: {
      concurrency: read.int(S.commitConcurrency),
      batchMax: read.int(S.commitBatchMax),
      lingerMs: read.int(S.commitLingerMs),
    },
    publishLingerMs: read.int(S.publishLingerMs),
    inlineBudgetMs: read.int(S.inlineBudgetMs),
    outboxRetentionMs: read.int(S.outboxRetentionHours) * 3_600_000,
    shutdownTimeoutMs: read.int(S.shutdownTimeoutMs),
    shutdownDrainMs: read.int(S.shutdownDrainMs),
    bodyReadTimeoutMs: read.int(S.bodyReadTimeoutMs),
    maxInFlightPayments: read.int(S.maxInFlightPayments),
    bodyLimitBytes: read.int(S.bodyLimitBytes),
    settlementUrl: read.url(S.settlementUrl),
    breaker: readBreaker(env, problems),
  };
  if (config.kafka.requestTimeoutMs > deliveryTimeoutMs) {
    problems.push(
      `KAFKA_REQUEST_TIMEOUT_MS (${config.kafka.requestTimeoutMs}) must not exceed KAFKA_DELIVERY_TIMEOUT_MS (${deliveryTimeoutMs})`,
    );
  }
  if (config.shutdownDrainMs >= config.shutdownTimeoutMs) {
    problems.push(
      `SHUTDOWN_DRAIN_MS (${config.shutdownDrainMs}) must be less than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A copy of the configuration that is safe to show (no secrets, no credentials). */
export function redactedConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl?.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@"),
    adminToken: config.adminToken === null ? "unset" : "set",
  };
}
