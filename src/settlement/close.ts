/**
 * Closing a business day: reconcile it, then freeze its statements and record the result, under
 * the exclusive days lock so that no batch is half applied. Closing a closed day returns what the
 * first close stored. Events of a closed day that arrive later are posted to the next open day.
 */
import type { Db, Queryable } from "../outbox/db.ts";
import { type BusinessCalendar, dayBounds } from "./business_day.ts";
import { DAYS_LOCK } from "./ledger_store.ts";
import type { ExceptionRow } from "./ledger_rows.ts";
import { freezeStatements, type StatementRecord, storedStatements } from "./statements.ts";
import type { ReconciliationReport } from "./three_way.ts";

/** A close's outcome. */
export interface CloseResult {
  day: string;
  closedAt: string;
  /** True when the day was closed before this call (nothing changed). */
  alreadyClosed: boolean;
  reconciled: boolean;
  differences: number;
  statements: StatementRecord[];
  reconciliation: ReconciliationReport;
  /** How long the reconciliation and the freeze took, ms (0 when already closed). */
  timings: { reconcileMs: number; freezeMs: number };
}

/** Raised when a day cannot be closed yet (it has not ended). */
export class DayNotOverError extends Error {
  constructor(day: string, endsAt: number) {
    super(`business day ${day} ends at ${new Date(endsAt).toISOString()}; it cannot close before`);
    this.name = "DayNotOverError";
  }
}

interface DayRow {
  closed_at: string;
  reconciled: boolean;
  differences: number;
  reconciliation: string;
}

/** The close record of `day`, or null while it is open. */
export async function closedDay(
  q: Queryable,
  day: string,
): Promise<Omit<CloseResult, "alreadyClosed" | "statements" | "timings"> | null> {
  const [row] = await q.query<DayRow>(
    `SELECT to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS closed_at,
            reconciled, differences, reconciliation
       FROM settlement_days WHERE day = $1::date`,
    [day],
  );
  if (!row) return null;
  return {
    day,
    closedAt: row.closed_at,
    reconciled: row.reconciled,
    differences: Number(row.differences),
    reconciliation: JSON.parse(row.reconciliation),
  };
}

/** Options of `closeDay`. */
export interface CloseOptions {
  calendar: BusinessCalendar;
  reconcile: (day: string) => Promise<ReconciliationReport>;
  now?: () => number;
}

/** Closes `day` (idempotent): statements are frozen even when reconciliation finds differences. */
export async function closeDay(db: Db, day: string, opts: CloseOptions): Promise<CloseResult> {
  const now = (opts.now ?? Date.now)();
  const { end } = dayBounds(day, opts.calendar);
  const before = await closedDay(db, day);
  if (before) {
    return {
      ...before,
      alreadyClosed: true,
      statements: await storedStatements(db, day),
      timings: { reconcileMs: 0, freezeMs: 0 },
    };
  }
  if (now < end) throw new DayNotOverError(day, end);
  const t0 = performance.now();
  const reconciliation = await opts.reconcile(day);
  const t1 = performance.now();
  return await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [DAYS_LOCK]);
    const raced = await closedDay(tx, day);
    if (raced) {
      return {
        ...raced,
        alreadyClosed: true,
        statements: await storedStatements(tx, day),
        timings: { reconcileMs: 0, freezeMs: 0 },
      };
    }
    const statements = await freezeStatements(tx, day);
    const closedAt = new Date(now).toISOString();
    await tx.query(
      `INSERT INTO settlement_days (day, closed_at, reconciled, differences, reconciliation)
       VALUES ($1::date, $2::timestamptz, $3, $4, $5)`,
      [
        day,
        closedAt,
        reconciliation.clean,
        reconciliation.differenceCount,
        JSON.stringify(reconciliation),
      ],
    );
    return {
      day,
      closedAt,
      alreadyClosed: false,
      reconciled: reconciliation.clean,
      differences: reconciliation.differenceCount,
      statements,
      reconciliation,
      timings: {
        reconcileMs: Math.round(t1 - t0),
        freezeMs: Math.round(performance.now() - t1),
      },
    };
  });
}

/** One exception as listed in a day's report. */
export type ExceptionEntry = Omit<ExceptionRow, "businessDay" | "rule"> & {
  rule: string;
  at: string;
};

/** The exceptions recorded for business day `day`, oldest first (at most `limit`). */
export async function exceptionsOf(
  q: Queryable,
  day: string,
  limit = 10_000,
): Promise<ExceptionEntry[]> {
  const rows = await q.query<Record<string, unknown>>(
    `SELECT rule, reason, event_id, payment_id, merchant_id, currency, type, amount,
            topic_partition, topic_offset::text AS topic_offset,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
       FROM settlement_exceptions WHERE business_day = $1::date ORDER BY id LIMIT $2`,
    [day, limit],
  );
  return rows.map((r) => ({
    rule: String(r.rule),
    reason: String(r.reason),
    eventId: r.event_id as string | null,
    paymentId: r.payment_id as string | null,
    merchantId: r.merchant_id as string | null,
    currency: r.currency as string | null,
    type: r.type as string | null,
    amount: r.amount as string | null,
    partition: Number(r.topic_partition),
    offset: String(r.topic_offset),
    at: String(r.at),
  }));
}
