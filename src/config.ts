/**
 * The only reader of the environment. Every setting is parsed and validated once at start-up;
 * a bad value stops the service with a message naming the variable and the value.
 */
import type { BreakerConfig } from "./breaker/config.ts";
import {
  BREAKER_CONFIG_FIELDS,
  DEFAULT_BREAKER_CONFIG,
  validateBreakerConfig,
} from "./breaker/config.ts";
import { DEFAULT_BODY_READ_TIMEOUT_MS, DEFAULT_MAX_IN_FLIGHT_PAYMENTS } from "./http/app.ts";
import { ConfigError, type Env, EnvReader } from "./env_reader.ts";
import {
  DEFAULT_INLINE_PRODUCERS,
  DEFAULT_KAFKA_BROKERS,
  DEFAULT_KAFKA_TOPIC,
} from "./kafka/kafka_defaults.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import {
  DEFAULT_COMMIT_BATCH_MAX,
  DEFAULT_COMMIT_CONCURRENCY,
  DEFAULT_COMMIT_LINGER_MS,
  DEFAULT_INLINE_BUDGET_MS,
  DEFAULT_PUBLISH_LINGER_MS,
} from "./outbox/ingest.ts";
import { DEFAULT_RELAY_BATCH_SIZE, DEFAULT_RELAY_POLL_INTERVAL_MS } from "./outbox/relay.ts";

