/**
 * Baseline routes of `deno task bench`, served by the bench's own entry point (bench_service.ts),
 * never by the service: the same request handling as POST /payments without I/O (`/bench/bare`)
 * and with one single-row insert per request (`/bench/naive`), so the benchmark measures what
 * group commit and batching buy.
 */
import { Hono } from "hono";
import type { Db, Queryable } from "../../src/outbox/db.ts";
import type { NewEvent } from "../../src/outbox/repository.ts";
import { paymentBody, readPaymentEvent } from "../../src/http/payment_request.ts";

/** The naive table: shaped like the outbox, out of the relay's sight. */
const NAIVE_TABLE = "outbox_naive";

/** Creates the naive table once. */
export async function createNaiveTable(db: Queryable): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS ${NAIVE_TABLE} (LIKE outbox INCLUDING ALL)`);
}

/** One event in its own autocommit statement into the naive table: no batching, no claim. */
export async function insertNaive(db: Queryable, event: NewEvent): Promise<void> {
  await db.query(
    `INSERT INTO ${NAIVE_TABLE} (id, aggregateid, type, payload)
     VALUES ($1::uuid, $2, $3, $4::jsonb)`,
    [event.id, event.aggregateid, event.type, event.payload],
  );
}

/** Registers the baseline routes on `app`. */
export function addBenchRoutes(app: Hono, db: Db, bodyLimitBytes: number): void {
  const bench = new Hono();
  const body = paymentBody({ maxBytes: bodyLimitBytes, timeoutMs: 10_000, retryAfter: "2" });
  bench.post("/bare", body, (c) => {
    const event = readPaymentEvent(c);
    return c.json({ eventId: event.id, status: "PENDING" }, 202);
  });
  let table: Promise<unknown> | null = null;
  bench.post("/naive", body, async (c) => {
    const event = readPaymentEvent(c);
    table ??= createNaiveTable(db);
    await table;
    await insertNaive(db, event);
    return c.json({ eventId: event.id, status: "PENDING" }, 202);
  });
  app.route("/bench", bench);
}
