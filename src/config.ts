/**
 * The only reader of the environment. Every setting is parsed and validated once at start-up;
 * a bad value stops the service with a message naming the variable and the value.
 */
import type { BreakerConfig } from "./breaker/config.ts";
import { validateBreakerConfig } from "./breaker/config.ts";
import type { LogLevel } from "./log.ts";

/** The validated service configuration. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
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
  };
  adminToken: string | null;
  logLevel: LogLevel;
  relay: { batchSize: number; pollIntervalMs: number; leaseMs: number };
  inlinePublish: boolean;
  inlineBudgetMs: number;
  outboxRetentionMs: number;
  shutdownTimeoutMs: number;
  bodyLimitBytes: number;
  breaker: BreakerConfig;
}

/** Thrown when the environment holds invalid settings; `problems` names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Default Postgres server used when DATABASE_URL is unset. */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

type Env = Record<string, string | undefined>;

/** Environment variable -> breaker config field; `_MS` variables hold milliseconds. */
export const BREAKER_ENV: ReadonlyArray<readonly [string, keyof BreakerConfig]> = [
  ["BREAKER_FAILURE_RATE_THRESHOLD", "failureRateThreshold"],
  ["BREAKER_SLOW_CALL_RATE_THRESHOLD", "slowCallRateThreshold"],
  ["BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS", "slowCallDurationThreshold"],
  ["BREAKER_MINIMUM_NUMBER_OF_CALLS", "minimumNumberOfCalls"],
  ["BREAKER_SLIDING_WINDOW_TYPE", "slidingWindowType"],
  ["BREAKER_SLIDING_WINDOW_SIZE", "slidingWindowSize"],
  ["BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS", "waitDurationInOpenState"],
  ["BREAKER_PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE", "permittedNumberOfCallsInHalfOpenState"],
  ["BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS", "maxWaitDurationInHalfOpenState"],
  ["BREAKER_EVENT_BUFFER_SIZE", "eventBufferSize"],
];

/** Parses and validates the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = new Reader(env, problems);

  const brokers = read.str("KAFKA_BROKERS", "127.0.0.1:9092").split(",").map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.\-_]+:\d{1,5}$/.test(b)) {
      problems.push(`KAFKA_BROKERS must be a comma-separated list of host:port, got "${b}"`);
    }
  }
  if (brokers.length === 0) problems.push(`KAFKA_BROKERS must name at least one broker`);

  const breakerPartial: Record<string, unknown> = {};
  for (const [name, field] of BREAKER_ENV) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    if (field === "slidingWindowType") breakerPartial[field] = raw.trim().toUpperCase();
    else breakerPartial[field] = read.num(name, NaN, { min: 0 });
  }
  const backoffMultiplier = read.optNum("BREAKER_OPEN_WAIT_BACKOFF_MULTIPLIER", { min: 1 });
  if (backoffMultiplier !== undefined) {
    breakerPartial.openWaitBackoff = {
      multiplier: backoffMultiplier,
      maxWaitMs: read.int("BREAKER_OPEN_WAIT_BACKOFF_MAX_MS", 300_000, { min: 1 }),
      jitter: read.num("BREAKER_OPEN_WAIT_BACKOFF_JITTER", 0.2, { min: 0, max: 1 }),
    };
  }
  let breaker: BreakerConfig | undefined;
  try {
    breaker = validateBreakerConfig(breakerPartial as Partial<BreakerConfig>);
  } catch (e) {
    problems.push(`${breakerEnvNameIn(String((e as Error).message))}${(e as Error).message}`);
  }

  const logLevel = read.str("LOG_LEVEL", "info").toLowerCase();
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of debug, info, warn, error, got "${logLevel}"`);
  }
  const schema = read.str("DATABASE_SCHEMA", "public");
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    problems.push(`DATABASE_SCHEMA must be a lower-case SQL identifier, got "${schema}"`);
  }
  const databaseUrl = read.str("DATABASE_URL", DEFAULT_DATABASE_URL);
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
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
    databaseSchema: schema,
    databasePoolSize: read.int("DATABASE_POOL_SIZE", 10, { min: 1, max: 200 }),
    kafka: {
      brokers,
      topic: read.str("KAFKA_TOPIC", "payment-events"),
      clientId: read.str("KAFKA_CLIENT_ID", "payment-ingest"),
      requestTimeoutMs: read.int("KAFKA_REQUEST_TIMEOUT_MS", 10_000, { min: 100 }),
      deliveryTimeoutMs,
      retries: read.int("KAFKA_RETRIES", 1, { min: 0, max: 10 }),
      topicPartitions: read.int("KAFKA_TOPIC_PARTITIONS", 3, { min: 1, max: 1000 }),
    },
    adminToken: adminToken === "" ? null : adminToken,
    logLevel: logLevel as LogLevel,
    relay: {
      batchSize: read.int("RELAY_BATCH_SIZE", 500, { min: 1, max: 10_000 }),
      pollIntervalMs: read.int("RELAY_POLL_INTERVAL_MS", 250, { min: 10 }),
      leaseMs: read.int("OUTBOX_CLAIM_LEASE_MS", deliveryTimeoutMs + 15_000, { min: 1000 }),
    },
    inlinePublish: read.bool("INLINE_PUBLISH", true),
    inlineBudgetMs: read.int("INLINE_PUBLISH_BUDGET_MS", 1000, { min: 0 }),
    outboxRetentionMs: read.int("OUTBOX_RETENTION_HOURS", 168, { min: 0 }) * 3_600_000,
    shutdownTimeoutMs: read.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 100 }),
    bodyLimitBytes: read.int("BODY_LIMIT_BYTES", 64 * 1024, { min: 1024 }),
    breaker: breaker as BreakerConfig,
  };
  if (config.kafka.requestTimeoutMs > deliveryTimeoutMs) {
    problems.push(
      `KAFKA_REQUEST_TIMEOUT_MS (${config.kafka.requestTimeoutMs}) must not exceed KAFKA_DELIVERY_TIMEOUT_MS (${deliveryTimeoutMs})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Prefixes a breaker validation message with the environment variable it came from. */
function breakerEnvNameIn(message: string): string {
  for (const [name, field] of BREAKER_ENV) {
    if (message.includes(field)) return `${name}: `;
  }
  return "";
}

class Reader {
  constructor(private env: Env, private problems: string[]) {}

  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? fallback : v.trim();
  }

  num(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return fallback;
    const n = Number(v.trim());
    if (!Number.isFinite(n)) {
      this.problems.push(`${name} must be a number, got "${v}"`);
      return fallback;
    }
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      this.problems.push(
        `${name} must be in [${range.min ?? "-inf"}, ${range.max ?? "inf"}], got ${v.trim()}`,
      );
      return fallback;
    }
    return n;
  }

  optNum(name: string, range: { min?: number; max?: number }): number | undefined {
    const v = this.env[name];
    if (v === undefined || v.trim() === "") return undefined;
    return this.num(name, NaN, range);
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const n = this.num(name, fallback, range);
    if (!Number.isInteger(n)) {
      this.problems.push(`${name} must be an integer, got "${this.env[name]}"`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.env[name]?.trim().toLowerCase();
    if (v === undefined || v === "") return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    this.problems.push(`${name} must be true or false, got "${this.env[name]}"`);
    return fallback;
  }
}

/** A copy of the configuration that is safe to show (no secrets, no credentials). */
export function redactedConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@"),
    adminToken: config.adminToken === null ? "unset" : "set",
  };
}
