/**
 * The settlement process's only reader of the environment, against its settings table
 * (src/settings/settlement.ts: database and Kafka variables shared with the service, SETTLEMENT_*
 * its own). Validated once at start-up: a bad value stops the program with a message naming the
 * variable and the value.
 */
import { ConfigError, type Env } from "../env_reader.ts";
import type { LogLevel } from "../log.ts";
import { SettingsReader } from "../settings/setting.ts";
import { SETTLEMENT_SETTINGS as S } from "../settings/settlement.ts";
import type { BusinessCalendar } from "./business_day.ts";

/** The validated settlement configuration. */
export interface SettlementConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  /** Null: the embedded store in `dataDir` (trials; reconciliation then has no outbox). */
  databaseUrl: string | null;
  dataDir: string;
  databaseSchema: string;
  adminToken: string | null;
  calendar: BusinessCalendar;
  kafka: {
    brokers: string[];
    topic: string;
    clientId: string;
    groupId: string;
    sessionTimeoutMs: number;
    requestTimeoutMs: number;
  };
  /** After a day's end, wait this long for late records before the scheduled close. */
  closeGraceMs: number;
  /** Close days on schedule (false: only on demand). */
  scheduleClose: boolean;
  /** A held event becomes an exception after waiting this long for its missing event. */
  holdLimitMs: number;
  /** How long reconciliation waits for the ledger to catch up with the topic. */
  catchUpMs: number;
  shutdownTimeoutMs: number;
}

/** Parses and validates the environment; throws ConfigError listing every bad variable. */
export function loadSettlementConfig(env: Env): SettlementConfig {
  const problems: string[] = [];
  const read = new SettingsReader(env, problems);
  const config: SettlementConfig = {
    port: read.int(S.port),
    host: read.text(S.host),
    logLevel: read.oneOf(S.logLevel),
    databaseUrl: read.text(S.databaseUrl),
    dataDir: read.text(S.dataDir),
    databaseSchema: read.text(S.databaseSchema),
    adminToken: read.text(S.adminToken),
    calendar: {
      timeZone: read.text(S.timeZone),
      cutoffMinutes: read.parsed(S.cutoffMinutes) ?? 0,
    },
    kafka: {
      brokers: read.brokers(S.kafkaBrokers),
      topic: read.text(S.kafkaTopic),
      clientId: read.text(S.kafkaClientId),
      groupId: read.text(S.groupId),
      sessionTimeoutMs: read.int(S.sessionTimeoutMs),
      requestTimeoutMs: read.int(S.requestTimeoutMs),
    },
    closeGraceMs: read.int(S.closeGraceMs),
    scheduleClose: read.bool(S.scheduleClose),
    holdLimitMs: read.int(S.holdLimitMs),
    catchUpMs: read.int(S.catchUpMs),
    shutdownTimeoutMs: read.int(S.shutdownTimeoutMs),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
