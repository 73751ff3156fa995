/**
 * Applies a batch of events to payment states in memory: each event applies, waits (held) or is
 * an exception; whenever a payment changes, its held events are tried again, so the order in
 * which a payment's events arrive does not change the ledger. The store persists the result.
 */
import { decide, type JournalLine, type PaymentState, type Rule } from "./lifecycle.ts";
import type { SettlementEvent } from "./settlement_event.ts";

/** An event and where it was read. */
export interface Incoming {
  event: SettlementEvent;
  partition: number;
  /** Kafka offset, decimal text. */
  offset: string;
}

/** An event waiting for its payment to reach a state where it applies. */
export interface HeldEvent extends Incoming {
  rule: Rule;
  /** Epoch ms when it was first held. */
  heldAt: number;
}

/** Where an event ended. */
export type Disposition = "APPLIED" | "HELD" | "EXCEPTION";

/** One event's outcome, as stored. */
export interface EventOutcome extends Incoming {
  disposition: Disposition;
  rule: Rule | null;
  reason: string | null;
  fee: bigint;
  businessDay: string;
  /** The day its lines were posted to (differs from businessDay for a late event); null unless applied. */
  postedDay: string | null;
  heldAt: number | null;
}

/** A journal line with the event, days and owner it belongs to. */
export interface LedgerLine extends JournalLine {
  eventId: string;
  postedDay: string;
  businessDay: string;
  merchantId: string;
  currency: string;
}

/** What the engine needs from outside. */
export interface EngineContext {
  feeBps(merchantId: string): number;
  businessDay(occurredAt: number): string;
  /** The day a line of `businessDay` is posted to: itself, or the next open day once closed. */
  postingDay(businessDay: string): string;
  now: number;
}

/** The engine's output: every event's outcome, the new lines, and the states that changed. */
export interface EngineResult {
  outcomes: Map<string, EventOutcome>;
  lines: LedgerLine[];
  states: Map<string, PaymentState>;
}

const byOccurrence = (a: HeldEvent, b: HeldEvent) =>
  a.event.occurredAt - b.event.occurredAt ||
  (a.event.eventId < b.event.eventId ? -1 : a.event.eventId > b.event.eventId ? 1 : 0);

/**
 * Applies `incoming` in order. `states` and `held` (per payment id) are read and updated in
 * place; held events of payments no incoming event touches are left alone.
 */
export function runEngine(
  states: Map<string, PaymentState>,
  held: Map<string, HeldEvent[]>,
  incoming: Incoming[],
  ctx: EngineContext,
): EngineResult {
  const outcomes = new Map<string, EventOutcome>();
  const lines: LedgerLine[] = [];
  const changed = new Map<string, PaymentState>();

  const settle = (inc: Incoming, heldAt: number | null): boolean => {
    const e = inc.event;
    const businessDay = ctx.businessDay(e.occurredAt);
    const d = decide(states.get(e.paymentId) ?? null, e, ctx.feeBps(e.merchantId));
    const base = { ...inc, businessDay, fee: 0n, postedDay: null, heldAt: null };
    if (d.kind === "hold") {
      outcomes.set(e.eventId, {
        ...base,
        disposition: "HELD",
        rule: d.rule,
        reason: d.reason,
        heldAt: heldAt ?? ctx.now,
      });
      return false;
    }
    if (d.kind === "reject") {
      outcomes.set(e.eventId, {
        ...base,
        disposition: "EXCEPTION",
        rule: d.rule,
        reason: d.reason,
      });
      return true;
    }
    const postedDay = ctx.postingDay(businessDay);
    states.set(e.paymentId, d.state);
    changed.set(e.paymentId, d.state);
    for (const l of d.lines) {
      lines.push({
        ...l,
        eventId: e.eventId,
        postedDay,
        businessDay,
        merchantId: e.merchantId,
        currency: e.currency,
      });
    }
    outcomes.set(e.eventId, {
      ...base,
      disposition: "APPLIED",
      rule: null,
      reason: null,
      fee: d.fee,
      postedDay,
    });
    return true;
  };

  // Held events are retried, oldest occurrence first, until a pass changes nothing.
  const drain = (paymentId: string) => {
    const waiting = held.get(paymentId);
    while (waiting && waiting.length > 0) {
      waiting.sort(byOccurrence);
      const i = waiting.findIndex((h) => settle(h, h.heldAt));
      if (i < 0) break;
      waiting.splice(i, 1);
    }
  };

  for (const inc of incoming) {
    if (settle(inc, null)) {
      drain(inc.event.paymentId);
      continue;
    }
    const list = held.get(inc.event.paymentId) ?? [];
    const o = outcomes.get(inc.event.eventId)!;
    list.push({ ...inc, rule: o.rule!, heldAt: o.heldAt! });
    held.set(inc.event.paymentId, list);
  }
  return { outcomes, lines, states: changed };
}
