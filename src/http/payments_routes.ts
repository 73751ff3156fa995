/** POST /payments (ingest one event) and GET /payments/{eventId} (one stored event). */
import { Hono } from "hono";
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Queryable } from "../outbox/db.ts";
import type { Ingest } from "../outbox/ingest.ts";
import { findEvent } from "../outbox/repository.ts";
import { inFlightLimit } from "./in_flight_limit.ts";
import * as api from "./api_routes.ts";
import { readParams } from "./input.ts";
import { outboxUnavailable, rowView } from "./outbox_views.ts";
import { paymentBody, readPaymentEvent } from "./payment_request.ts";
import { HttpProblem } from "./problem.ts";

/** What `paymentsRoutes` needs; `createApp` has resolved every default. */
export interface PaymentsRoutesDeps {
  db: Queryable;
  ingest: Ingest;
  metrics: Pick<Metrics, "accepted">;
  logger: Logger;
  /** Retry-After, in seconds, of every 503. */
  retryAfter: string;
  maxInFlight: number;
  bodyLimitBytes: number;
  bodyReadTimeoutMs: number;
}

/** The payment routes, to mount at `/payments`. */
export function paymentsRoutes(deps: PaymentsRoutesDeps): Hono {
  const { db, ingest, metrics, logger, retryAfter } = deps;
  const app = new Hono();

  // Deno.serve has no header, body or idle timeouts and no connection limit of its own: a body
  // that never completes held its handler (and graceful shutdown) forever, and the body read cut
  // by a shutdown was answered 400 "Malformed JSON", telling the client not to retry.
  app.post(
    "/",
    inFlightLimit({ max: deps.maxInFlight, retryAfter }),
    paymentBody({ maxBytes: deps.bodyLimitBytes, timeoutMs: deps.bodyReadTimeoutMs, retryAfter }),
    async (c) => {
      const event = readPaymentEvent(c);
      const eventId = event.id;
      let result;
      try {
        result = await ingest.accept(event);
      } catch (e) {
        logger.error("outbox write failed", { error: errorMessage(e) });
        throw new HttpProblem(
          503,
          "Outbox unavailable",
          "the event was not acknowledged (the outbox could not confirm it was stored); retry with the same eventId",
          { headers: { "Retry-After": retryAfter } },
        );
      }
      c.header("Location", `/payments/${eventId}`);
      const acceptedAt = result.createdAt.toISOString();
      switch (result.kind) {
        case "published":
          metrics.accepted(1);
          return c.json({ eventId, status: "PUBLISHED", acceptedAt }, 201);
        case "pending":
          metrics.accepted(1);
          return c.json({ eventId, status: "PENDING", acceptedAt, detail: result.reason }, 202);
        case "dead_lettered":
          metrics.accepted(1);
          return c.json(
            { eventId, status: "DEAD_LETTERED", acceptedAt, detail: result.reason },
            202,
          );
        case "replay":
          return c.json({
            eventId,
            status: result.status,
            acceptedAt,
            publishedAt: result.publishedAt?.toISOString() ?? null,
            replay: true,
          }, 200);
        case "conflict":
          throw new HttpProblem(
            409,
            "Event id already used",
            `eventId ${eventId} was accepted earlier with a different body; use a new eventId`,
            { extra: { eventId } },
          );
      }
    },
  );

  app.get("/:eventId", async (c) => {
    const { eventId: id } = readParams(c, api.getPayment.params, "Invalid event id");
    const row = await findEvent(db, id).catch(outboxUnavailable(logger, retryAfter));
    if (!row) throw new HttpProblem(404, "Unknown event", `no event with id ${id}`);
    // Kafka has it and the mark is on its way: say so, as the 201 did.
    const acknowledged = row.status === "PENDING" ? ingest.unmarkedSince(id) : undefined;
    return c.json(
      rowView(acknowledged ? { ...row, status: "PUBLISHED", publishedAt: acknowledged } : row),
    );
  });

  return app;
}
