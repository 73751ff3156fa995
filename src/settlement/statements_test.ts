import { assertEquals } from "@std/assert";
import type { Db } from "../outbox/db.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { applyBatch, type RawRecord } from "./ledger_store.ts";
import { migrateSettlement } from "./migrations.ts";
import {
  canonicalJson,
  computeStatements,
  csvCell,
  sha256Hex,
  type Statement,
  statementsCsv,
  statementsOf,
} from "./statements.ts";

const SEOUL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const DAY = "2026-12-03";
const AT = "2026-12-03T01:00:00Z"; // 10:00 in Seoul
const MAX = "9223372036854775807";

let n = 0;
/** A record of one event; `amount` is written as digits, so it can pass 2^53. */
function rec(pay: string, merchant: string, currency: string, type: string, amount: string) {
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
  const json = JSON.stringify({
    eventId: id,
    paymentId: pay,
    merchantId: merchant,
    type,
    currency,
    occurredAt: AT,
  });
  return {
    partition: 0,
    offset: String(n),
    value: `${json.slice(0, -1)},"amount":${amount}}`,
    headers: {},
    timestamp: Date.parse(AT),
  } satisfies RawRecord;
}

async function seed(db: Db) {
  await migrateSettlement(db);
  await db.query("INSERT INTO settlement_fees (merchant_id, fee_bps) VALUES ('m-a', 250)");
  const records = [
    rec("p1", "m-a", "EUR", "PAYMENT_CREATED", "1000"),
    rec("p1", "m-a", "EUR", "PAYMENT_AUTHORIZED", "1000"),
    rec("p1", "m-a", "EUR", "PAYMENT_CAPTURED", "1000"), // fee 25
    rec("p1", "m-a", "EUR", "PAYMENT_REFUNDED", "100"),
    rec("p1", "m-a", "EUR", "PAYMENT_CHARGEBACK", "50"),
    rec("p1", "m-a", "EUR", "PAYMENT_SETTLED", "1000"),
    rec("p2", "m-a", "KRW", "PAYMENT_AUTHORIZED", "50000"),
    rec("p2", "m-a", "KRW", "PAYMENT_CAPTURED", "30000"), // fee 750
    rec("p2", "m-a", "KRW", "PAYMENT_CANCELLED", "50000"),
    // Sums past 2^63: two payments authorised and captured at the bigint limit.
    rec("p3", "m-b", "BHD", "PAYMENT_AUTHORIZED", MAX),
    rec("p3", "m-b", "BHD", "PAYMENT_CAPTURED", MAX),
    rec("p4", "m-b", "BHD", "PAYMENT_AUTHORIZED", MAX),
    rec("p4", "m-b", "BHD", "PAYMENT_CAPTURED", MAX),
  ];
  await db.transaction((tx) =>
    applyBatch(tx, 0, records, { topic: "t", calendar: SEOUL, now: () => Date.parse(AT) })
  );
}