/** What an acknowledged event's trip to Kafka promises (README, "Delivery guarantees"). */
export const DELIVERY_GUARANTEES = ["at-least-once", "exactly-once"] as const;
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
  kafka: {
    brokers: string[];
    topic: string;
    clientId: string;
    requestTimeoutMs: number;
    deliveryTimeoutMs: number;
    retries: number;
    topicPartitions: number;
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
  /** Serve the benchmark's baseline routes (never in production). */
  benchRoutes: boolean;
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

/** Parses and validates the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const brokers = read.brokerList("KAFKA_BROKERS", DEFAULT_KAFKA_BROKERS);

  const breaker = readBreaker(env, problems);

  const logLevel = read.oneOf("LOG_LEVEL", "info", LOG_LEVELS);
  const schema = read.str("DATABASE_SCHEMA", "public");
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    problems.push(`DATABASE_SCHEMA must be a lower-case SQL identifier, got "${schema}"`);
  }
  const rawUrl = read.str("DATABASE_URL", "");
  const databaseUrl = rawUrl === "" ? null : rawUrl;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with postgres:// or postgresql://`);
  }
  const deliveryTimeoutMs = read.int("KAFKA_DELIVERY_TIMEOUT_MS", 15_000, { min: 100 });
  const adminToken = env.ADMIN_TOKEN ?? "";
  if (adminToken !== "" && adminToken.length < 16) {
    problems.push(`ADMIN_TOKEN must be at least 16 characters long (got ${adminToken.length})`);
  }

  const config: Config = {
    port: read.int("PORT", 8080, { min: 0, max: 65535 }),
    host: read.str("HOST", "0.0.0.0"),
    databaseUrl,
    dataDir: read.str("DATA_DIR", "./data"),
    databaseSchema: schema,
    databasePoolSize: read.int("DATABASE_POOL_SIZE", 10, { min: 1, max: 200 }),
    kafka: {
      brokers,
      topic: read.str("KAFKA_TOPIC", DEFAULT_KAFKA_TOPIC),
      clientId: read.str("KAFKA_CLIENT_ID", "payment-ingest"),
      requestTimeoutMs: read.int("KAFKA_REQUEST_TIMEOUT_MS", 10_000, { min: 100 }),
      deliveryTimeoutMs,
      retries: read.int("KAFKA_RETRIES", 1, { min: 0, max: 10 }),
      topicPartitions: read.int("KAFKA_TOPIC_PARTITIONS", 3, { min: 1, max: 1000 }),
      inlineProducers: read.int("KAFKA_INLINE_PRODUCERS", DEFAULT_INLINE_PRODUCERS, {
        min: 1,
        max: 16,
      }),
    },
    deliveryGuarantee: read.oneOf("DELIVERY_GUARANTEE", "at-least-once", DELIVERY_GUARANTEES),
    // A transaction never legitimately outlives the delivery deadline; a dead or stalled owner's
    // open transaction holds back read_committed readers until the broker aborts it.
    transactionTimeoutMs: read.int("KAFKA_TRANSACTION_TIMEOUT_MS", deliveryTimeoutMs + 15_000, {
      min: 1000,
      max: 900_000,
    }),
    killAfterCommit: readFailpoint(env.FAILPOINT, problems),
    adminToken: adminToken === "" ? null : adminToken,
    logLevel,
    relay: {
      batchSize: read.int("RELAY_BATCH_SIZE", DEFAULT_RELAY_BATCH_SIZE, { min: 1, max: 10_000 }),
      pollIntervalMs: read.int("RELAY_POLL_INTERVAL_MS", DEFAULT_RELAY_POLL_INTERVAL_MS, {
        min: 10,
      }),
      leaseMs: read.int("OUTBOX_CLAIM_LEASE_MS", deliveryTimeoutMs + 15_000, { min: 1000 }),
    },
    inlinePublish: read.bool("INLINE_PUBLISH", true),
    benchRoutes: read.bool("BENCH_ROUTES", false),
    commit: {
      concurrency: read.int("OUTBOX_COMMIT_CONCURRENCY", DEFAULT_COMMIT_CONCURRENCY, {
        min: 1,
        max: 64,
      }),
      batchMax: read.int("OUTBOX_COMMIT_BATCH_MAX", DEFAULT_COMMIT_BATCH_MAX, {
        min: 1,
        max: 10_000,
      }),
      lingerMs: read.int("OUTBOX_COMMIT_LINGER_MS", DEFAULT_COMMIT_LINGER_MS, {
        min: 0,
        max: 1000,
      }),
    },
    publishLingerMs: read.int("KAFKA_LINGER_MS", DEFAULT_PUBLISH_LINGER_MS, { min: 0, max: 1000 }),
    inlineBudgetMs: read.int("INLINE_PUBLISH_BUDGET_MS", DEFAULT_INLINE_BUDGET_MS, { min: 0 }),
    outboxRetentionMs: read.int("OUTBOX_RETENTION_HOURS", 168, { min: 0 }) * 3_600_000,
    shutdownTimeoutMs: read.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 100 }),
    shutdownDrainMs: read.int("SHUTDOWN_DRAIN_MS", 2000, { min: 0, max: 60_000 }),
    bodyReadTimeoutMs: read.int("BODY_READ_TIMEOUT_MS", DEFAULT_BODY_READ_TIMEOUT_MS, { min: 100 }),
    maxInFlightPayments: read.int("MAX_INFLIGHT_PAYMENTS", DEFAULT_MAX_IN_FLIGHT_PAYMENTS, {
      min: 1,
    }),
    bodyLimitBytes: read.int("BODY_LIMIT_BYTES", 64 * 1024, { min: 1024 }),
    settlementUrl: read.httpUrl("SETTLEMENT_URL"),
    breaker,
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

/** FAILPOINT=kill-after-commit:N (the exactly-once fault suite's); unset in production. */
function readFailpoint(raw: string | undefined, problems: string[]): number | null {
  if (raw === undefined || raw.trim() === "") return null;
  const m = /^kill-after-commit:([1-9][0-9]{0,8})$/.exec(raw.trim());
  if (!m) {
    problems.push(`FAILPOINT must be kill-after-commit:<n> (n >= 1), got "${raw}"`);
    return null;
  }
  return Number(m[1]);
}

/**
 * Reads every BREAKER_* variable named by the breaker's own field list, then lets the breaker
 * validate the whole; a rejected value is reported under its variable name.
 */
function readBreaker(env: Env, problems: string[]): BreakerConfig {
  const partial: Record<string, unknown> = {};
  const backoff: Record<string, unknown> = {};
  const before = problems.length;
  for (const field of BREAKER_CONFIG_FIELDS) {
    const raw = env[field.env]?.trim();
    if (raw === undefined || raw === "") continue;
    let value: unknown = raw.toUpperCase();
    if (field.kind !== "enum") {
      value = Number(raw);
      if (!Number.isFinite(value)) {
        problems.push(`${field.env} must be a number, got "${raw}"`);
        continue;
      }
    }
    const [top, nested] = field.key.split(".");
    if (nested) backoff[nested] = value;
    else partial[top!] = value;
  }
  if (Object.keys(backoff).length > 0) partial.openWaitBackoff = backoff;
  if (problems.length > before) return DEFAULT_BREAKER_CONFIG;
  try {
    return validateBreakerConfig(partial as Partial<BreakerConfig>);
  } catch (e) {
    const message = (e as Error).message;
    // The breaker names its camelCase field; operators set the variable.
    const field = [...BREAKER_CONFIG_FIELDS].sort((x, y) => y.key.length - x.key.length)
      .find((f) => message.includes(f.key.split(".").at(-1)!));
    problems.push(field ? `${field.env}: ${message}` : message);
    return DEFAULT_BREAKER_CONFIG;
  }
}

/** A copy of the configuration that is safe to show (no secrets, no credentials). */
export function redactedConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl?.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@"),
    adminToken: config.adminToken === null ? "unset" : "set",
  };
}
