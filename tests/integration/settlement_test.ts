/**
 * Settlement against real Kafka and Postgres: a seeded business day of mixed lifecycles (partial
 * captures, refunds, chargebacks, settlements, a capture before its authorisation, rule breakers,
 * a record published twice) goes through the service, the topic and the settlement process; the
 * closed statements equal an independent computation straight from the outbox rows, the day
 * reconciles clean, a late event becomes an adjustment of the next open day, and the CLI's
 * reconcile exits 1 once the outbox holds an event the topic does not.
 */
import { assert, assertEquals } from "@std/assert";
import { kafkaClient } from "../../src/kafka/client.ts";
import { silentLogger } from "../../src/log.ts";
import { toRecord } from "../../src/outbox/publish_rows.ts";
import { addDays, businessDayOf, dayBounds } from "../../src/settlement/business_day.ts";
import { loadSettlementConfig } from "../../src/settlement/config.ts";
import { type RunningSettlement, startSettlement } from "../../src/settlement/main.ts";
import type { Statement } from "../../src/settlement/statements.ts";
import {
  ADMIN_TOKEN,
  DATABASE_URL,
  KAFKA_BROKERS,
  postPayment,
  REAL_IO,
  startTestService,
  type TestService,
  uniqueName,
  waitFor,
} from "./helpers.ts";

const CAL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const FEES: Record<string, number> = { "m-fee": 275, "m-free": 0 };

/** Half-to-even fee, written independently of src/settlement/fees.ts (string digits). */
function expectedFee(amount: number, bps: number): bigint {
  const scaled = BigInt(amount) * BigInt(bps); // in 1/10000 minor units
  const whole = scaled / 10000n;
  const rest = Number(scaled % 10000n);
  if (rest > 5000) return whole + 1n;
  if (rest < 5000) return whole;
  return whole % 2n === 0n ? whole : whole + 1n;
}

interface Seed {
  body: Record<string, unknown>;
  /** A rule breaker: it must end in the exceptions, not in the statements. */
  breaks?: string;
}

/** One business day of events; `at(k)` is k minutes into the day. */
function seedDay(day: string): Seed[] {
  const { start } = dayBounds(day, CAL);
  const at = (k: number) => new Date(start + k * 60_000).toISOString();
  const out: Seed[] = [];
  let n = 0;
  const ev = (pay: string, merchant: string, currency: string, type: string, amount: number) => {
    const body = {
      eventId: crypto.randomUUID(),
      paymentId: pay,
      merchantId: merchant,
      type,
      amount,
      currency,
      occurredAt: at(++n),
    };
    out.push({ body });
    return out.at(-1)!;
  };
  const tag = uniqueName("p");
  for (let i = 0; i < 12; i++) {
    const merchant = i % 2 === 0 ? "m-fee" : "m-free";
    const currency = ["KRW", "EUR", "BHD"][i % 3]!;
    const p = `${tag}-${i}`;
    const amount = 10_000 + i * 1_237;
    ev(p, merchant, currency, "PAYMENT_CREATED", amount);
    ev(p, merchant, currency, "PAYMENT_AUTHORIZED", amount);
    ev(p, merchant, currency, "PAYMENT_CAPTURED", Math.floor(amount / 2));
    ev(p, merchant, currency, "PAYMENT_CAPTURED", amount - Math.floor(amount / 2));
    if (i % 3 === 0) ev(p, merchant, currency, "PAYMENT_REFUNDED", 1_001);
    if (i % 4 === 1) ev(p, merchant, currency, "PAYMENT_CHARGEBACK", 2_003);
    if (i % 5 === 2) ev(p, merchant, currency, "PAYMENT_SETTLED", amount);
  }
  // A capture that arrives before its authorisation: held, then applied.
  const early = `${tag}-early`;
  const cap = ev(early, "m-fee", "EUR", "PAYMENT_CAPTURED", 777);
  ev(early, "m-fee", "EUR", "PAYMENT_AUTHORIZED", 777);
  cap.body.occurredAt = at(++n); // captured after the authorisation, delivered first
  // A voided payment.
  ev(`${tag}-void`, "m-free", "KRW", "PAYMENT_AUTHORIZED", 5_000);
  ev(`${tag}-void`, "m-free", "KRW", "PAYMENT_CANCELLED", 5_000);
  // Rule breakers.
  ev(`${tag}-void`, "m-free", "KRW", "PAYMENT_CAPTURED", 100).breaks = "after_terminal";
  ev(`${tag}-0`, "m-fee", "EUR", "PAYMENT_REFUNDED", 50).breaks = "currency_mismatch";
  ev(`${tag}-1`, "m-other", "EUR", "PAYMENT_REFUNDED", 50).breaks = "merchant_mismatch";
  ev(`${tag}-2`, "m-fee", "BHD", "PAYMENT_REFUNDED", 99_999_999).breaks = "refund_exceeds_captured";
  ev(`${tag}-orphan`, "m-fee", "EUR", "PAYMENT_CAPTURED", 10).breaks = "missing_authorization";
  return out;
}

