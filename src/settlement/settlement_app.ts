/**
 * The settlement process's HTTP surface: statements (JSON, or CSV with `Accept: text/csv`),
 * exceptions and reconciliation of a day, today's running totals, closing a day on demand (admin,
 * bearer token), /metrics and health.
 */
import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../http/auth.ts";
import { problemHandler, unmatchedRoute } from "../http/error_handler.ts";
import { readJson, readQuery } from "../http/input.ts";
import { HttpProblem } from "../http/problem.ts";
import type { Logger } from "../log.ts";
import type { Queryable } from "../outbox/db.ts";
import { type BusinessCalendar, businessDayOf, isDay } from "./business_day.ts";
import { closedDay, type CloseResult, DayNotOverError, exceptionsOf } from "./close.ts";
import { statementsCsv, statementsOf } from "./statements.ts";
import type { ReconciliationReport } from "./three_way.ts";

/** What `createSettlementApp` needs. */
export interface SettlementAppDeps {
  db: Queryable;
  calendar: BusinessCalendar;
  adminToken: string | null;
  logger: Logger;
  close: (day: string) => Promise<CloseResult>;
  reconcile: (day: string) => Promise<ReconciliationReport>;
  metrics: { render(): Promise<string> };
  /** Kafka membership, for readiness. */
  status: () => { connected: boolean; assigned: number[] };
  now?: () => number;
}

const dayParam = z.string().refine(isDay, "must be a date written YYYY-MM-DD");
const idParam = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$/,
  "letters, digits and . _ : - only",
);

/** The query of GET /settlements; the other day routes take `day` alone. */
const STATEMENTS_QUERY = {
  day: dayParam,
  merchantId: idParam.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code, e.g. EUR").optional(),
};
const DAY_QUERY = { day: dayParam };

/** The body of POST /settlements/close; a bad day is a 400, as a bad `day` parameter is. */
const CLOSE_BODY = z.object({ day: dayParam });

function invalidDay(error: z.ZodError): HttpProblem {
  return new HttpProblem(400, "Invalid parameter", `day: ${error.issues[0]?.message}`, {
    extra: { errors: error.issues.map((i) => ({ field: "day", message: i.message })) },
  });
}

/** A summary of a close for answers (statements without their adjustments' detail). */
export function closeSummary(r: CloseResult) {
  return {
    day: r.day,
    closedAt: r.closedAt,
    alreadyClosed: r.alreadyClosed,
    reconciled: r.reconciled,
    differences: r.differences,
    timings: r.timings,
    statements: r.statements.map((s) => ({
      merchantId: s.statement.merchantId,
      currency: s.statement.currency,
      netPayable: s.statement.netPayable,
      sha256: s.sha256,
    })),
  };
}

/** The settlement Hono app. */
export function createSettlementApp(deps: SettlementAppDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;
  app.onError(problemHandler(deps.logger));
  app.notFound(unmatchedRoute(() => app.routes));

  app.get("/health/live", (c) => c.json({ status: "UP" }));
  app.get("/health/ready", async (c) => {
    const db = await deps.db.query("SELECT 1 FROM settlement_offsets LIMIT 1").then(
      () => true,
      () => false,
    );
    const { connected, assigned } = deps.status();
    return c.json({
      status: db ? "UP" : "DOWN",
      checks: {
        database: db ? "UP" : "DOWN",
        kafka: connected ? "UP" : "DOWN",
        partitions: assigned,
      },
    }, db ? 200 : 503);
  });
  app.get("/metrics", async (c) =>
    c.body(await deps.metrics.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));

  app.get("/settlements", async (c) => {
    const { day, merchantId, currency } = readQuery(c, STATEMENTS_QUERY);
    let records = await statementsOf(deps.db, day, merchantId);
    if (currency !== undefined) records = records.filter((r) => r.statement.currency === currency);
    if (merchantId !== undefined && records.length === 0) {
      throw new HttpProblem(404, "No statement", `no statement for ${merchantId} on ${day}`);
    }
    if ((c.req.header("accept") ?? "").includes("text/csv")) {
      return c.body(statementsCsv(records), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="settlement-${day}.csv"`,
      });
    }
    const closed = await closedDay(deps.db, day);
    return c.json({
      day,
      closed: closed !== null,
      closedAt: closed?.closedAt ?? null,
      reconciled: closed?.reconciled ?? null,
      statements: records.map((r) => ({ ...r.statement, sha256: r.sha256 })),
    });
  });

  app.get("/settlements/exceptions", async (c) => {
    const { day } = readQuery(c, DAY_QUERY);
    return c.json({ day, exceptions: await exceptionsOf(deps.db, day) });
  });

  app.get("/settlements/reconciliation", async (c) => {
    const { day } = readQuery(c, DAY_QUERY);
    const closed = await closedDay(deps.db, day);
    return c.json(closed ? closed.reconciliation : await deps.reconcile(day));
  });

  app.get("/settlements/summary", async (c) => {
    const today = businessDayOf(now(), deps.calendar);
    const [records, last, exceptions] = await Promise.all([
      statementsOf(deps.db, today),
      deps.db.query<{ day: string; reconciled: boolean; differences: number; closed_at: string }>(
        `SELECT day::text, reconciled, differences,
                to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS closed_at
           FROM settlement_days ORDER BY day DESC LIMIT 1`,
      ),
      deps.db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM settlement_exceptions WHERE business_day = $1::date",
        [today],
      ),
    ]);
    return c.json({
      today,
      statements: records.map((r) => r.statement),
      lastClose: last[0]
        ? {
          day: last[0].day,
          closedAt: last[0].closed_at,
          reconciled: last[0].reconciled,
          differences: Number(last[0].differences),
        }
        : null,
      exceptionsToday: Number(exceptions[0]?.n ?? 0),
    });
  });

  app.post("/settlements/close", requireAdmin(deps.adminToken), async (c) => {
    const { day } = await readJson(c, CLOSE_BODY, {
      malformed: 'send {"day": "YYYY-MM-DD"}',
      invalid: invalidDay,
    });
    try {
      const r = await deps.close(day);
      return c.json(closeSummary(r), r.alreadyClosed ? 200 : 201);
    } catch (e) {
      if (e instanceof DayNotOverError) throw new HttpProblem(409, "Day not over", e.message);
      throw e;
    }
  });

  return app;
}
