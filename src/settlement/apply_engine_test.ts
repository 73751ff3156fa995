import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  type EngineContext,
  type EventOutcome,
  type HeldEvent,
  type Incoming,
  type LedgerLine,
  runEngine,
} from "./apply_engine.ts";
import { businessDayOf } from "./business_day.ts";
import { feeFor } from "./fees.ts";
import type { PaymentState } from "./lifecycle.ts";
import type { SettlementEvent, SettlementEventType } from "./settlement_event.ts";

const SEOUL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const FEES: Record<string, number> = { "m-a": 0, "m-b": 250, "m-c": 7500 };
const T0 = Date.parse("2026-12-02T00:00:00Z");

function ctx(postingDay: (day: string) => string = (d) => d): EngineContext {
  return {
    feeBps: (m) => FEES[m] ?? 0,
    businessDay: (ms) => businessDayOf(ms, SEOUL),
    postingDay,
    now: T0,
  };
}

function ev(
  id: number,
  paymentId: string,
  type: SettlementEventType,
  amount: bigint,
  over: Partial<SettlementEvent> = {},
): SettlementEvent {
  return {
    eventId: `00000000-0000-4000-8000-${String(id).padStart(12, "0")}`,
    paymentId,
    merchantId: "m-b",
    type,
    amount,
    currency: "EUR",
    occurredAt: T0 + id * 60_000,
    ...over,
  };
}

const inc = (event: SettlementEvent, offset = 0): Incoming => ({
  event,
  partition: 0,
  offset: String(offset),
});

Deno.test("runEngine: a capture held for its authorization applies when the authorization arrives", () => {
  const states = new Map<string, PaymentState>();
  const held = new Map<string, HeldEvent[]>();
  const capture = ev(2, "p1", "PAYMENT_CAPTURED", 1000n);
  const first = runEngine(states, held, [inc(capture, 0)], ctx());
  assertEquals(first.outcomes.get(capture.eventId)?.disposition, "HELD");
  assertEquals(first.outcomes.get(capture.eventId)?.rule, "missing_authorization");
  assertEquals(first.outcomes.get(capture.eventId)?.heldAt, T0);
  assertEquals(first.lines, []);
  assertEquals(held.get("p1")?.length, 1);

  const auth = ev(1, "p1", "PAYMENT_AUTHORIZED", 1000n);
  const second = runEngine(states, held, [inc(auth, 1)], { ...ctx(), now: T0 + 5000 });
  assertEquals(second.outcomes.get(capture.eventId)?.disposition, "APPLIED");
  assertEquals(second.outcomes.get(capture.eventId)?.fee, 25n);
  assertEquals(second.outcomes.get(auth.eventId)?.disposition, "APPLIED");
  assertEquals(held.get("p1"), []);
  assertEquals(states.get("p1")?.captured, 1000n);
  assertEquals(second.states.get("p1")?.authorized, 1000n);
});

Deno.test("runEngine: a rejected event is an exception and changes no state", () => {
  const states = new Map<string, PaymentState>();
  const held = new Map<string, HeldEvent[]>();
  const auth = ev(1, "p1", "PAYMENT_AUTHORIZED", 10n);
  const other = ev(2, "p1", "PAYMENT_CAPTURED", 10n, { currency: "KRW" });
  const r = runEngine(states, held, [inc(auth), inc(other, 1)], ctx());
  const o = r.outcomes.get(other.eventId)!;
  assertEquals([o.disposition, o.rule, o.postedDay], ["EXCEPTION", "currency_mismatch", null]);
  assertEquals(states.get("p1")?.captured, 0n);
  assertEquals(r.lines.every((l) => l.eventId === auth.eventId), true);
});

Deno.test("runEngine: lines of a closed day are posted to the posting day, the business day kept", () => {
  const states = new Map<string, PaymentState>();
  const e = ev(1, "p1", "PAYMENT_AUTHORIZED", 10n, {
    occurredAt: Date.parse("2026-12-03T01:00:00Z"),
  });
  const r = runEngine(
    states,
    new Map(),
    [inc(e)],
    ctx((d) => d === "2026-12-03" ? "2026-12-04" : d),
  );
  const o = r.outcomes.get(e.eventId)!;
  assertEquals([o.businessDay, o.postedDay], ["2026-12-03", "2026-12-04"]);
  assertEquals(r.lines.map((l) => [l.businessDay, l.postedDay]), [
    ["2026-12-03", "2026-12-04"],
    ["2026-12-03", "2026-12-04"],
  ]);
});

Deno.test("runEngine: held events of a payment the batch does not touch stay held", () => {
  const held = new Map<string, HeldEvent[]>();
  const states = new Map<string, PaymentState>();
  runEngine(states, held, [inc(ev(1, "p1", "PAYMENT_CAPTURED", 5n))], ctx());
  const r = runEngine(states, held, [inc(ev(2, "p2", "PAYMENT_AUTHORIZED", 5n), 1)], ctx());
  assertEquals(held.get("p1")?.length, 1);
  assertEquals([...r.outcomes.keys()].length, 1);
});