/** The statements' figures computed from the outbox rows alone (breakers left out). */
async function independentStatements(svc: TestService, day: string, skip: Set<string>) {
  const { start, end } = dayBounds(day, CAL);
  const rows = await svc.db.query<{ id: string; payload: Record<string, unknown> }>(
    "SELECT id::text, payload FROM outbox",
  );
  const out = new Map<
    string,
    Record<string, { count: number; amount: bigint }> & { fees: bigint }
  >();
  const field: Record<string, string> = {
    PAYMENT_AUTHORIZED: "authorized",
    PAYMENT_CAPTURED: "captured",
    PAYMENT_REFUNDED: "refunded",
    PAYMENT_CHARGEBACK: "chargedBack",
  };
  for (const { id, payload: p } of rows) {
    const t = Date.parse(String(p.occurredAt));
    if (skip.has(id) || t < start || t >= end) continue;
    const key = `${p.merchantId}/${p.currency}`;
    const s = out.get(key) ??
      Object.assign(
        Object.fromEntries(
          Object.values(field).map((f) => [f, { count: 0, amount: 0n }]),
        ),
        { fees: 0n },
      ) as Record<string, { count: number; amount: bigint }> & { fees: bigint };
    out.set(key, s);
    const f = field[String(p.type)];
    if (!f) continue;
    s[f]!.count++;
    s[f]!.amount += BigInt(Number(p.amount));
    if (p.type === "PAYMENT_CAPTURED") {
      s.fees += expectedFee(Number(p.amount), FEES[String(p.merchantId)] ?? 0);
    }
  }
  return out;
}

