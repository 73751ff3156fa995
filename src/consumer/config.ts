/**
 * The reference consumer's only reader of the environment, against its settings table
 * (src/settings/consumer.ts: Kafka variables shared with the service, CONSUMER_* its own).
 * Validated once at start-up: a bad value stops the program with a message naming the variable
 * and the value.
 */
import { ConfigError, type Env } from "../env_reader.ts";
import type { LogLevel } from "../log.ts";
import { CONSUMER_SETTINGS as S } from "../settings/consumer.ts";
import { SettingsReader } from "../settings/setting.ts";

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
  const read = new SettingsReader(env, problems);
  const config: ConsumerConfig = {
    port: read.int(S.port),
    host: read.text(S.host),
    logLevel: read.oneOf(S.logLevel),
    kafka: {
      brokers: read.brokers(S.kafkaBrokers),
      topic: read.text(S.kafkaTopic),
      clientId: read.text(S.kafkaClientId),
      groupId: read.text(S.groupId),
      fromBeginning: read.bool(S.fromBeginning),
      sessionTimeoutMs: read.int(S.sessionTimeoutMs),
      requestTimeoutMs: read.int(S.requestTimeoutMs),
    },
    dedupeWindow: read.int(S.dedupeWindow),
    lagRefreshMs: read.int(S.lagRefreshMs),
    shutdownTimeoutMs: read.int(S.shutdownTimeoutMs),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
