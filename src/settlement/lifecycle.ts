/**
 * The payment lifecycle and the journal lines of each event: a pure decision per event, given
 * the payment's state so far. An event either applies (new state, balanced lines), waits for an
 * event that has not arrived yet (hold), or breaks a rule that no later event can mend (reject).
 */
import { feeFor } from "./fees.ts";
import { MAX_AMOUNT, type SettlementEvent } from "./settlement_event.ts";

/** Ledger accounts. `merchant_payable` is kept per merchant (the line's merchant). */
export const ACCOUNTS = [
  "scheme_receivable",
  "merchant_payable",
  "fee_revenue",
  "cash_at_bank",
  "authorizations_open",
  "authorizations_contra",
] as const;

/** One ledger account. */
export type Account = typeof ACCOUNTS[number];

/** One journal line: exactly one of debit and credit is positive. */
export interface JournalLine {
  account: Account;
  debit: bigint;
  credit: bigint;
}

/** The most lines one event makes (a capture with a fee); statements sum lines by position. */
export const MAX_LINES = 5;

/** Terminal event types: nothing may follow them. */
export const TERMINAL_TYPES = ["PAYMENT_FAILED", "PAYMENT_CANCELLED"] as const;

/** What the ledger knows about one payment. */
export interface PaymentState {
  merchantId: string;
  currency: string;
  authorized: bigint;
  captured: bigint;
  refunded: bigint;
  chargedBack: bigint;
  settled: bigint;
  terminal: string | null;
}

/** Rules an event can break (the exceptions table's `rule`). */
export const RULES = [
  "unparseable",
  "unknown_currency",
  "amount_out_of_range",
  "amount_overflow",
  "event_id_reused",
  "merchant_mismatch",
  "currency_mismatch",
  "after_terminal",
  "missing_authorization",
  "missing_capture",
  "capture_exceeds_authorized",
  "refund_exceeds_captured",
  "settle_exceeds_captured",
] as const;

/** One rule. */
export type Rule = typeof RULES[number];

/** The outcome of one event. */
export type Decision =
  | { kind: "apply"; state: PaymentState; lines: JournalLine[]; fee: bigint }
  | { kind: "hold"; rule: Rule; reason: string }
  | { kind: "reject"; rule: Rule; reason: string };

const dr = (account: Account, amount: bigint): JournalLine => ({
  account,
  debit: amount,
  credit: 0n,
});
const cr = (account: Account, amount: bigint): JournalLine => ({
  account,
  debit: 0n,
  credit: amount,
});

function released(s: PaymentState): JournalLine[] {
  const open = s.authorized - s.captured;
  return open > 0n ? [dr("authorizations_contra", open), cr("authorizations_open", open)] : [];
}

/** Decides one event against the payment's state (null: nothing applied yet). */
export function decide(
  state: PaymentState | null,
  e: SettlementEvent,
  feeBps: number,
): Decision {
  const s: PaymentState = state ?? {
    merchantId: e.merchantId,
    currency: e.currency,
    authorized: 0n,
    captured: 0n,
    refunded: 0n,
    chargedBack: 0n,
    settled: 0n,
    terminal: null,
  };
  const a = e.amount;
  if (s.merchantId !== e.merchantId) {
    return reject("merchant_mismatch", `payment belongs to merchant ${s.merchantId}`);
  }
  if (s.currency !== e.currency) {
    return reject("currency_mismatch", `payment is in ${s.currency}, event in ${e.currency}`);
  }
  if (s.terminal !== null) return reject("after_terminal", `payment already ${s.terminal}`);
  const refundable = s.captured - s.refunded - s.chargedBack;
  switch (e.type) {
    case "PAYMENT_CREATED":
      return { kind: "apply", state: s, lines: [], fee: 0n };
    case "PAYMENT_AUTHORIZED":
      if (s.authorized + a > MAX_AMOUNT) {
        return reject("amount_overflow", `authorized total would pass ${MAX_AMOUNT}`);
      }
      return apply({ ...s, authorized: s.authorized + a }, [
        dr("authorizations_open", a),
        cr("authorizations_contra", a),
      ]);
    case "PAYMENT_CAPTURED": {
      if (s.authorized === 0n) return hold("missing_authorization", "no authorization yet");
      if (s.captured + a > s.authorized) {
        return hold(
          "capture_exceeds_authorized",
          `capture of ${a} with ${s.captured} of ${s.authorized} already captured`,
        );
      }
      const fee = feeFor(a, feeBps);
      return {
        kind: "apply",
        state: { ...s, captured: s.captured + a },
        fee,
        lines: [
          dr("scheme_receivable", a),
          // A fee that rounds up to the whole amount leaves no payable line (no zero lines).
          ...(a > fee ? [cr("merchant_payable", a - fee)] : []),
          ...(fee > 0n ? [cr("fee_revenue", fee)] : []),
          dr("authorizations_contra", a),
          cr("authorizations_open", a),
        ],
      };
    }
    case "PAYMENT_REFUNDED":
    case "PAYMENT_CHARGEBACK": {
      if (s.captured === 0n) return hold("missing_capture", "nothing captured yet");
      if (a > refundable) {
        return hold(
          "refund_exceeds_captured",
          `${
            e.type === "PAYMENT_REFUNDED" ? "refund" : "chargeback"
          } of ${a} with ${refundable} of ${s.captured} captured left`,
        );
      }
      const next = e.type === "PAYMENT_REFUNDED"
        ? { ...s, refunded: s.refunded + a }
        : { ...s, chargedBack: s.chargedBack + a };
      return apply(next, [dr("merchant_payable", a), cr("scheme_receivable", a)]);
    }
    case "PAYMENT_SETTLED":
      if (s.captured === 0n) return hold("missing_capture", "nothing captured yet");
      if (s.settled + a > s.captured) {
        return hold(
          "settle_exceeds_captured",
          `settlement of ${a} with ${s.settled} of ${s.captured} already settled`,
        );
      }
      return apply({ ...s, settled: s.settled + a }, [
        dr("cash_at_bank", a),
        cr("scheme_receivable", a),
      ]);
    case "PAYMENT_FAILED":
    case "PAYMENT_CANCELLED":
      return apply({ ...s, terminal: e.type }, released(s));
  }
}

function apply(state: PaymentState, lines: JournalLine[]): Decision {
  return { kind: "apply", state, lines, fee: 0n };
}
function hold(rule: Rule, reason: string): Decision {
  return { kind: "hold", rule, reason };
}
function reject(rule: Rule, reason: string): Decision {
  return { kind: "reject", rule, reason };
}