// ---- The property: any delivery of a valid event set gives the canonical ledger. ----

interface RawPayment {
  merchant: string;
  currency: string;
  created: boolean;
  auths: bigint[];
  captures: number[];
  refunds: [boolean, number][];
  settles: number[];
  terminal: "PAYMENT_CANCELLED" | "PAYMENT_FAILED" | null;
  times: number[];
}

const paymentArb: fc.Arbitrary<RawPayment> = fc.record({
  merchant: fc.constantFrom("m-a", "m-b", "m-c"),
  currency: fc.constantFrom("KRW", "EUR", "BHD"),
  created: fc.boolean(),
  auths: fc.array(fc.bigInt({ min: 1n, max: 10n ** 15n }), { minLength: 1, maxLength: 3 }),
  captures: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 3 }),
  refunds: fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 100 })), { maxLength: 3 }),
  settles: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 2 }),
  terminal: fc.constantFrom("PAYMENT_CANCELLED" as const, "PAYMENT_FAILED" as const, null),
  // Occurrence times over three business days (Seoul), one per event.
  times: fc.array(fc.integer({ min: 0, max: 3 * 86_400_000 }), { minLength: 16, maxLength: 16 }),
});

/** Takes `percent` % of what is left (at least 1), or null once nothing is left. */
function part(left: bigint, percent: number): bigint | null {
  if (left <= 0n) return null;
  const a = left * BigInt(percent) / 100n;
  return a > 0n ? a : 1n;
}

/** A payment's events in lifecycle order: every one of them applies in this order. */
function lifecycle(p: RawPayment, index: number): SettlementEvent[] {
  const out: SettlementEvent[] = [];
  const add = (type: SettlementEventType, amount: bigint) =>
    out.push({
      eventId: `${String(index).padStart(8, "0")}-0000-4000-8000-${out.length}`,
      paymentId: `pay-${index}`,
      merchantId: p.merchant,
      type,
      amount,
      currency: p.currency,
      occurredAt: T0 + p.times[out.length]!,
    });
  if (p.created) add("PAYMENT_CREATED", p.auths[0]!);
  let authorized = 0n;
  for (const a of p.auths) add("PAYMENT_AUTHORIZED", a), authorized += a;
  let captured = 0n;
  for (const pct of p.captures) {
    const a = part(authorized - captured, pct);
    if (a !== null) add("PAYMENT_CAPTURED", a), captured += a;
  }
  let returned = 0n;
  for (const [refund, pct] of p.refunds) {
    const a = part(captured - returned, pct);
    if (a !== null) add(refund ? "PAYMENT_REFUNDED" : "PAYMENT_CHARGEBACK", a), returned += a;
  }
  let settled = 0n;
  for (const pct of p.settles) {
    const a = part(captured - settled, pct);
    if (a !== null) add("PAYMENT_SETTLED", a), settled += a;
  }
  if (p.terminal) add(p.terminal, authorized);
  return out;
}

/** Orders `events` by `keys`, then moves each terminal event after its payment's other events. */
function deliveryOrder(events: SettlementEvent[], keys: number[]): SettlementEvent[] {
  const order = events.map((e, i) => ({ e, k: keys[i % keys.length]! * events.length + i }))
    .sort((a, b) => a.k - b.k).map((x) => x.e);
  const terminal = (e: SettlementEvent) =>
    e.type === "PAYMENT_CANCELLED" || e.type === "PAYMENT_FAILED";
  for (const t of events.filter(terminal)) {
    order.splice(order.indexOf(t), 1);
    order.splice(order.findLastIndex((e) => e.paymentId === t.paymentId) + 1, 0, t);
  }
  return order;
}

/** Runs batches the way the store does: state and held events kept, known event ids skipped. */
function deliver(batches: SettlementEvent[][]) {
  const states = new Map<string, PaymentState>();
  const held = new Map<string, HeldEvent[]>();
  const seen = new Set<string>();
  const outcomes = new Map<string, EventOutcome>();
  const lines: LedgerLine[] = [];
  let offset = 0;
  for (const batch of batches) {
    const fresh: Incoming[] = [];
    for (const e of batch) {
      if (!seen.has(e.eventId)) seen.add(e.eventId), fresh.push(inc(e, offset));
      offset++;
    }
    const r = runEngine(states, held, fresh, ctx());
    for (const [id, o] of r.outcomes) outcomes.set(id, o);
    lines.push(...r.lines);
  }
  return { states, held, outcomes, lines };
}

