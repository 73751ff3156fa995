/**
 * The settlement process's settings table: the database, Kafka, HTTP and logging settings it
 * shares with the service (its own port, client id and embedded store), SETTLEMENT_* of its own.
 */
import {
  ADMIN_TOKEN,
  DATABASE_SCHEMA,
  DATABASE_URL,
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
import { bool, int, parsed, text, variant } from "./setting.ts";

/** Parses "HH:MM" (00:00 to 23:59) into minutes after midnight; null when malformed. */
export function parseCutoff(text: string): number | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The settlement process's settings, by the SettlementConfig field they fill. */
export const SETTLEMENT_SETTINGS = Object.freeze({
  databaseUrl: variant(DATABASE_URL, {
    doc: "the service's Postgres (the ledger's tables sit beside the outbox)",
  }),
  databaseSchema: variant(DATABASE_SCHEMA, { doc: "schema of the ledger's and outbox's tables" }),
  dataDir: text("SETTLEMENT_DATA_DIR", "./data-settlement/ledger", {
    doc: "folder of the embedded store when `DATABASE_URL` is unset",
  }),
  kafkaBrokers: variant(KAFKA_BROKERS, { doc: "where the events are" }),
  kafkaTopic: KAFKA_TOPIC,
  requestTimeoutMs: KAFKA_REQUEST_TIMEOUT_MS,
  kafkaClientId: variant(KAFKA_CLIENT_ID, { default: "payment-settlement" }),
  groupId: groupId(
    "SETTLEMENT_GROUP",
    "payment-settlement",
    "consumer group id (offsets are kept in Postgres, per topic and partition)",
  ),
  timeZone: text("SETTLEMENT_TIMEZONE", "Asia/Seoul", {
    rule: { test: isTimeZone, must: "be an IANA time zone such as Asia/Seoul", show: "value" },
    allowed: "IANA time zone",
    doc: "time zone of business days",
  }),
  cutoffMinutes: parsed("SETTLEMENT_CUTOFF", "00:00", {
    parse: parseCutoff,
    must: "be HH:MM (00:00 to 23:59)",
    allowed: "`HH:MM`, 00:00 to 23:59",
    doc: "local time a business day starts; an event's day comes from its `occurredAt`",
  }),
  closeGraceMs: int("SETTLEMENT_CLOSE_GRACE_MS", 3_600_000, {
    min: 0,
    max: 7 * 86_400_000,
    unit: "ms",
    doc: "a day closes on schedule this long after its end (late records first)",
  }),
  scheduleClose: bool("SETTLEMENT_SCHEDULE_CLOSE", true, {
    doc: "close days on schedule (`false`: only on demand)",
  }),
  holdLimitMs: int("SETTLEMENT_HOLD_LIMIT_MS", 86_400_000, {
    min: 1000,
    unit: "ms",
    doc: "an event waiting for a missing one (a capture before its authorisation) becomes an " +
      "exception after this",
  }),
  catchUpMs: int("SETTLEMENT_CATCH_UP_MS", 30_000, {
    min: 0,
    max: 3_600_000,
    unit: "ms",
    doc: "how long reconciliation waits for the ledger to reach the end of the topic",
  }),
  sessionTimeoutMs: sessionTimeout("SETTLEMENT_SESSION_TIMEOUT_MS"),
  // The service has 8080, the reference consumer 8081.
  port: variant(PORT, { default: 8082 }),
  host: HOST,
  adminToken: ADMIN_TOKEN,
  logLevel: LOG_LEVEL,
  shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
});