async function admin(base: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function settle(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/settlement/cli.ts", ...args],
    cwd: new URL("../..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name:
    "settlement: a seeded day settles to the independent computation, reconciles clean, late events adjust the next day",
  ...REAL_IO,
  fn: async () => {
    const svc = await startTestService();
    let settlement: RunningSettlement | null = null;
    const env = {
      DATABASE_URL,
      DATABASE_SCHEMA: svc.schema,
      KAFKA_BROKERS,
      KAFKA_TOPIC: svc.topic,
      SETTLEMENT_GROUP: uniqueName("settlement"),
      SETTLEMENT_CATCH_UP_MS: "20000",
    };
    try {
      const day = addDays(businessDayOf(Date.now(), CAL), -3);
      const seeds = seedDay(day);
      for (const s of seeds) {
        const r = await postPayment(svc.base, s.body);
        assert(r.status === 201 || r.status === 202, `POST answered ${r.status}`);
      }
      const breakers = new Set(seeds.filter((s) => s.breaks).map((s) => String(s.body.eventId)));

      settlement = await startSettlement(
        loadSettlementConfig({
          ...env,
          PORT: "0",
          HOST: "127.0.0.1",
          ADMIN_TOKEN,
          SETTLEMENT_SCHEDULE_CLOSE: "false",
          SETTLEMENT_HOLD_LIMIT_MS: "1000",
          SETTLEMENT_SESSION_TIMEOUT_MS: "6000",
        }),
        silentLogger,
      );
      const base = `http://127.0.0.1:${settlement.port}`;
      for (const [merchant, bps] of Object.entries(FEES)) {
        await svc.db.query(
          "INSERT INTO settlement_fees (merchant_id, fee_bps) VALUES ($1, $2)",
          [merchant, bps],
        );
      }

      // A record published twice (an at-least-once republish): applied once.
      const [dupRow] = await svc.db.query<
        { id: string; aggregateid: string; type: string; payload: string }
      >(
        "SELECT id::text, aggregateid, type, payload::text FROM outbox ORDER BY seq LIMIT 1",
      );
      const kafka = kafkaClient({ brokers: KAFKA_BROKERS.split(","), clientId: "settlement-test" });
      const producer = kafka.producer();
      await producer.connect();
      const rec = toRecord(dupRow!);
      await producer.send({ topic: svc.topic, messages: [rec] });
      await producer.disconnect();

      // Every event accounted for: applied or an exception, none held.
      const settled = await waitFor(
        async () => {
          const [r] = await svc.db.query<{ done: string; held: string }>(
            `SELECT count(*) FILTER (WHERE disposition <> 'HELD')::text AS done,
                  count(*) FILTER (WHERE disposition = 'HELD')::text AS held FROM settlement_events`,
          );
          return Number(r?.done) === seeds.length && Number(r?.held) === 0;
        },
        60_000,
        250,
      );
      assert(settled, "settlement did not account for every event within 60 s");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert(/^settlement_duplicates_ignored_total [1-9]/m.test(metrics), "duplicate not counted");

      const exceptions = await (await fetch(`${base}/settlements/exceptions?day=${day}`)).json();
      const rules = (exceptions.exceptions as { rule: string; eventId: string }[])
        .filter((e) => breakers.has(e.eventId)).map((e) => e.rule).sort();
      assertEquals(rules, seeds.filter((s) => s.breaks).map((s) => s.breaks!).sort());

      const closed = await admin(base, "/settlements/close", { day });
      assertEquals(closed.status, 201, JSON.stringify(closed.body));
      assertEquals(closed.body.reconciled, true, JSON.stringify(closed.body));
      assertEquals(closed.body.differences, 0);

      const got = await (await fetch(`${base}/settlements?day=${day}`)).json();
      const expected = await independentStatements(svc, day, breakers);
      assertEquals(got.statements.length, expected.size);
      for (const s of got.statements as (Statement & { sha256: string })[]) {
        const e = expected.get(`${s.merchantId}/${s.currency}`);
        if (!e) throw new Error(`unexpected statement ${s.merchantId}/${s.currency}`);
        for (const f of ["authorized", "captured", "refunded", "chargedBack"] as const) {
          assertEquals(
            { count: s[f].count, amount: BigInt(s[f].amount) },
            e[f],
            `${s.merchantId}/${s.currency} ${f}`,
          );
        }
        assertEquals(BigInt(s.fees), e.fees, `${s.merchantId}/${s.currency} fees`);
        assertEquals(
          BigInt(s.netPayable),
          e.captured!.amount - e.fees - e.refunded!.amount - e.chargedBack!.amount,
        );
        assert(/^[0-9a-f]{64}$/.test(s.sha256));
      }
      const csv = await (await fetch(`${base}/settlements?day=${day}`, {
        headers: { accept: "text/csv" },
      })).text();
      assertEquals(csv.trim().split("\r\n").length, expected.size + 1);

      // A late event of the closed day: the day's statements stay, the next day adjusts.
      const late = {
        eventId: crypto.randomUUID(),
        paymentId: uniqueName("late"),
        merchantId: "m-free",
        type: "PAYMENT_AUTHORIZED",
        amount: 4_321,
        currency: "KRW",
        occurredAt: new Date(dayBounds(day, CAL).start + 3_600_000).toISOString(),
      };
      assert([201, 202].includes((await postPayment(svc.base, late)).status));
      const posted = await waitFor(
        async () => {
          const [r] = await svc.db.query<{ posted: string }>(
            "SELECT posted_day::text AS posted FROM settlement_events WHERE event_id = $1",
            [late.eventId],
          );
          return r?.posted;
        },
        30_000,
        200,
      );
      assertEquals(posted, addDays(day, 1));
      const again = await admin(base, "/settlements/close", { day });
      assertEquals(again.status, 200);
      assertEquals(again.body.statements, closed.body.statements, "a closed day changed");
      const next =
        await (await fetch(`${base}/settlements?day=${addDays(day, 1)}&merchantId=m-free`))
          .json();
      const adj = (next.statements as Statement[]).find((s) => s.currency === "KRW")!.adjustments;
      assertEquals(adj.map((a) => [a.eventId, a.originalDay]), [[late.eventId, day]]);

      // The CLI: clean reconcile exits 0; an accepted event the topic never saw exits 1.
      const cliEnv = { ...env, NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" };
      const clean = await settle(["reconcile", "--day", addDays(day, -1)], cliEnv);
      assertEquals(clean.code, 0, clean.stderr);
      const lost = crypto.randomUUID();
      await svc.db.query(
        `INSERT INTO outbox (id, aggregateid, type, payload, status)
         VALUES ($1, 'lost-pay', 'PAYMENT_AUTHORIZED', $2::text::jsonb, 'DEAD_LETTERED')`,
        [
          lost,
          JSON.stringify({
            eventId: lost,
            paymentId: "lost-pay",
            merchantId: "m-free",
            type: "PAYMENT_AUTHORIZED",
            amount: 10,
            currency: "KRW",
            occurredAt: new Date(dayBounds(addDays(day, -1), CAL).start + 60_000).toISOString(),
          }),
        ],
      );
      const dirty = await settle(["reconcile", "--day", addDays(day, -1)], cliEnv);
      assertEquals(dirty.code, 1, dirty.stderr);
      const report = JSON.parse(dirty.stdout);
      assertEquals(report.differenceCount, 1);
      assertEquals(report.differences[0].eventId, lost);
      assertEquals(report.differences[0].topic, null);
    } finally {
      await settlement?.stop();
      await svc.stop();
    }
  },
});
