import { assertEquals } from "@std/assert";
import type { TopicRecord } from "../kafka/topic_reader.ts";
import type { Db } from "../outbox/db.ts";
import { migrate } from "../outbox/migrations.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { applyBatch } from "./ledger_store.ts";
import { migrateSettlement } from "./migrations.ts";
import { reconcileDay, type TopicScan } from "./three_way.ts";

const SEOUL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const DAY = "2026-12-03";
const TOPIC = "payment-events";

interface Ev {
  n: number;
  pay: string;
  type: string;
  amount: number;
  at?: string;
}

const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const payload = (e: Ev) => ({
  eventId: idOf(e.n),
  paymentId: e.pay,
  merchantId: "m-a",
  type: e.type,
  amount: e.amount,
  currency: "EUR",
  occurredAt: e.at ?? "2026-12-03T02:00:00Z",
});

/** A topic of `events` at offsets 0.. of partition 0, read by a fake scan. */
function topicOf(events: Ev[]): { records: TopicRecord[]; scan: TopicScan } {
  const records = events.map((e, i) => ({
    eventId: idOf(e.n),
    key: e.pay,
    partition: 0,
    offset: String(i),
    timestamp: Date.parse(payload(e).occurredAt),
    value: JSON.stringify(payload(e)),
  }));
  return {
    records,
    scan: (_from, onRecord) => Promise.resolve(records.forEach(onRecord)),
  };
}

async function seed(db: Db, outbox: Ev[], topic: TopicRecord[], ledgerUpTo = topic.length) {
  await db.query("TRUNCATE outbox, settlement_offsets, settlement_events, settlement_payments");
  for (const e of outbox) {
    await db.query(
      `INSERT INTO outbox (id, aggregateid, type, payload, status)
       VALUES ($1, $2, $3, $4::jsonb, 'PUBLISHED')`,
      [idOf(e.n), e.pay, e.type, JSON.stringify(payload(e))],
    );
  }
  const records = topic.slice(0, ledgerUpTo).map((r) => ({
    partition: r.partition,
    offset: r.offset,
    value: r.value ?? null,
    headers: { eventId: r.eventId },
    timestamp: r.timestamp,
  }));
  await db.transaction((tx) => applyBatch(tx, 0, records, { topic: TOPIC, calendar: SEOUL }));
}

const EVENTS: Ev[] = [
  { n: 1, pay: "p1", type: "PAYMENT_AUTHORIZED", amount: 1000 },
  { n: 2, pay: "p1", type: "PAYMENT_CAPTURED", amount: 700 },
  { n: 3, pay: "p2", type: "PAYMENT_AUTHORIZED", amount: 50 },
  // Another day (2026-12-04 in Seoul): not part of the reconciliation of DAY.
  { n: 4, pay: "p3", type: "PAYMENT_AUTHORIZED", amount: 9, at: "2026-12-03T15:00:00Z" },
];

Deno.test("reconcileDay on PGlite: outbox, topic and ledger compared per group and event", async (t) => {
  const db = await createPgliteDb(null);
  try {
    await migrate(db);
    await migrateSettlement(db);
    const deps = (scan: TopicScan) => ({
      db,
      calendar: SEOUL,
      topic: TOPIC,
      scanTopic: scan,
      catchUpMs: 0,
      now: () => Date.parse("2026-12-04T00:00:00Z"),
    });

    await t.step(
      "the same events in all three sources reconcile clean, duplicates noted",
      async () => {
        const { records, scan } = topicOf([...EVENTS, EVENTS[1]!]); // a republished copy
        await seed(db, EVENTS, records);
        const r = await reconcileDay(deps(scan), DAY);
        assertEquals([r.clean, r.differenceCount, r.caughtUp, r.outboxAvailable], [
          true,
          0,
          true,
          true,
        ]);
        assertEquals([r.topicDuplicates, r.held, r.checkedAt], [1, 0, "2026-12-04T00:00:00.000Z"]);
        const tally = { count: 1, amount: "700" };
        assertEquals(r.groups.find((g) => g.type === "PAYMENT_CAPTURED"), {
          merchantId: "m-a",
          currency: "EUR",
          type: "PAYMENT_CAPTURED",
          outbox: tally,
          topic: tally,
          ledger: tally,
        });
        assertEquals(r.groups.find((g) => g.type === "PAYMENT_AUTHORIZED")?.ledger, {
          count: 2,
          amount: "1050",
        });
      },
    );

    await t.step(
      "an event missing from the topic and the ledger is a difference naming it",
      async () => {
        const { records, scan } = topicOf(EVENTS.filter((e) => e.n !== 3));
        await seed(db, EVENTS, records);
        const r = await reconcileDay(deps(scan), DAY);
        assertEquals([r.clean, r.differenceCount], [false, 1]);
        assertEquals(r.differences, [{
          eventId: idOf(3),
          merchantId: "m-a",
          currency: "EUR",
          type: "PAYMENT_AUTHORIZED",
          outbox: "50",
          topic: null,
          ledger: null,
        }]);
      },
    );

    await t.step(
      "a ledger behind the topic is reported not caught up, without waiting",
      async () => {
        const { records, scan } = topicOf(EVENTS);
        await seed(db, EVENTS, records, 2);
        const r = await reconcileDay(deps(scan), DAY);
        assertEquals([r.caughtUp, r.clean], [false, false]);
        assertEquals(r.differences.map((d) => [d.eventId, d.ledger]), [[idOf(3), null]]);
      },
    );

    await t.step("a held event is a difference with a note", async () => {
      const held = [{ n: 5, pay: "p9", type: "PAYMENT_CAPTURED", amount: 3 }];
      const { records, scan } = topicOf(held);
      await seed(db, held, records);
      const r = await reconcileDay(deps(scan), DAY);
      assertEquals(r.held, 1);
      assertEquals(r.differences.map((d) => [d.eventId, d.ledger, typeof d.note]), [
        [idOf(5), null, "string"],
      ]);
    });

    await t.step("without an outbox table the topic stands in for it", async () => {
      const { records, scan } = topicOf(EVENTS);
      await seed(db, [], records);
      await db.query("DROP TABLE outbox");
      const r = await reconcileDay(deps(scan), DAY);
      assertEquals([r.outboxAvailable, r.clean, r.differenceCount], [false, true, 0]);
    });
  } finally {
    await db.close();
  }
});
