/** Classifies Kafka client errors into "the broker is unhealthy" and "this record is bad". */
import { errorMessage } from "../error_message.ts";

/** Raised when a publish exceeds our own delivery deadline (kafkajs alone can hang for minutes). */
export class PublishTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Kafka did not acknowledge the publish within ${timeoutMs} ms`);
    this.name = "PublishTimeoutError";
  }
}

/**
 * Exactly-once mode: a transaction whose outcome is unknown (its commit or abort failed, or it was
 * abandoned at the delivery deadline while running). The producer that ran it is dropped; the
 * rows it carried stay claimed by its transactional.id until recovery fences that id and reads
 * back what it committed. Never "retry" such rows directly: that is how duplicates are made.
 */
export class UncertainPublishError extends Error {
  constructor(cause: unknown) {
    super(`the Kafka transaction's outcome is unknown: ${describeKafkaError(cause)}`, { cause });
    this.name = "UncertainPublishError";
  }
}

/**
 * Exactly-once mode: rows claimed by an owner (transactional.id) that is not the publisher's
 * current one; nothing was sent. Their claims go to recovery like an uncertain transaction's.
 */
export class StaleOwnerError extends Error {
  constructor(readonly owner: string, readonly current: string) {
    super(`rows claimed by ${owner} cannot be published by ${current}`);
    this.name = "StaleOwnerError";
  }
}

/** True when the rows of a failed publish must go to recovery rather than back in line. */
export function isUncertain(e: unknown): boolean {
  return e instanceof UncertainPublishError || e instanceof StaleOwnerError;
}

/**
 * Kafka protocol error types that retrying cannot fix: the record itself (or our permission to
 * write it) is the problem, not the broker's health.
 */
const PER_RECORD_TYPES = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TIMESTAMP",
  "UNSUPPORTED_FOR_MESSAGE_FORMAT",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "INVALID_TOPIC_EXCEPTION",
  "POLICY_VIOLATION",
]);

interface KafkaLikeError {
  name?: string;
  type?: string;
  message?: string;
  originalError?: unknown;
  errors?: unknown[];
}

/** The Kafka protocol error type carried by an error or its cause chain, if any. */
export function kafkaErrorType(e: unknown): string | undefined {
  const seen = new Set<unknown>();
  let cur: unknown = e;
  while (cur && typeof cur === "object" && !seen.has(cur)) {
    seen.add(cur);
    const k = cur as KafkaLikeError;
    if (typeof k.type === "string") return k.type;
    if (Array.isArray(k.errors) && k.errors.length > 0) {
      for (const inner of k.errors) {
        const t = kafkaErrorType(inner);
        if (t) return t;
      }
    }
    cur = k.originalError ?? (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for errors retrying cannot fix; the breaker ignores them and the row is dead-lettered. */
export function isPerRecordError(e: unknown): boolean {
  // An uncertain transaction is never the record's fault, whatever error it wraps.
  if (isUncertain(e)) return false;
  const t = kafkaErrorType(e);
  return t !== undefined && PER_RECORD_TYPES.has(t);
}

/** A short, stable label for logs and the outbox's last_error column. */
export function describeKafkaError(e: unknown): string {
  const t = kafkaErrorType(e);
  const m = errorMessage(e);
  return t && !m.includes(t) ? `${t}: ${m}` : m;
}

/** How the outbox reads Kafka publish errors (the `PublishErrors` it is handed by main.ts). */
export const KAFKA_PUBLISH_ERRORS = {
  isPerRecord: isPerRecordError,
  isUncertain,
  describe: describeKafkaError,
};