Deno.test("statements on PGlite: totals, journal, canonical text and CSV of a day", async (t) => {
  const db = await createPgliteDb(null);
  try {
    await seed(db);

    await t.step("computeStatements: one statement per merchant and currency, exact", async () => {
      const all = await computeStatements(db, DAY);
      assertEquals(all.map((s) => `${s.merchantId}/${s.currency}/${s.minorDigits}`), [
        "m-a/EUR/2",
        "m-a/KRW/0",
        "m-b/BHD/3",
      ]);
      const eur: Statement = {
        day: DAY,
        merchantId: "m-a",
        currency: "EUR",
        minorDigits: 2,
        authorized: { count: 1, amount: "1000" },
        captured: { count: 1, amount: "1000" },
        refunded: { count: 1, amount: "100" },
        chargedBack: { count: 1, amount: "50" },
        fees: "25",
        adjustments: [],
        adjustmentsNet: "0",
        netPayable: "825", // 1000 - 25 - 100 - 50
        journal: [
          { account: "authorizations_contra", debit: "1000", credit: "1000" },
          { account: "authorizations_open", debit: "1000", credit: "1000" },
          { account: "cash_at_bank", debit: "1000", credit: "0" },
          { account: "fee_revenue", debit: "0", credit: "25" },
          { account: "merchant_payable", debit: "150", credit: "975" },
          { account: "scheme_receivable", debit: "1000", credit: "1150" },
        ],
      };
      assertEquals(all[0], eur);
      const krw = all[1]!;
      assertEquals([krw.captured.amount, krw.fees, krw.netPayable], ["30000", "750", "29250"]);
      // The cancellation releases the 20000 authorised but never captured.
      assertEquals(krw.journal.find((j) => j.account === "authorizations_open"), {
        account: "authorizations_open",
        debit: "50000",
        credit: "50000",
      });
      const bhd = all[2]!;
      assertEquals(bhd.authorized, { count: 2, amount: "18446744073709551614" });
      assertEquals(bhd.netPayable, "18446744073709551614");
    });

    await t.step(
      "computeStatements: one merchant's, and nothing for a day without events",
      async () => {
        assertEquals((await computeStatements(db, DAY, "m-b")).map((s) => s.currency), ["BHD"]);
        assertEquals(await computeStatements(db, "2026-12-04"), []);
        assertEquals(await computeStatements(db, DAY, "m-z"), []);
      },
    );

    await t.step("every statement's journal balances", async () => {
      for (const s of await computeStatements(db, DAY)) {
        const d = s.journal.reduce((a, j) => a + BigInt(j.debit), 0n);
        const c = s.journal.reduce((a, j) => a + BigInt(j.credit), 0n);
        assertEquals(d, c, `${s.merchantId}/${s.currency}`);
      }
    });

    await t.step(
      "canonicalJson: the interface's key order whatever the object's own order",
      async () => {
        const [s] = await computeStatements(db, DAY);
        const reordered = Object.fromEntries(Object.entries(s!).reverse()) as unknown as Statement;
        assertEquals(canonicalJson(reordered), canonicalJson(s!));
        assertEquals(JSON.parse(canonicalJson(s!)), s);
        assertEquals(Object.keys(JSON.parse(canonicalJson(reordered))).slice(0, 4), [
          "day",
          "merchantId",
          "currency",
          "minorDigits",
        ]);
      },
    );

    await t.step("statementsOf: an open day's statements are provisional (no hash)", async () => {
      const records = await statementsOf(db, DAY);
      assertEquals(records.length, 3);
      for (const r of records) {
        assertEquals([r.closed, r.sha256], [false, null]);
        assertEquals(r.canonical, canonicalJson(r.statement));
      }
      assertEquals((await statementsOf(db, DAY, "m-b")).length, 1);
    });

    await t.step("statementsCsv: a header row and one row per statement", async () => {
      const records = await statementsOf(db, DAY);
      const csv = statementsCsv(records);
      const rows = csv.split("\r\n");
      assertEquals(rows.at(-1), "", "ends with a line break");
      assertEquals(rows.length - 1, 1 + records.length);
      const head = rows[0]!.split(",");
      assertEquals(head[0], "day");
      assertEquals(head.at(-1), "sha256");
      const eur = Object.fromEntries(head.map((h, i) => [h, rows[1]!.split(",")[i]]));
      assertEquals(eur.merchant_id, "m-a");
      assertEquals(eur.captured_amount, "1000");
      assertEquals(eur.net_payable, "825");
      assertEquals(eur.closed, "false");
      assertEquals(eur.sha256, "");
      assertEquals(rows.slice(1, -1).every((r) => r.split(",").length === head.length), true);
      assertEquals(statementsCsv([]), `${rows[0]}\r\n`);
    });
  } finally {
    await db.close();
  }
});

Deno.test("sha256Hex: lower-case hex of the UTF-8 text", async () => {
  assertEquals(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    await sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(
    await sha256Hex("é"), // UTF-8 c3 a9, not Latin-1 e9
    "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c",
  );
});

Deno.test("csvCell: quotes commas, quotes and line breaks, nothing else", () => {
  assertEquals(csvCell("plain"), "plain");
  assertEquals(csvCell("a,b"), '"a,b"');
  assertEquals(csvCell('say "hi"'), '"say ""hi"""');
  assertEquals(csvCell("two\nlines"), '"two\nlines"');
  assertEquals(csvCell("cr\r"), '"cr\r"');
});
