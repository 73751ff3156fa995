/**
 * The settlement process's only reader of the environment. Database and Kafka variables share
 * names and defaults with the service; SETTLEMENT_* are its own. Validated once at start-up: a
 * bad value stops the program with a message naming the variable and the value.
 */
import { ConfigError, type Env, EnvReader } from "../env_reader.ts";
import { DEFAULT_KAFKA_BROKERS, DEFAULT_KAFKA_TOPIC } from "../kafka/kafka_defaults.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import { type BusinessCalendar, isTimeZone, parseCutoff } from "./business_day.ts";

/** HTTP port (the service has 8080, the reference consumer 8081). */
export const DEFAULT_SETTLEMENT_PORT = 8082;
/** The settlement consumer group. */
export const DEFAULT_SETTLEMENT_GROUP = "payment-settlement";

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
  const read = new EnvReader(env, problems);
  const databaseUrl = read.str("DATABASE_URL", "");
  if (databaseUrl !== "" && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with postgres:// or postgresql://`);
  }
  const schema = read.str("DATABASE_SCHEMA", "public");
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    problems.push(`DATABASE_SCHEMA must be a lower-case SQL identifier, got "${schema}"`);
  }
  const timeZone = read.str("SETTLEMENT_TIMEZONE", "Asia/Seoul");
  if (!isTimeZone(timeZone)) {
    problems.push(
      `SETTLEMENT_TIMEZONE must be an IANA time zone such as Asia/Seoul, got "${timeZone}"`,
    );
  }
  const cutoffText = read.str("SETTLEMENT_CUTOFF", "00:00");
  const cutoffMinutes = parseCutoff(cutoffText);
  if (cutoffMinutes === null) {
    problems.push(`SETTLEMENT_CUTOFF must be HH:MM (00:00 to 23:59), got "${cutoffText}"`);
  }
  const groupId = read.str("SETTLEMENT_GROUP", DEFAULT_SETTLEMENT_GROUP);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(groupId)) {
    problems.push(
      `SETTLEMENT_GROUP must be 1 to 249 letters, digits, '.', '_' or '-', got "${groupId}"`,
    );
  }
  const adminToken = env.ADMIN_TOKEN ?? "";
  if (adminToken !== "" && adminToken.length < 16) {
    problems.push(`ADMIN_TOKEN must be at least 16 characters long (got ${adminToken.length})`);
  }
  const config: SettlementConfig = {
    port: read.int("PORT", DEFAULT_SETTLEMENT_PORT, { min: 0, max: 65535 }),
    host: read.str("HOST", "0.0.0.0"),
    logLevel: read.oneOf("LOG_LEVEL", "info", LOG_LEVELS),
    databaseUrl: databaseUrl === "" ? null : databaseUrl,
    dataDir: read.str("SETTLEMENT_DATA_DIR", "./data-settlement/ledger"),
    databaseSchema: schema,
    adminToken: adminToken === "" ? null : adminToken,
    calendar: { timeZone, cutoffMinutes: cutoffMinutes ?? 0 },
    kafka: {
      brokers: read.brokerList("KAFKA_BROKERS", DEFAULT_KAFKA_BROKERS),
      topic: read.str("KAFKA_TOPIC", DEFAULT_KAFKA_TOPIC),
      clientId: read.str("KAFKA_CLIENT_ID", "payment-settlement"),
      groupId,
      sessionTimeoutMs: read.int("SETTLEMENT_SESSION_TIMEOUT_MS", 30_000, {
        min: 6000,
        max: 1_800_000,
      }),
      requestTimeoutMs: read.int("KAFKA_REQUEST_TIMEOUT_MS", 10_000, { min: 100 }),
    },
    closeGraceMs: read.int("SETTLEMENT_CLOSE_GRACE_MS", 3_600_000, { min: 0, max: 7 * 86_400_000 }),
    scheduleClose: read.bool("SETTLEMENT_SCHEDULE_CLOSE", true),
    holdLimitMs: read.int("SETTLEMENT_HOLD_LIMIT_MS", 86_400_000, { min: 1000 }),
    catchUpMs: read.int("SETTLEMENT_CATCH_UP_MS", 30_000, { min: 0, max: 3_600_000 }),
    shutdownTimeoutMs: read.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 100 }),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