/** Per posted day, merchant and currency: account totals and applied counts/sums per type. */
function totals(r: ReturnType<typeof deliver>): Record<string, string> {
  const t = new Map<string, bigint>();
  const bump = (k: string, n: bigint) => t.set(k, (t.get(k) ?? 0n) + n);
  for (const l of r.lines) {
    const g = `${l.postedDay}/${l.merchantId}/${l.currency}`;
    bump(`${g}/${l.account}/debit`, l.debit);
    bump(`${g}/${l.account}/credit`, l.credit);
  }
  for (const o of r.outcomes.values()) {
    const g = `${o.postedDay}/${o.event.merchantId}/${o.event.currency}/${o.disposition}`;
    bump(`${g}/${o.event.type}/count`, 1n);
    bump(`${g}/${o.event.type}/amount`, o.event.amount);
    bump(`${g}/fee`, o.fee);
  }
  return Object.fromEntries(
    [...t].sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => [k, String(v)]),
  );
}

const scenarioArb = fc.record({
  payments: fc.array(paymentArb, { minLength: 1, maxLength: 6 }),
  keys: fc.array(fc.nat(1000), { minLength: 1, maxLength: 60 }),
  duplicates: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 8 }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

Deno.test("runEngine: any delivery order, duplicates and batching of valid lifecycles gives the canonical ledger", () => {
  fc.assert(
    fc.property(scenarioArb, ({ payments, keys, duplicates, cuts }) => {
      const canonicalEvents = payments.flatMap((p, i) => lifecycle(p, i));
      const canonical = deliver([canonicalEvents]);
      const order = deliveryOrder(canonicalEvents, keys);
      for (const [which, where] of duplicates) {
        const i = which % order.length;
        const at = i + 1 + (where % (order.length - i)); // a copy arrives after the original
        order.splice(at, 0, { ...order[i]! });
      }
      const ends = [...new Set(cuts.map((c) => c % (order.length + 1)))].sort((a, b) => a - b);
      const batches = [0, ...ends].map((from, k) => order.slice(from, [...ends, order.length][k]));
      const delivered = deliver(batches);

      assertEquals(totals(delivered), totals(canonical));
      for (const o of delivered.outcomes.values()) {
        assertEquals(o.disposition, "APPLIED", `${o.event.type} ${o.event.eventId}: ${o.rule}`);
      }
      assertEquals(delivered.outcomes.size, canonicalEvents.length);
      assertEquals([...delivered.held.values()].flat(), []);
      assertEquals(delivered.states, canonical.states);
      const balance = new Map<string, bigint>();
      for (const l of delivered.lines) {
        balance.set(l.currency, (balance.get(l.currency) ?? 0n) + l.debit - l.credit);
      }
      for (const [currency, b] of balance) assertEquals(b, 0n, `journal of ${currency}`);
    }),
    { numRuns: 300 },
  );
});

Deno.test("runEngine: the canonical ledger matches sums computed from the events alone", () => {
  fc.assert(
    fc.property(fc.array(paymentArb, { minLength: 1, maxLength: 6 }), (payments) => {
      const events = payments.flatMap((p, i) => lifecycle(p, i));
      const r = deliver([events]);
      const want = new Map<string, bigint>();
      const got = new Map<string, bigint>();
      const bump = (m: Map<string, bigint>, k: string, n: bigint) => m.set(k, (m.get(k) ?? 0n) + n);
      for (const e of events) {
        const g = `${businessDayOf(e.occurredAt, SEOUL)}/${e.merchantId}/${e.currency}`;
        const fee = e.type === "PAYMENT_CAPTURED" ? feeFor(e.amount, FEES[e.merchantId]!) : 0n;
        if (e.type === "PAYMENT_CAPTURED") bump(want, `${g}/payable`, e.amount - fee);
        if (e.type === "PAYMENT_REFUNDED" || e.type === "PAYMENT_CHARGEBACK") {
          bump(want, `${g}/payable`, -e.amount);
        }
        if (e.type === "PAYMENT_SETTLED") bump(want, `${g}/cash`, e.amount);
        bump(want, `${g}/fees`, fee);
      }
      for (const l of r.lines) {
        const g = `${l.postedDay}/${l.merchantId}/${l.currency}`;
        if (l.account === "merchant_payable") bump(got, `${g}/payable`, l.credit - l.debit);
        if (l.account === "cash_at_bank") bump(got, `${g}/cash`, l.debit - l.credit);
        if (l.account === "fee_revenue") bump(got, `${g}/fees`, l.credit - l.debit);
      }
      const nonZero = (m: Map<string, bigint>) => [...m].filter(([, v]) => v !== 0n).sort();
      assertEquals(nonZero(got), nonZero(want));
      assert(events.every((e) => r.outcomes.get(e.eventId)?.disposition === "APPLIED"));
    }),
    { numRuns: 200 },
  );
});
