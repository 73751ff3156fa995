import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import fc from "fast-check";
import {
  decide,
  type Decision,
  type JournalLine,
  type PaymentState,
  TERMINAL_TYPES,
} from "./lifecycle.ts";
import { MAX_AMOUNT, type SettlementEvent, type SettlementEventType } from "./settlement_event.ts";

let seq = 0;
function ev(type: SettlementEventType, amount: bigint, over: Partial<SettlementEvent> = {}) {
  seq++;
  return {
    eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
    paymentId: "pay-1",
    merchantId: "merchant-a",
    type,
    amount,
    currency: "EUR",
    occurredAt: Date.parse("2026-12-03T10:00:00Z") + seq,
    ...over,
  } satisfies SettlementEvent;
}

/** Applies events in order, failing the test unless each applies; returns the final state. */
function applyAll(events: SettlementEvent[], feeBps = 0): PaymentState {
  let state: PaymentState | null = null;
  for (const e of events) {
    const d = decide(state, e, feeBps);
    if (d.kind !== "apply") throw new Error(`${e.type} ${e.amount}: ${d.kind} ${d.rule}`);
    state = d.state;
  }
  return state!;
}

/** The applied decision, or a failure naming what happened instead. */
function applied(d: Decision): Extract<Decision, { kind: "apply" }> {
  if (d.kind !== "apply") throw new Error(`expected apply, got ${d.kind} ${d.rule}`);
  return d;
}

function expectOutcome(d: Decision, kind: "hold" | "reject", rule: string) {
  assertEquals(d.kind === "apply" ? "apply" : `${d.kind} ${d.rule}`, `${kind} ${rule}`);
}

const sum = (lines: JournalLine[], side: "debit" | "credit") =>
  lines.reduce((s, l) => s + l[side], 0n);

Deno.test("decide: a capture before any authorization is held for missing_authorization", () => {
  expectOutcome(decide(null, ev("PAYMENT_CAPTURED", 100n), 0), "hold", "missing_authorization");
  const created = applyAll([ev("PAYMENT_CREATED", 100n)]);
  expectOutcome(decide(created, ev("PAYMENT_CAPTURED", 100n), 0), "hold", "missing_authorization");
});

Deno.test("decide: captures past the authorized total are held for capture_exceeds_authorized", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", 100n), ev("PAYMENT_CAPTURED", 60n)]);
  expectOutcome(decide(s, ev("PAYMENT_CAPTURED", 41n), 0), "hold", "capture_exceeds_authorized");
  assertEquals(decide(s, ev("PAYMENT_CAPTURED", 40n), 0).kind, "apply");
});

Deno.test("decide: refunds and chargebacks past what is captured are held for refund_exceeds_captured", () => {
  const s = applyAll([
    ev("PAYMENT_AUTHORIZED", 100n),
    ev("PAYMENT_CAPTURED", 80n),
    ev("PAYMENT_REFUNDED", 30n),
    ev("PAYMENT_CHARGEBACK", 20n),
  ]);
  // 30 of 80 remain refundable.
  for (const type of ["PAYMENT_REFUNDED", "PAYMENT_CHARGEBACK"] as const) {
    const d = decide(s, ev(type, 31n), 0);
    expectOutcome(d, "hold", "refund_exceeds_captured");
    assertStringIncludes(d.kind === "hold" ? d.reason : "", "30 of 80");
    assertEquals(decide(s, ev(type, 30n), 0).kind, "apply");
  }
  const auth = applyAll([ev("PAYMENT_AUTHORIZED", 100n)]);
  expectOutcome(decide(auth, ev("PAYMENT_REFUNDED", 1n), 0), "hold", "missing_capture");
});

Deno.test("decide: a settlement past what is captured is held for settle_exceeds_captured", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", 100n), ev("PAYMENT_CAPTURED", 50n)]);
  expectOutcome(decide(s, ev("PAYMENT_SETTLED", 51n), 0), "hold", "settle_exceeds_captured");
  expectOutcome(decide(null, ev("PAYMENT_SETTLED", 1n), 0), "hold", "missing_capture");
  const settled = applyAll([ev("PAYMENT_AUTHORIZED", 100n), ev("PAYMENT_CAPTURED", 50n)]);
  assertEquals(decide(settled, ev("PAYMENT_SETTLED", 50n), 0).kind, "apply");
});

Deno.test("decide: another merchant or currency for the same payment is rejected", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", 100n)]);
  const other = decide(s, ev("PAYMENT_CAPTURED", 10n, { merchantId: "merchant-b" }), 0);
  expectOutcome(other, "reject", "merchant_mismatch");
  const krw = decide(s, ev("PAYMENT_CAPTURED", 10n, { currency: "KRW" }), 0);
  expectOutcome(krw, "reject", "currency_mismatch");
  assertStringIncludes(krw.kind === "reject" ? krw.reason : "", "KRW");
});

