import { assertEquals, assertNotEquals, assertRejects } from "@std/assert";
import type { Db } from "../outbox/db.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { dayBounds } from "./business_day.ts";
import { closeDay, closedDay, DayNotOverError, exceptionsOf } from "./close.ts";
import { applyBatch, type RawRecord } from "./ledger_store.ts";
import { migrateSettlement } from "./migrations.ts";
import { sha256Hex, statementsOf, storedStatements } from "./statements.ts";
import type { ReconciliationReport } from "./three_way.ts";

const SEOUL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const TABLES = "settlement_offsets, settlement_payments, settlement_events, " +
  "settlement_exceptions, settlement_fees, settlement_days, settlement_statements";

let offset = 0;
function rec(n: number, pay: string, type: string, amount: number, at: string): RawRecord {
  return {
    partition: 0,
    offset: String(offset++),
    value: JSON.stringify({
      eventId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
      paymentId: pay,
      merchantId: pay.startsWith("b") ? "m-b" : "m-a",
      type,
      amount,
      currency: "EUR",
      occurredAt: at,
    }),
    headers: {},
    timestamp: Date.parse(at),
  };
}

const apply = (db: Db, records: RawRecord[]) =>
  db.transaction((tx) => applyBatch(tx, 0, records, { topic: "t", calendar: SEOUL }));

/** A reconciliation report as reconcileDay would write it (no differences unless given). */
function report(day: string, differences: ReconciliationReport["differences"] = []) {
  return (): Promise<ReconciliationReport> =>
    Promise.resolve({
      day,
      checkedAt: "2026-12-04T00:00:00.000Z",
      clean: differences.length === 0,
      differenceCount: differences.length,
      differences,
      groups: [],
      topicDuplicates: 0,
      held: 0,
      caughtUp: true,
      outboxAvailable: true,
    });
}

const DAY = "2026-12-03";
const AFTER = dayBounds(DAY, SEOUL).end + 60_000; // a minute after the day's end

async function seedDay(db: Db) {
  // Test resets only: replica mode skips the triggers that keep statements immutable.
  await db.query(
    `SET session_replication_role = replica; TRUNCATE ${TABLES}; SET session_replication_role = origin`,
  );
  offset = 0;
  await apply(db, [
    rec(1, "a1", "PAYMENT_AUTHORIZED", 1000, "2026-12-03T01:00:00Z"),
    rec(2, "a1", "PAYMENT_CAPTURED", 600, "2026-12-03T02:00:00Z"),
    rec(3, "b1", "PAYMENT_AUTHORIZED", 70, "2026-12-03T03:00:00Z"),
    rec(4, "b1", "PAYMENT_CAPTURED", 70, "2026-12-03T03:30:00Z"),
    rec(5, "b1", "PAYMENT_CAPTURED", 70, "2026-12-03T04:00:00Z"), // held: over authorized
    rec(6, "a2", "PAYMENT_CANCELLED", 1, "2026-12-03T05:00:00Z"),
    rec(7, "a2", "PAYMENT_CAPTURED", 1, "2026-12-03T06:00:00Z"), // exception: after_terminal
  ]);
}

