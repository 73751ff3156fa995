import { assertEquals, assertStringIncludes } from "@std/assert";
import type { Db } from "../outbox/db.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { silentLogger } from "../log.ts";
import { dayBounds } from "./business_day.ts";
import { closeDay } from "./close.ts";
import { applyBatch, type RawRecord } from "./ledger_store.ts";
import { migrateSettlement } from "./migrations.ts";
import { createSettlementApp } from "./settlement_app.ts";
import type { ReconciliationReport } from "./three_way.ts";

const SEOUL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const DAY = "2026-12-03";
const TOKEN = "a-long-enough-admin-token";
const NOW = dayBounds(DAY, SEOUL).end + 3_600_000;

function rec(offset: number, type: string, amount: number, paymentId = "p1"): RawRecord {
  return {
    partition: 0,
    offset: String(offset),
    value: JSON.stringify({
      eventId: `00000000-0000-4000-8000-${String(offset + 1).padStart(12, "0")}`,
      paymentId,
      merchantId: "m-a",
      type,
      amount,
      currency: "KRW",
      occurredAt: "2026-12-03T03:00:00Z",
    }),
    headers: {},
    timestamp: Date.parse("2026-12-03T03:00:00Z"),
  };
}

const report = (day: string): Promise<ReconciliationReport> =>
  Promise.resolve({
    day,
    checkedAt: new Date(NOW).toISOString(),
    clean: true,
    differenceCount: 0,
    differences: [],
    groups: [],
    topicDuplicates: 0,
    held: 0,
    caughtUp: true,
    outboxAvailable: true,
  });

function appFor(db: Db, adminToken: string | null) {
  return createSettlementApp({
    db,
    calendar: SEOUL,
    adminToken,
    logger: silentLogger,
    close: (day) => closeDay(db, day, { calendar: SEOUL, reconcile: report, now: () => NOW }),
    reconcile: report,
    metrics: { render: () => Promise.resolve("settlement_up 1\n") },
    status: () => ({ connected: true, assigned: [0] }),
    now: () => NOW,
  });
}

const closeRequest = (auth?: string) =>
  new Request("http://settlement/settlements/close", {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify({ day: DAY }),
  });

