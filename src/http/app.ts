/** The Hono application: ingest, breaker admin, outbox, health, metrics and API description. */
import { Hono } from "hono";
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { BREAKER_STATES, type BreakerState } from "../breaker/circuit_breaker.ts";
import { IllegalTransitionError } from "../breaker/errors.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Db } from "../outbox/db.ts";
import type { Ingest } from "../outbox/ingest.ts";
import { migrationsApplied } from "../outbox/migrations.ts";
import type { Relay } from "../outbox/relay.ts";
import {
  findEvent,
  listDeadLettered,
  type OutboxRow,
  outboxStats,
  retryDeadLettered,
} from "../outbox/repository.ts";
import { requireAdmin } from "./auth.ts";
import { openApiDocument } from "./openapi.ts";
import { pageRoutes } from "./page_routes.ts";
import { paymentBody, readPaymentEvent } from "./payment_request.ts";
import { HttpProblem, problemBody } from "./problem.ts";
import type { ReconcileReport } from "../reconcile/reconcile.ts";
import { parseTimeRange, TimeArgumentError } from "../reconcile/time_range.ts";

/** Everything the app needs; `main.ts` wires the real ones, tests pass their own. */
export interface AppDeps {
  db: Db;
  ingest: Ingest;
  relay: Relay;
  breakers: readonly CircuitBreaker[];
  metrics: Metrics;
  logger: Logger;
  adminToken: string | null;
  bodyLimitBytes?: number;
  /** Seconds a client should wait before retrying when the outbox is unavailable. */
  retryAfterSeconds?: number;
  /** Longest wait for a POST /payments body to arrive (slow or stalled clients); 408 after. */
  bodyReadTimeoutMs?: number;
  /** POST /payments requests handled at once; more are answered 503 with Retry-After. */
  maxInFlightPayments?: number;
  /** Compares the outbox with the topic (POST /outbox/reconcile); absent: 501. */
  reconcile?: (since: Date, until: Date) => Promise<ReconcileReport>;
}

