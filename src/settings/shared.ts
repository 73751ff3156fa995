/**
 * Settings more than one program reads, declared once: the service, the reference consumer and
 * the settlement process take these (some with their own default or doc, by `variant`).
 */
import { LOG_LEVELS } from "../log.ts";
import { brokers, int, oneOf, text, type TextRule } from "./setting.ts";

/** Kafka group ids: what the broker accepts in a group name. */
const GROUP_ID: TextRule = {
  test: (v) => /^[A-Za-z0-9._-]{1,249}$/.test(v),
  must: "be 1 to 249 letters, digits, '.', '_' or '-'",
  show: "value",
};

export const PORT = int("PORT", 8080, { min: 0, max: 65535, doc: "HTTP port" });

export const HOST = text("HOST", "0.0.0.0", { doc: "listen address" });

export const LOG_LEVEL = oneOf("LOG_LEVEL", "info", LOG_LEVELS, {
  doc: "least severe level logged (JSON lines)",
});

export const ADMIN_TOKEN = text("ADMIN_TOKEN", null, {
  // Taken as given, never trimmed: it is compared with the bearer token byte for byte.
  raw: true,
  rule: { test: (v) => v.length >= 16, must: "be at least 16 characters long", show: "length" },
  allowed: "16+ characters",
  defaultText: "unset = admin mutations refused (403)",
  doc: "bearer token for admin mutations",
});

export const DATABASE_URL = text("DATABASE_URL", null, {
  // Not echoed when refused: the URL may hold a password.
  rule: {
    test: (v) => /^postgres(ql)?:\/\//.test(v),
    must: "start with postgres:// or postgresql://",
    show: "nothing",
  },
  allowed: "`postgres://` or `postgresql://` URL",
  defaultText: "unset = embedded store",
  doc: "Postgres server, e.g. `postgres://user:pass@host:5432/db`",
});

export const DATABASE_SCHEMA = text("DATABASE_SCHEMA", "public", {
  rule: {
    test: (v) => /^[a-z_][a-z0-9_]{0,62}$/.test(v),
    must: "be a lower-case SQL identifier",
    show: "value",
  },
  allowed: "lower-case SQL identifier",
  doc: "schema of the outbox tables (created when missing)",
});

export const KAFKA_BROKERS = brokers("KAFKA_BROKERS", "127.0.0.1:9092", {
  doc: "comma-separated bootstrap servers",
});

export const KAFKA_TOPIC = text("KAFKA_TOPIC", "payment-events", {
  doc: "topic of payment events",
});

export const KAFKA_CLIENT_ID = text("KAFKA_CLIENT_ID", "payment-ingest", {
  doc: "Kafka client id",
});

export const KAFKA_REQUEST_TIMEOUT_MS = int("KAFKA_REQUEST_TIMEOUT_MS", 10_000, {
  min: 100,
  unit: "ms",
  doc: "per-request timeout",
});

export const SHUTDOWN_TIMEOUT_MS = int("SHUTDOWN_TIMEOUT_MS", 10_000, {
  min: 100,
  unit: "ms",
  doc: "bound of the graceful shutdown",
});

/** A consumer group id setting (CONSUMER_GROUP, SETTLEMENT_GROUP). */
export function groupId(env: string, value: string, doc: string) {
  return text(env, value, { rule: GROUP_ID, allowed: "Kafka group name", doc });
}

/** A group session timeout setting (CONSUMER_SESSION_TIMEOUT_MS, SETTLEMENT_SESSION_TIMEOUT_MS). */
export function sessionTimeout(env: string) {
  // kafkajs's default. The broker refuses sessions outside group.min/max.session.timeout.ms
  // (6 s to 30 min).
  return int(env, 30_000, {
    min: 6000,
    max: 1_800_000,
    unit: "ms",
    doc: "a silent member leaves the group after this",
  });
}