Deno.test("decide: every event after PAYMENT_FAILED or PAYMENT_CANCELLED is rejected after_terminal", () => {
  for (const terminal of TERMINAL_TYPES) {
    const s = applyAll([ev("PAYMENT_AUTHORIZED", 100n), ev(terminal, 100n)]);
    assertEquals(s.terminal, terminal);
    for (
      const type of [
        "PAYMENT_CREATED",
        "PAYMENT_AUTHORIZED",
        "PAYMENT_CAPTURED",
        "PAYMENT_REFUNDED",
        "PAYMENT_SETTLED",
        "PAYMENT_FAILED",
        "PAYMENT_CANCELLED",
      ] as const
    ) {
      expectOutcome(decide(s, ev(type, 1n), 0), "reject", "after_terminal");
    }
  }
});

Deno.test("decide: an authorized total past 2^63-1 is rejected amount_overflow", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", MAX_AMOUNT - 10n)]);
  assertEquals(decide(s, ev("PAYMENT_AUTHORIZED", 10n), 0).kind, "apply");
  expectOutcome(decide(s, ev("PAYMENT_AUTHORIZED", 11n), 0), "reject", "amount_overflow");
});

Deno.test("decide: a capture posts receivable, payable net of the fee and fee revenue", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", 10_000n)]);
  const d = applied(decide(s, ev("PAYMENT_CAPTURED", 10_000n), 250));
  assertEquals(d.fee, 250n);
  assertEquals(d.state.captured, 10_000n);
  assertEquals(d.lines, [
    { account: "scheme_receivable", debit: 10_000n, credit: 0n },
    { account: "merchant_payable", debit: 0n, credit: 9_750n },
    { account: "fee_revenue", debit: 0n, credit: 250n },
    { account: "authorizations_contra", debit: 10_000n, credit: 0n },
    { account: "authorizations_open", debit: 0n, credit: 10_000n },
  ]);
  const free = applied(decide(s, ev("PAYMENT_CAPTURED", 15n), 1000)); // 1.5 -> fee 2
  assertEquals(free.fee, 2n);
  assertEquals(free.lines.find((l) => l.account === "merchant_payable")?.credit, 13n);
  const none = applied(decide(s, ev("PAYMENT_CAPTURED", 100n), 0));
  assertEquals(none.lines.some((l) => l.account === "fee_revenue"), false);
});

Deno.test("decide: cancelling releases what is authorized but not captured", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", 100n), ev("PAYMENT_CAPTURED", 30n)]);
  const d = applied(decide(s, ev("PAYMENT_CANCELLED", 100n), 0));
  assertEquals(d.lines, [
    { account: "authorizations_contra", debit: 70n, credit: 0n },
    { account: "authorizations_open", debit: 0n, credit: 70n },
  ]);
  const full = applyAll([ev("PAYMENT_AUTHORIZED", 30n), ev("PAYMENT_CAPTURED", 30n)]);
  const nothing = applied(decide(full, ev("PAYMENT_FAILED", 30n), 0));
  assertEquals(nothing.lines, []);
});

const typeArb = fc.constantFrom<SettlementEventType>(
  "PAYMENT_CREATED",
  "PAYMENT_AUTHORIZED",
  "PAYMENT_CAPTURED",
  "PAYMENT_REFUNDED",
  "PAYMENT_CHARGEBACK",
  "PAYMENT_SETTLED",
  "PAYMENT_FAILED",
  "PAYMENT_CANCELLED",
);

Deno.test("decide: every applied decision's lines balance and each line has one positive side", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(typeArb, fc.bigInt({ min: 1n, max: MAX_AMOUNT })),
        { minLength: 1, maxLength: 30 },
      ),
      fc.integer({ min: 0, max: 10_000 }),
      (steps, bps) => {
        let state: PaymentState | null = null;
        for (const [type, raw] of steps) {
          // Small amounts most of the time so that captures and refunds fit and apply.
          const amount = raw % 3n === 0n ? raw : raw % 1000n + 1n;
          const d = decide(state, ev(type, amount), bps);
          if (d.kind !== "apply") continue;
          assertEquals(sum(d.lines, "debit"), sum(d.lines, "credit"), `${type} ${amount}`);
          for (const l of d.lines) {
            assert(
              (l.debit > 0n) !== (l.credit > 0n),
              `${type}: ${l.account} ${l.debit}/${l.credit}`,
            );
            assert(l.debit >= 0n && l.credit >= 0n);
          }
          state = d.state;
          assert(state.captured <= state.authorized);
          assert(state.refunded + state.chargedBack <= state.captured);
          assert(state.settled <= state.captured);
          assert(state.authorized <= MAX_AMOUNT);
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("decide: a fee rounding up to the whole amount leaves the merchant nothing and no empty line", () => {
  const s = applyAll([ev("PAYMENT_AUTHORIZED", 500n)]);
  const d = applied(decide(s, ev("PAYMENT_CAPTURED", 500n), 10_000));
  assertEquals(d.fee, 500n);
  assertEquals(d.lines.filter((l) => l.debit === 0n && l.credit === 0n), []);
  assertEquals(sum(d.lines, "debit"), sum(d.lines, "credit"));
  // 1 at 75 % is a fee of 0.75, rounded to the whole 1.
  const small = applied(decide(s, ev("PAYMENT_CAPTURED", 1n), 7500));
  assertEquals(small.fee, 1n);
  assertEquals(small.lines.some((l) => l.account === "merchant_payable"), false);
});