/** Default of `AppDeps.bodyReadTimeoutMs` (proposed env: BODY_READ_TIMEOUT_MS). */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;
/** Default of `AppDeps.maxInFlightPayments` (proposed env: MAX_INFLIGHT_PAYMENTS). */
export const DEFAULT_MAX_IN_FLIGHT_PAYMENTS = 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Creates the HTTP application. */
export function createApp(deps: AppDeps): Hono {
  const { db, ingest, metrics, logger } = deps;
  const retryAfter = String(deps.retryAfterSeconds ?? 2);
  const app = new Hono();
  const admin = requireAdmin(deps.adminToken);

  const breaker = (name: string): CircuitBreaker => {
    const b = deps.breakers.find((x) => x.name === name);
    if (!b) {
      throw new HttpProblem(404, "Unknown circuit breaker", `no circuit breaker named "${name}"`, {
        known: deps.breakers.map((x) => x.name),
      });
    }
    return b;
  };

  app.use(async (c, next) => {
    const start = performance.now();
    await next();
    const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
    metrics.observeHttp(c.req.method, route, c.res.status, (performance.now() - start) / 1000);
  });

  app.onError((err, c) => {
    const p = err instanceof HttpProblem ? err : new HttpProblem(
      500,
      "Internal error",
      "the request could not be completed; nothing was acknowledged",
    );
    if (!(err instanceof HttpProblem)) {
      logger.error("unhandled error", { path: c.req.path, error: errorMessage(err) });
    }
    for (const [k, v] of Object.entries(p.headers)) c.header(k, v);
    return c.body(JSON.stringify(problemBody(p, c.req.path)), p.status as 400, {
      "content-type": "application/problem+json",
    });
  });

  app.notFound((c) => {
    const p = new HttpProblem(404, "Not found", `no route for ${c.req.method} ${c.req.path}`);
    return c.body(JSON.stringify(problemBody(p, c.req.path)), 404, {
      "content-type": "application/problem+json",
    });
  });

  // Deno.serve has no header, body or idle timeouts and no connection limit of its own: a body
  // that never completes held its handler (and graceful shutdown) forever, and the body read cut
  // by a shutdown was answered 400 "Malformed JSON", telling the client not to retry.
  let paymentsInFlight = 0;
  const maxInFlight = deps.maxInFlightPayments ?? DEFAULT_MAX_IN_FLIGHT_PAYMENTS;
  const bodyLimitBytes = deps.bodyLimitBytes ?? 64 * 1024;
  const bodyTimeoutMs = deps.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS;
  app.post(
    "/payments",
    async (_c, next) => {
      if (paymentsInFlight >= maxInFlight) {
        throw new HttpProblem(
          503,
          "Too many requests in flight",
          `${maxInFlight} events are being handled already; nothing was stored; retry later`,
          {},
          { "Retry-After": retryAfter },
        );
      }
      paymentsInFlight++;
      try {
        await next();
      } finally {
        paymentsInFlight--;
      }
    },
    paymentBody({ maxBytes: bodyLimitBytes, timeoutMs: bodyTimeoutMs, retryAfter }),
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
          {},
          { "Retry-After": retryAfter },
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
            { eventId },
          );
      }
    },
  );

  app.get("/payments/:eventId", async (c) => {
    const id = c.req.param("eventId");
    if (!UUID.test(id)) throw new HttpProblem(400, "Invalid event id", "eventId must be a UUID");
    const row = await findEvent(db, id).catch(dbUnavailable);
    if (!row) throw new HttpProblem(404, "Unknown event", `no event with id ${id}`);
    return c.json(rowView(row));
  });

  app.get(
    "/circuit-breaker",
    (c) => c.json({ circuitBreakers: deps.breakers.map((b) => b.snapshot()) }),
  );

  app.get("/circuit-breaker/:name", (c) => c.json(breaker(c.req.param("name")).snapshot()));

  app.get("/circuit-breaker/:name/events", (c) => {
    const b = breaker(c.req.param("name"));
    const type = c.req.query("type")?.toUpperCase();
    const limitRaw = c.req.query("limit");
    const limit = limitRaw === undefined ? 100 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new HttpProblem(
        400,
        "Invalid query",
        `limit must be an integer in [1, 1000], got ${limitRaw}`,
      );
    }
    return c.json({ name: b.name, events: b.recentEvents({ type, limit }) });
  });

  app.post("/circuit-breaker/:name/state", admin, async (c) => {
    const b = breaker(c.req.param("name"));
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpProblem(
        400,
        "Malformed JSON",
        'send {"state": "FORCED_OPEN", "reason": "..."}',
      );
    }
    const state = typeof body?.state === "string" ? body.state.toUpperCase() : undefined;
    if (!state || !BREAKER_STATES.includes(state as BreakerState)) {
      throw new HttpProblem(
        422,
        "Invalid state",
        `state must be one of ${BREAKER_STATES.join(", ")}`,
        {
          errors: [{ field: "state", message: `unknown state ${JSON.stringify(body?.state)}` }],
        },
      );
    }
    const reason = body.reason;
    if (reason !== undefined && (typeof reason !== "string" || reason.length > 500)) {
      throw new HttpProblem(
        422,
        "Invalid reason",
        "reason must be a string of at most 500 characters",
      );
    }
    const ttl = body.ttlSeconds;
    if (
      ttl !== undefined &&
      (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86400)
    ) {
      throw new HttpProblem(
        422,
        "Invalid ttlSeconds",
        `ttlSeconds must be an integer in [1, 604800], got ${JSON.stringify(ttl)}`,
      );
    }
    const from = b.state;
    try {
      b.transitionTo(state as BreakerState, {
        reason: reason as string | undefined,
        ttlMs: ttl === undefined ? undefined : (ttl as number) * 1000,
      });
    } catch (e) {
      if (e instanceof IllegalTransitionError) {
        throw new HttpProblem(409, "Illegal transition", e.message, {
          from: e.from,
          to: e.to,
          allowed: e.allowed,
        });
      }
      throw e;
    }
    logger.warn("circuit breaker state set by operator", {
      breaker: b.name,
      from,
      to: state,
      reason: reason ?? null,
      ttlSeconds: ttl ?? null,
    });
    return c.json(b.snapshot());
  });

  app.get("/outbox", async (c) => {
    const stats = await outboxStats(db).catch(dbUnavailable);
    return c.json({ ...stats, relay: deps.relay.status() });
  });

  app.get("/outbox/dead-lettered", async (c) => {
    const rows = await listDeadLettered(db).catch(dbUnavailable);
    return c.json({ events: rows.map(rowView) });
  });

  app.post("/outbox/dead-lettered/retry", admin, async (c) => {
    let ids: string[] | undefined;
    const text = await c.req.text();
    if (text.trim() !== "") {
      let body: { eventIds?: unknown };
      try {
        body = JSON.parse(text);
      } catch {
        throw new HttpProblem(
          400,
          "Malformed JSON",
          'send {"eventIds": ["<uuid>", ...]} or no body',
        );
      }
      if (body.eventIds !== undefined) {
        if (
          !Array.isArray(body.eventIds) ||
          !body.eventIds.every((x) => typeof x === "string" && UUID.test(x))
        ) {
          throw new HttpProblem(422, "Invalid eventIds", "eventIds must be an array of UUIDs");
        }
        ids = body.eventIds as string[];
      }
    }
    const requeued = await retryDeadLettered(db, ids).catch(dbUnavailable);
    deps.relay.wake();
    return c.json({ requeued });
  });

  // Compares the outbox's published events with the topic; one run at a time (it reads Kafka).
  let reconciling = false;
  app.post("/outbox/reconcile", admin, async (c) => {
    if (!deps.reconcile) {
      throw new HttpProblem(
        501,
        "Reconciliation not configured",
        "this instance has no topic reader for reconciliation; use `deno task reconcile`",
      );
    }
    let body: { since?: unknown; until?: unknown } = {};
    const text = await c.req.text();
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text) ?? {};
      } catch {
        throw new HttpProblem(400, "Malformed JSON", 'send {"since": "1h", "until": "<ISO time>"}');
      }
    }
    const since = body.since ?? c.req.query("since");
    const until = body.until ?? c.req.query("until");
    if (typeof since !== "string" || (until !== undefined && typeof until !== "string")) {
      throw new HttpProblem(
        422,
        "Invalid time range",
        "since (required) and until must be ISO 8601 times or durations like 15m, 1h, 2d",
        { errors: [{ field: "since", message: `got ${JSON.stringify(since ?? null)}` }] },
      );
    }
    let range;
    try {
      range = parseTimeRange(since, until, new Date());
    } catch (e) {
      if (!(e instanceof TimeArgumentError)) throw e;
      throw new HttpProblem(422, "Invalid time range", e.message, {
        errors: [{ field: e.argument, message: e.message }],
      });
    }
    if (reconciling) {
      throw new HttpProblem(
        409,
        "Reconciliation running",
        "one reconciliation runs at a time; retry when it has finished",
        {},
        { "Retry-After": "5" },
      );
    }
    reconciling = true;
    try {
      return c.json(await deps.reconcile(range.since, range.until));
    } catch (e) {
      logger.warn("reconciliation failed", { error: errorMessage(e) });
      throw new HttpProblem(
        503,
        "Reconciliation failed",
        `the outbox could not be compared with the topic: ${errorMessage(e)}`,
        {},
        { "Retry-After": retryAfter },
      );
    } finally {
      reconciling = false;
    }
  });

  app.route("/", pageRoutes());

  app.get("/health/live", (c) => c.json({ status: "UP" }));

  app.get("/health/ready", async (c) => {
    let postgres = "UP";
    let migrations = "UP";
    try {
      if (!await migrationsApplied(db)) migrations = "DOWN";
    } catch (e) {
      postgres = "DOWN";
      migrations = "UNKNOWN";
      logger.warn("readiness: postgres unreachable", { error: errorMessage(e) });
    }
    const ok = postgres === "UP" && migrations === "UP";
    return c.json({
      status: ok ? "UP" : "DOWN",
      checks: {
        postgres,
        migrations,
        // Kafka is reported, never fatal: the outbox keeps accepting while it is down.
        kafka: Object.fromEntries(deps.breakers.map((b) => [b.name, b.state])),
      },
    }, ok ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    return c.body(await metrics.render(), 200, {
      "content-type": metrics.registry.contentType,
    });
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  return app;

  function dbUnavailable(e: unknown): never {
    logger.warn("outbox read failed", { error: errorMessage(e) });
    throw new HttpProblem(503, "Outbox unavailable", "Postgres is not reachable; retry later", {}, {
      "Retry-After": retryAfter,
    });
  }
}

function rowView(row: OutboxRow): Record<string, unknown> {
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