Deno.test("closeDay on PGlite: freezing statements, idempotence, immutability", async (t) => {
  const db = await createPgliteDb(null);
  try {
    await migrateSettlement(db);

    await t.step(
      "a clean close freezes statements whose sha256 is that of their canonical text",
      async () => {
        await seedDay(db);
        const first = await closeDay(db, DAY, {
          calendar: SEOUL,
          reconcile: report(DAY),
          now: () => AFTER,
        });
        assertEquals([first.alreadyClosed, first.reconciled, first.differences], [false, true, 0]);
        assertEquals(first.closedAt, new Date(AFTER).toISOString());
        assertEquals(first.statements.map((s) => s.statement.merchantId), ["m-a", "m-b"]);
        for (const s of first.statements) {
          assertEquals(s.closed, true);
          assertEquals(s.sha256, await sha256Hex(s.canonical));
        }
        const stored = await storedStatements(db, DAY);
        assertEquals(stored, first.statements);
        assertEquals((await closedDay(db, DAY))?.reconciled, true);
      },
    );

    await t.step("closing again returns what the first close stored, byte for byte", async () => {
      const calls: string[] = [];
      const again = await closeDay(db, DAY, {
        calendar: SEOUL,
        reconcile: (d) => (calls.push(d), report(d)()),
        now: () => AFTER + 86_400_000,
      });
      const first = await storedStatements(db, DAY);
      assertEquals(again.alreadyClosed, true);
      assertEquals(again.closedAt, new Date(AFTER).toISOString());
      assertEquals(
        again.statements.map((s) => [s.canonical, s.sha256]),
        first.map((s) => [s.canonical, s.sha256]),
      );
      assertEquals(again.reconciliation, await report(DAY)());
      assertEquals(calls, [], "a closed day is not reconciled again");
    });

    await t.step(
      "the database refuses to update, delete or truncate frozen statements",
      async () => {
        await assertRejects(
          () => db.query("UPDATE settlement_statements SET content = 'x' WHERE day = $1", [DAY]),
          Error,
          "immutable",
        );
        await assertRejects(
          () => db.query("DELETE FROM settlement_statements WHERE day = $1", [DAY]),
          Error,
          "immutable",
        );
        await assertRejects(() => db.query("TRUNCATE settlement_statements"), Error, "immutable");
        assertEquals((await storedStatements(db, DAY)).length, 2);
      },
    );

    await t.step(
      "a late event of the closed day leaves its statements alone and adjusts the next day",
      async () => {
        const before = await storedStatements(db, DAY);
        await apply(db, [rec(8, "a1", "PAYMENT_CAPTURED", 400, "2026-12-03T07:00:00Z")]);
        assertEquals(await storedStatements(db, DAY), before);
        assertEquals(
          (await statementsOf(db, DAY)).map((r) => r.sha256),
          before.map((r) => r.sha256),
        );
        const [next] = await statementsOf(db, "2026-12-04");
        assertEquals(next?.closed, false);
        assertEquals(next?.statement.adjustments.map((a) => [a.originalDay, a.amount]), [[
          DAY,
          "400",
        ]]);
        assertEquals(next?.statement.netPayable, "400");
      },
    );

    await t.step("a day that has not ended cannot close", async () => {
      await seedDay(db);
      let reconciled = false;
      const end = dayBounds(DAY, SEOUL).end;
      await assertRejects(
        () =>
          closeDay(db, DAY, {
            calendar: SEOUL,
            reconcile: () => ((reconciled = true), report(DAY)()),
            now: () => end - 1,
          }),
        DayNotOverError,
        "2026-12-03T15:00:00.000Z",
      );
      assertEquals(reconciled, false);
      assertEquals(await closedDay(db, DAY), null);
      // The first instant after the day closes it.
      const r = await closeDay(db, DAY, {
        calendar: SEOUL,
        reconcile: report(DAY),
        now: () => end,
      });
      assertEquals(r.alreadyClosed, false);
    });

    await t.step(
      "a close with differences still freezes the statements, reconciled false",
      async () => {
        await seedDay(db);
        const diff = {
          eventId: "00000000-0000-4000-8000-000000000099",
          merchantId: "m-a",
          currency: "EUR",
          type: "PAYMENT_CAPTURED",
          outbox: "5",
          topic: "5",
          ledger: null,
        };
        const r = await closeDay(db, DAY, {
          calendar: SEOUL,
          reconcile: report(DAY, [diff]),
          now: () => AFTER,
        });
        assertEquals([r.reconciled, r.differences, r.statements.length], [false, 1, 2]);
        const stored = await closedDay(db, DAY);
        assertEquals([stored?.reconciled, stored?.differences], [false, 1]);
        assertEquals(stored?.reconciliation.differences, [diff]);
        assertNotEquals((await storedStatements(db, DAY))[0]?.sha256, undefined);
      },
    );

    await t.step("exceptionsOf lists the day's exceptions, oldest first", async () => {
      const ex = await exceptionsOf(db, DAY);
      assertEquals(ex.map((e) => [e.rule, e.eventId, e.partition, e.offset]), [
        ["after_terminal", "00000000-0000-4000-8000-000000000007", 0, "6"],
      ]);
      assertEquals(ex[0]?.amount, "1");
      assertEquals(await exceptionsOf(db, "2026-12-04"), []);
    });
  } finally {
    await db.close();
  }
});
