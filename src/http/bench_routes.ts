/**
 * Baseline routes for `deno task bench`, mounted only with BENCH_ROUTES=true: the same request
 * handling as POST /payments without I/O (`/bench/bare`) and with one single-row insert per
 * request (`/bench/naive`), so the benchmark measures what group commit and batching buy.
 */
import { Hono } from "hono";
import type { Db } from "../outbox/db.ts";
import { createNaiveTable, insertSingle } from "../outbox/repository.ts";
import { paymentBody, readPaymentEvent } from "./payment_request.ts";

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
    await insertSingle(db, event, "outbox_naive");
    return c.json({ eventId: event.id, status: "PENDING" }, 202);
  });
  app.route("/bench", bench);
}
