/** What the payment and outbox routes share: how a row is shown, failed reads. */
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import type { OutboxRow } from "../outbox/repository.ts";
import { HttpProblem } from "./problem.ts";

/** A stored row as the API shows it, with the event's own JSON under `event`. */
export function rowView(row: OutboxRow): Record<string, unknown> {
  return {
    eventId: row.id,
    paymentId: row.aggregateid,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    acceptedAt: row.createdAt.toISOString(),
    publishedAt: row.publishedAt?.toISOString() ?? null,
    event: JSON.parse(row.payload),
  };
}

/** A `.catch` for outbox reads: logs the cause and answers 503 with Retry-After. */
export function outboxUnavailable(logger: Logger, retryAfter: string): (e: unknown) => never {
  return (e) => {
    logger.warn("outbox read failed", { error: errorMessage(e) });
    throw new HttpProblem(503, "Outbox unavailable", "Postgres is not reachable; retry later", {
      headers: { "Retry-After": retryAfter },
    });
  };
}