Deno.test("settlement app over PGlite: statements, CSV, exceptions and closing a day", async (t) => {
  const db = await createPgliteDb(null);
  try {
    await migrateSettlement(db);
    await db.transaction((tx) =>
      applyBatch(tx, 0, [
        rec(0, "PAYMENT_AUTHORIZED", 5000),
        rec(1, "PAYMENT_CAPTURED", 4000),
        rec(2, "PAYMENT_CANCELLED", 5000),
        rec(3, "PAYMENT_REFUNDED", 10), // after the cancellation: an exception
      ], { topic: "t", calendar: SEOUL, now: () => NOW })
    );
    const app = appFor(db, TOKEN);

    await t.step("GET /settlements with a bad day is a 400 problem naming day", async () => {
      for (const q of ["?day=bad", "?day=2026-02-30", ""]) {
        const res = await app.request(`/settlements${q}`);
        assertEquals(res.status, 400, q);
        assertEquals(res.headers.get("content-type"), "application/problem+json");
        const body = await res.json();
        assertStringIncludes(body.detail, "day");
        assertEquals(body.errors[0].field, "day");
      }
    });

    await t.step(
      "GET /settlements with an unknown parameter or currency is a 400 naming it",
      async () => {
        const typo = await app.request(`/settlements?day=${DAY}&merchant=m-a`);
        assertEquals(typo.status, 400);
        assertEquals((await typo.json()).errors, [
          {
            field: "merchant",
            message: "unknown parameter; this route takes day, merchantId, currency",
          },
        ]);
        const currency = await app.request(`/settlements?day=${DAY}&currency=euro`);
        assertEquals(currency.status, 400);
        assertEquals((await currency.json()).errors[0].field, "currency");
      },
    );

    await t.step(
      "GET /settlements?day=D answers the day's provisional statements as JSON",
      async () => {
        const res = await app.request(`/settlements?day=${DAY}`);
        assertEquals(res.status, 200);
        const body = await res.json();
        assertEquals([body.day, body.closed, body.closedAt], [DAY, false, null]);
        assertEquals(body.statements.length, 1);
        const [s] = body.statements;
        assertEquals([s.merchantId, s.currency, s.minorDigits, s.sha256], ["m-a", "KRW", 0, null]);
        assertEquals([s.authorized.amount, s.captured.amount, s.netPayable], [
          "5000",
          "4000",
          "4000",
        ]);
        const none = await app.request(`/settlements?day=${DAY}&merchantId=m-z`);
        assertEquals(none.status, 404);
      },
    );

    await t.step("Accept: text/csv answers CSV", async () => {
      const res = await app.request(`/settlements?day=${DAY}`, { headers: { accept: "text/csv" } });
      assertEquals(res.status, 200);
      assertStringIncludes(res.headers.get("content-type") ?? "", "text/csv");
      assertStringIncludes(res.headers.get("content-disposition") ?? "", `settlement-${DAY}.csv`);
      const lines = (await res.text()).trimEnd().split("\r\n");
      assertEquals(lines.length, 2);
      assertEquals(lines[0]!.startsWith("day,merchant_id,currency"), true);
      assertEquals(lines[1]!.startsWith(`${DAY},m-a,KRW,0,1,5000,1,4000`), true);
    });

    await t.step("GET /settlements/exceptions lists the day's exception", async () => {
      const res = await app.request(`/settlements/exceptions?day=${DAY}`);
      assertEquals(res.status, 200);
      const body = await res.json();
      assertEquals(body.day, DAY);
      assertEquals(body.exceptions.map((e: { rule: string; type: string }) => [e.rule, e.type]), [
        ["after_terminal", "PAYMENT_REFUNDED"],
      ]);
      assertEquals((await app.request("/settlements/exceptions?day=nope")).status, 400);
    });

    await t.step(
      "POST /settlements/close without a token is 401, with a wrong one 403",
      async () => {
        const res = await app.request(closeRequest());
        assertEquals(res.status, 401);
        assertStringIncludes(res.headers.get("www-authenticate") ?? "", "Bearer");
        assertEquals((await app.request(closeRequest("Bearer not-the-token"))).status, 403);
        assertEquals(
          (await (await app.request(`/settlements?day=${DAY}`)).json()).closed,
          false,
        );
      },
    );

    await t.step("POST /settlements/close when admin is disabled is 403", async () => {
      const res = await appFor(db, null).request(closeRequest(`Bearer ${TOKEN}`));
      assertEquals(res.status, 403);
      assertEquals(res.headers.get("content-type"), "application/problem+json");
    });

    await t.step(
      "POST /settlements/close with the token: 201, then 200 alreadyClosed",
      async () => {
        const first = await app.request(closeRequest(`Bearer ${TOKEN}`));
        assertEquals(first.status, 201);
        const a = await first.json();
        assertEquals([a.day, a.alreadyClosed, a.reconciled], [DAY, false, true]);
        assertEquals(a.statements[0].sha256.length, 64);
        const second = await app.request(closeRequest(`Bearer ${TOKEN}`));
        assertEquals(second.status, 200);
        const b = await second.json();
        assertEquals([b.alreadyClosed, b.closedAt, b.statements], [true, a.closedAt, a.statements]);
        const after = await (await app.request(`/settlements?day=${DAY}`)).json();
        assertEquals([after.closed, after.reconciled], [true, true]);
        assertEquals(after.statements[0].sha256, a.statements[0].sha256);
      },
    );

    await t.step(
      "POST /settlements/close of a day not over is 409, a malformed body 400",
      async () => {
        const today = new Request("http://settlement/settlements/close", {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ day: "2026-12-05" }),
        });
        assertEquals((await app.request(today)).status, 409);
        const bad = new Request("http://settlement/settlements/close", {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}` },
          body: "{",
        });
        assertEquals((await app.request(bad)).status, 400);
      },
    );
  } finally {
    await db.close();
  }
});
