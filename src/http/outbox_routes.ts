/** The outbox for operators: counts, dead-lettered events and their retry, reconciliation. */
import { type Context, Hono } from "hono";
import { z } from "zod";
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
import { EVENT_ID, outboxUnavailable, rowView } from "./outbox_views.ts";
import { HttpProblem } from "./problem.ts";
import { readQuery } from "./query.ts";

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
          !body.eventIds.every((x) => typeof x === "string" && EVENT_ID.test(x))
        ) {
          throw new HttpProblem(422, "Invalid eventIds", "eventIds must be an array of UUIDs");
        }
        ids = body.eventIds as string[];
      }
    }
    const requeued = await retryDeadLettered(db, ids).catch(dbUnavailable);
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

/** The query POST /outbox/reconcile takes (or the same names in its body). */
const RECONCILE_QUERY = { since: z.string().optional(), until: z.string().optional() };

/** The range of a reconcile request, from the JSON body or else the query (400, 422). */
async function readTimeRange(c: Context): Promise<{ since: Date; until: Date }> {
  let body: { since?: unknown; until?: unknown } = {};
  const text = await c.req.text();
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text) ?? {};
    } catch {
      throw new HttpProblem(400, "Malformed JSON", 'send {"since": "1h", "until": "<ISO time>"}');
    }
  }
  const query = readQuery(c, RECONCILE_QUERY);
  const since = body.since ?? query.since;
  const until = body.until ?? query.until;
  if (typeof since !== "string" || (until !== undefined && typeof until !== "string")) {
    throw new HttpProblem(
      422,
      "Invalid time range",
      "since (required) and until must be ISO 8601 times or durations like 15m, 1h, 2d",
      {
        extra: { errors: [{ field: "since", message: `got ${JSON.stringify(since ?? null)}` }] },
      },
    );
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
