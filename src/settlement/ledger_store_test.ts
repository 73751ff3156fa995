import { assertEquals, assertStringIncludes } from "@std/assert";
import fc from "fast-check";
import type { Db } from "../outbox/db.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { businessDayOf } from "./business_day.ts";
import { applyBatch, type ApplyOptions, expireHeld, type RawRecord } from "./ledger_store.ts";
import { migrateSettlement } from "./migrations.ts";
import type { SettlementEventType } from "./settlement_event.ts";
import { canonicalJson, computeStatements } from "./statements.ts";

const SEOUL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const T0 = Date.parse("2026-12-03T01:00:00Z"); // 10:00 in Seoul, business day 2026-12-03
const DAY = "2026-12-03";
const opts = (now = T0): ApplyOptions => ({ topic: "payments", calendar: SEOUL, now: () => now });

interface Ev {
  id: number;
  pay: string;
  type: SettlementEventType;
  amount: bigint;
  at?: number;
  merchant?: string;
  currency?: string;
}

const eventId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function value(e: Ev): string {
  const json = JSON.stringify({
    eventId: eventId(e.id),
    paymentId: e.pay,
    merchantId: e.merchant ?? "m-a",
    type: e.type,
    currency: e.currency ?? "EUR",
    occurredAt: new Date(e.at ?? T0).toISOString(),
  });
  return `${json.slice(0, -1)},"amount":${e.amount}}`; // digits verbatim: past 2^53 too
}

function rec(offset: number, e: Ev | string, partition = 0): RawRecord {
  return {
    partition,
    offset: String(offset),
    value: typeof e === "string" ? e : value(e),
    headers: {},
    timestamp: T0,
  };
}

const apply = (db: Db, records: RawRecord[], o = opts(), partition = 0) =>
  db.transaction((tx) => applyBatch(tx, partition, records, o));

const TABLES = "settlement_offsets, settlement_payments, settlement_events, " +
  "settlement_exceptions, settlement_fees, settlement_days, settlement_statements";
async function reset(db: Db, feeOfMb?: number) {
  // Test resets only: replica mode skips the triggers that keep statements immutable.
  await db.query(
    `SET session_replication_role = replica; TRUNCATE ${TABLES}; SET session_replication_role = origin`,
  );
  if (feeOfMb !== undefined) {
    await db.query("INSERT INTO settlement_fees (merchant_id, fee_bps) VALUES ('m-b', $1)", [
      feeOfMb,
    ]);
  }
}

/** Everything a batch writes, as text. */
const snapshot = (db: Db) =>
  db.query(`SELECT (SELECT json_agg(e ORDER BY event_id) FROM settlement_events e)::text AS e,
                   (SELECT json_agg(p ORDER BY payment_id) FROM settlement_payments p)::text AS p,
                   (SELECT count(*) FROM settlement_exceptions)::text AS x`);

const make =
  (type: SettlementEventType) => (id: number, pay: string, amount: bigint, at?: number) =>
    ({ id, pay, type, amount, at }) as Ev;
const AUTH = make("PAYMENT_AUTHORIZED");
const CAPTURE = make("PAYMENT_CAPTURED");

