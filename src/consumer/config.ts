/**
 * The reference consumer's only reader of the environment. Kafka variables share names and
 * defaults with the service (src/config.ts); CONSUMER_* are its own. Validated once at start-up:
 * a bad value stops the program with a message naming the variable and the value.
 */
import { ConfigError, type Env, EnvReader } from "../env_reader.ts";
import { DEFAULT_KAFKA_BROKERS, DEFAULT_KAFKA_TOPIC } from "../kafka/kafka_defaults.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import { DEFAULT_DEDUPE_WINDOW } from "./dedupe_window.ts";
import { DEFAULT_LAG_REFRESH_MS } from "./lag_monitor.ts";

/** HTTP port of /metrics and /health (the service has 8080). */
export const DEFAULT_CONSUMER_PORT = 8081;
/** The reference consumer's group. */
export const DEFAULT_CONSUMER_GROUP = "payment-events-reference";
/** Kafka client id of the consumer (visible in broker logs and group descriptions). */
export const DEFAULT_CONSUMER_CLIENT_ID = "payment-consumer";
/** kafkajs's default: a member silent this long is dropped from the group. */
export const DEFAULT_CONSUMER_SESSION_TIMEOUT_MS = 30_000;

/** The validated consumer configuration. */
export interface ConsumerConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  kafka: {
    brokers: string[];
    topic: string;
    clientId: string;
    groupId: string;
    /** A group without committed offsets starts at the topic's first record (else at new ones). */
    fromBeginning: boolean;
    sessionTimeoutMs: number;
    requestTimeoutMs: number;
  };
  /** Event ids remembered for dropping duplicates. */
  dedupeWindow: number;
  lagRefreshMs: number;
  shutdownTimeoutMs: number;
}

/** Parses and validates the environment; throws ConfigError listing every bad variable. */
export function loadConsumerConfig(env: Env): ConsumerConfig {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);
  const groupId = read.str("CONSUMER_GROUP", DEFAULT_CONSUMER_GROUP);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(groupId)) {
    problems.push(
      `CONSUMER_GROUP must be 1 to 249 letters, digits, '.', '_' or '-', got "${groupId}"`,
    );
  }
  const config: ConsumerConfig = {
    port: read.int("PORT", DEFAULT_CONSUMER_PORT, { min: 0, max: 65535 }),
    host: read.str("HOST", "0.0.0.0"),
    logLevel: read.oneOf("LOG_LEVEL", "info", LOG_LEVELS),
    kafka: {
      brokers: read.brokerList("KAFKA_BROKERS", DEFAULT_KAFKA_BROKERS),
      topic: read.str("KAFKA_TOPIC", DEFAULT_KAFKA_TOPIC),
      clientId: read.str("KAFKA_CLIENT_ID", DEFAULT_CONSUMER_CLIENT_ID),
      groupId,
      fromBeginning: read.bool("CONSUMER_FROM_BEGINNING", true),
      // The broker refuses sessions outside group.min/max.session.timeout.ms (6 s to 30 min).
      sessionTimeoutMs: read.int(
        "CONSUMER_SESSION_TIMEOUT_MS",
        DEFAULT_CONSUMER_SESSION_TIMEOUT_MS,
        {
          min: 6000,
          max: 1_800_000,
        },
      ),
      requestTimeoutMs: read.int("KAFKA_REQUEST_TIMEOUT_MS", 10_000, { min: 100 }),
    },
    dedupeWindow: read.int("CONSUMER_DEDUPE_WINDOW", DEFAULT_DEDUPE_WINDOW, {
      min: 1,
      max: 10_000_000,
    }),
    lagRefreshMs: read.int("CONSUMER_LAG_REFRESH_MS", DEFAULT_LAG_REFRESH_MS, {
      min: 100,
      max: 300_000,
    }),
    shutdownTimeoutMs: read.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 100 }),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
