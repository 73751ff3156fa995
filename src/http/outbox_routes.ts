/** The outbox for operators: counts, dead-lettered events and their retry, reconciliation. */
import { type Context, Hono } from "hono";
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import type { Queryable } from "../outbox/db.ts";
import type { Relay } from "../outbox/relay.ts";
import {
  listDeadLettered,
  type OutboxStats,
  outboxStats,
  retryDeadLettered,
} from "../outbox/repository.ts";
import type { ReconcileReport } from "../reconcile/reconcile.ts";
import { parseTimeRange, TimeArgumentError } from "../reconcile/time_range.ts";
import { requireAdmin } from "./auth.ts";
import * as api from "./api_routes.ts";
import { readJson, readQuery } from "./input.ts";
import { outboxUnavailable, rowView } from "./outbox_views.ts";
import { type FieldError, HttpProblem } from "./problem.ts";

/** What `outboxRoutes` needs. */
export interface OutboxRoutesDeps {
  db: Queryable;
  relay: Pick<Relay, "status" | "wake">;
  logger: Logger;
  /** Bearer token of the POST routes; null refuses them. */
  adminToken: string | null;
  /** Retry-After, in seconds, of a 503. */
  retryAfter: string;
  /** Compares the outbox with the topic; absent: POST /outbox/reconcile answers 501. */
  reconcile?: (since: Date, until: Date) => Promise<ReconcileReport>;
  /** The counts of GET /outbox (main.ts shares a cost-bounded reading with the metrics). */
  stats?: () => Promise<OutboxStats>;
}

/** The outbox routes, to mount at `/outbox`. */
export function outboxRoutes(deps: OutboxRoutesDeps): Hono {
  const { db, relay, logger, retryAfter } = deps;
  const app = new Hono();
  const admin = requireAdmin(deps.adminToken);
  const dbUnavailable = outboxUnavailable(logger, retryAfter);
  const stats = deps.stats ?? (() => outboxStats(db));

  app.get("/", async (c) => {
    const figures = await stats().catch(dbUnavailable);
    return c.json({ ...figures, relay: relay.status() });
  });

  app.get("/dead-lettered", async (c) => {
    const rows = await listDeadLettered(db).catch(dbUnavailable);
    return c.json({ events: rows.map(rowView) });
  });

  app.post("/dead-lettered/retry", admin, async (c) => {
    const { eventIds } = await readJson(c, api.retryDeadLettered.body.schema, {
      optional: true,
      malformed: 'send {"eventIds": ["<uuid>", ...]} or no body',
      invalid: () => new HttpProblem(422, "Invalid eventIds", "eventIds must be an array of UUIDs"),
    });
    const requeued = await retryDeadLettered(db, eventIds).catch(dbUnavailable);
    relay.wake();
    return c.json({ requeued });
  });

  // Compares the outbox's published events with the topic; one run at a time (it reads Kafka).
  let reconciling = false;
  app.post("/reconcile", admin, async (c) => {
    if (!deps.reconcile) {
      throw new HttpProblem(
        501,
        "Reconciliation not configured",
        "this instance has no topic reader for reconciliation; use `deno task reconcile`",
      );
    }
    const range = await readTimeRange(c);
    if (reconciling) {
      throw new HttpProblem(
        409,
        "Reconciliation running",
        "one reconciliation runs at a time; retry when it has finished",
        { headers: { "Retry-After": "5" } },
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
        { headers: { "Retry-After": retryAfter } },
      );
    } finally {
      reconciling = false;
    }
  });

  return app;
}

/** The range of a reconcile request, from the JSON body or else the query (400, 422). */
async function readTimeRange(c: Context): Promise<{ since: Date; until: Date }> {
  const body = await readJson(c, api.reconcile.body.schema, {
    optional: true,
    malformed: 'send {"since": "1h", "until": "<ISO time>"}',
    invalid: () => invalidRange([{ field: "(body)", message: "must be a JSON object" }]),
  }) ?? {};
  const query = readQuery(c, api.reconcile.query);
  const since = body.since ?? query.since;
  const until = body.until ?? query.until;
  if (typeof since !== "string" || (until !== undefined && typeof until !== "string")) {
    throw invalidRange([{ field: "since", message: `got ${JSON.stringify(since ?? null)}` }]);
  }
  try {
    return parseTimeRange(since, until, new Date());
  } catch (e) {
    if (!(e instanceof TimeArgumentError)) throw e;
    throw new HttpProblem(422, "Invalid time range", e.message, {
      extra: { errors: [{ field: e.argument, message: e.message }] },
    });
  }
}

function invalidRange(errors: FieldError[]): HttpProblem {
  return new HttpProblem(
    422,
    "Invalid time range",
    "since (required) and until must be ISO 8601 times or durations like 15m, 1h, 2d",
    { extra: { errors } },
  );
}