Deno.test("applyBatch on PGlite: offsets, duplicates, exceptions, held and late events, any delivery order", async (t) => {
  const db = await createPgliteDb(null);
  try {
    await migrateSettlement(db);

    await t.step(
      "same id and content: a duplicate; same id, other content: event_id_reused",
      async () => {
        await reset(db);
        const r1 = await apply(db, [
          rec(0, AUTH(1, "p1", 500n)),
          rec(1, CAPTURE(2, "p1", 200n)),
          rec(2, AUTH(1, "p1", 500n)),
        ]);
        assertEquals([r1.applied, r1.duplicates, r1.exceptions], [2, 1, []]);
        const r2 = await apply(db, [rec(3, AUTH(1, "p1", 999n)), rec(4, CAPTURE(2, "p1", 200n))]);
        assertEquals([r2.applied, r2.duplicates, r2.exceptions], [0, 1, ["event_id_reused"]]);
        const [row] = await db.query<{ amount: string }>(
          "SELECT amount::text FROM settlement_events WHERE event_id = $1",
          [eventId(1)],
        );
        assertEquals(row?.amount, "500", "the first event stands");
        const ex = await db.query<{ rule: string; amount: string; topic_offset: string }>(
          "SELECT rule, amount, topic_offset::text FROM settlement_exceptions",
        );
        assertEquals(ex, [{ rule: "event_id_reused", amount: "999", topic_offset: "3" }]);
      },
    );

    await t.step(
      "a batch delivered twice applies once: the second is skipped whole",
      async () => {
        await reset(db);
        const batch = [rec(0, AUTH(1, "p1", 500n)), rec(1, CAPTURE(2, "p1", 200n)), rec(2, "{")];
        const first = await apply(db, batch);
        assertEquals([first.applied, first.skipped, first.nextOffset], [2, 0, 3n]);
        const before = await snapshot(db);
        const again = await apply(db, batch);
        assertEquals([again.skipped, again.applied, again.duplicates], [3, 0, 0]);
        assertEquals([again.exceptions, again.nextOffset], [[], 3n]);
        assertEquals(await snapshot(db), before);
        // A batch straddling the stored offset applies only its new records.
        const straddle = await apply(db, [batch[2]!, rec(3, CAPTURE(3, "p1", 100n))]);
        assertEquals([straddle.skipped, straddle.applied, straddle.nextOffset], [1, 1, 4n]);
      },
    );

    await t.step("an unparseable record is an exception; 2^63-1 is stored exactly", async () => {
      await reset(db);
      const max = AUTH(1, "p1", 9_223_372_036_854_775_807n);
      const r = await apply(db, [rec(7, "not json", 3), rec(8, max, 3)], opts(), 3);
      assertEquals([r.applied, r.exceptions, r.nextOffset], [1, ["unparseable"], 9n]);
      const [ex, ...more] = await db.query<Record<string, unknown>>(
        `SELECT rule, reason, topic_partition, topic_offset::text, business_day::text
           FROM settlement_exceptions`,
      );
      assertEquals(more, []);
      assertEquals([ex!.topic_partition, ex!.topic_offset, ex!.business_day], [3, "7", DAY]);
      assertStringIncludes(String(ex!.reason), "not a JSON object");
      const [row] = await db.query<{ amount: string; authorized: string }>(
        `SELECT e.amount::text, p.authorized::text FROM settlement_events e
           JOIN settlement_payments p USING (payment_id)`,
      );
      assertEquals(row, { amount: "9223372036854775807", authorized: "9223372036854775807" });
    });

    await t.step("a capture held for its authorization is released by a later batch", async () => {
      await reset(db);
      const first = await apply(db, [rec(0, CAPTURE(2, "p1", 300n))]);
      assertEquals([first.applied, first.held, first.released], [0, 1, 0]);
      const second = await apply(db, [rec(1, AUTH(1, "p1", 300n))], opts(T0 + 60_000));
      assertEquals([second.applied, second.held, second.released], [2, 0, 1]);
      assertEquals(second.appliedByType.get("PAYMENT_CAPTURED"), 1);
      const rows = await db.query<{ d: string; day: string }>(
        "SELECT disposition AS d, posted_day::text AS day FROM settlement_events",
      );
      assertEquals(rows.map((x) => `${x.d} ${x.day}`), [`APPLIED ${DAY}`, `APPLIED ${DAY}`]);
      const [bal] = await db.query<{ d: string; c: string }>(
        "SELECT sum(debit)::text AS d, sum(credit)::text AS c FROM settlement_journal",
      );
      assertEquals(bal?.d, bal?.c);
    });

    await t.step(
      "expireHeld turns an old held event into an exception under its rule",
      async () => {
        await reset(db);
        await apply(db, [rec(0, CAPTURE(2, "p1", 300n)), rec(1, CAPTURE(3, "p2", 5n))], opts(T0));
        await apply(
          db,
          [rec(2, { id: 4, pay: "p3", type: "PAYMENT_REFUNDED", amount: 5n })],
          opts(T0 + 10_000),
        );
        const expired = await db.transaction((tx) => expireHeld(tx, 5_000, T0 + 6_000));
        assertEquals(expired.sort(), ["missing_authorization", "missing_authorization"]);
        const ex = await db.query<{ rule: string; reason: string; event_id: string }>(
          "SELECT rule, reason, event_id FROM settlement_exceptions ORDER BY event_id",
        );
        assertEquals(ex.map((e) => e.event_id), [eventId(2), eventId(3)]);
        assertStringIncludes(ex[0]!.reason, "held 5 s");
        const left = await db.query<{ event_id: string; disposition: string }>(
          "SELECT event_id, disposition FROM settlement_events ORDER BY event_id",
        );
        assertEquals(left.map((r) => r.disposition), ["EXCEPTION", "EXCEPTION", "HELD"]);
        // An authorization now arriving no longer applies the expired capture.
        const late = await apply(db, [rec(3, AUTH(1, "p1", 300n))], opts(T0 + 7_000));
        assertEquals([late.applied, late.released], [1, 0]);
      },
    );

    await t.step(
      "a closed day's late event is posted to the next day as an adjustment",
      async () => {
        await reset(db);
        await db.query("INSERT INTO settlement_fees (merchant_id, fee_bps) VALUES ('m-a', 1000)");
        await db.query(
          `INSERT INTO settlement_days (day, closed_at, reconciled, differences, reconciliation)
         VALUES ('2026-12-03', now(), true, 0, '{}')`,
        );
        const late = T0; // business day 2026-12-03, already closed
        const r = await apply(db, [
          rec(0, AUTH(1, "p1", 1000n, late)),
          rec(1, CAPTURE(2, "p1", 15n, late)),
        ]);
        assertEquals(r.applied, 2);
        const rows = await db.query<{ business_day: string; posted_day: string; fee: string }>(
          "SELECT business_day::text, posted_day::text, fee::text FROM settlement_events ORDER BY event_id",
        );
        assertEquals(rows.map((x) => x.posted_day), ["2026-12-04", "2026-12-04"]);
        assertEquals(rows.map((x) => x.business_day), ["2026-12-03", "2026-12-03"]);
        assertEquals(await computeStatements(db, "2026-12-03"), []);
        const [s] = await computeStatements(db, "2026-12-04");
        assertEquals(
          s?.adjustments.map((a) => [a.eventId, a.originalDay, a.type, a.amount, a.fee]),
          [
            [eventId(1), "2026-12-03", "PAYMENT_AUTHORIZED", "1000", "0"],
            [eventId(2), "2026-12-03", "PAYMENT_CAPTURED", "15", "2"],
          ],
        );
        assertEquals([s?.adjustmentsNet, s?.netPayable, s?.fees], ["13", "13", "2"]);
        assertEquals([s?.captured.count, s?.authorized.count], [0, 0], "not the day's own events");
      },
    );

    await t.step(
      "property: any order, batching and duplicates give the same statements",
      async () => {
        const statementsOf = async (days: string[]) =>
          (await Promise.all(days.map((d) => computeStatements(db, d)))).flat().map(canonicalJson);
        await fc.assert(
          fc.asyncProperty(
            fc.array(payArb, { minLength: 1, maxLength: 5 }),
            fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
            fc.integer({ min: 1, max: 6 }),
            async (pays, keys, batchSize) => {
              const canonical = pays.flatMap(events);
              const days = [...new Set(canonical.map((e) => businessDayOf(e.at!, SEOUL)))].sort();
              await reset(db, 333);
              await apply(db, canonical.map((e, i) => rec(i, e)));
              const want = await statementsOf(days);
              await reset(db, 333);
              // Shuffled (a cancellation stays its payment's last), each record copied when its key is odd.
              const shuffled = cancellationsLast(
                canonical.map((e, i) => ({ e, k: keys[i % keys.length]! }))
                  .sort((x, y) => x.k - y.k || x.e.id - y.e.id),
              );
              const stream = shuffled.flatMap(({ e, k }) => (k % 2 === 1 ? [e, e] : [e]));
              for (let i = 0; i < stream.length; i += batchSize) {
                await apply(db, stream.slice(i, i + batchSize).map((e, j) => rec(i + j, e)));
              }
              assertEquals(await statementsOf(days), want);
              // Nothing held, and every copy counted a duplicate (not event_id_reused).
              const odd = await db.query(
                `SELECT event_id FROM settlement_events WHERE disposition <> 'APPLIED'
                 UNION ALL SELECT rule FROM settlement_exceptions`,
              );
              assertEquals(odd, []);
            },
          ),
          { numRuns: 15 },
        );
      },
    );
  } finally {
    await db.close();
  }
});

// ---- The property's valid event sets. ----

interface Pay {
  merchant: string;
  currency: string;
  auth: bigint;
  captures: number[];
  refund: number;
  terminal: boolean;
  times: number[];
}

const payArb: fc.Arbitrary<Pay> = fc.record({
  merchant: fc.constantFrom("m-a", "m-b"),
  currency: fc.constantFrom("KRW", "EUR", "BHD"),
  auth: fc.bigInt({ min: 1n, max: 10n ** 12n }),
  captures: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 2 }),
  refund: fc.integer({ min: 0, max: 100 }),
  terminal: fc.boolean(),
  times: fc.array(fc.integer({ min: 0, max: 2 * 86_400_000 }), { minLength: 6, maxLength: 6 }),
});

function events(p: Pay, i: number): Ev[] {
  const out: Ev[] = [];
  const add = (type: SettlementEventType, amount: bigint) =>
    out.push({
      id: i * 10 + out.length,
      pay: `p${i}`,
      type,
      amount,
      merchant: p.merchant,
      currency: p.currency,
      at: T0 + p.times[out.length]!,
    });
  add("PAYMENT_AUTHORIZED", p.auth);
  let captured = 0n;
  for (const pct of p.captures) {
    const a = (p.auth - captured) * BigInt(pct) / 100n;
    if (a > 0n) add("PAYMENT_CAPTURED", a), captured += a;
  }
  const refund = captured * BigInt(p.refund) / 100n;
  if (refund > 0n) add("PAYMENT_REFUNDED", refund);
  if (p.terminal) add("PAYMENT_CANCELLED", p.auth);
  return out;
}

/** Moves each cancellation right after the last other event of its payment. */
function cancellationsLast<T extends { e: Ev }>(order: T[]): T[] {
  const out = order.filter((x) => x.e.type !== "PAYMENT_CANCELLED");
  for (const c of order.filter((x) => x.e.type === "PAYMENT_CANCELLED")) {
    out.splice(out.findLastIndex((x) => x.e.pay === c.e.pay) + 1, 0, c);
  }
  return out;
}
