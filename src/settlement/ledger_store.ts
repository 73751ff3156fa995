/**
 * Applies one partition's batch of topic records to the ledger in one Postgres transaction:
 * journal lines, payment states, event outcomes, exceptions and the partition's next offset
 * commit together or not at all. The offset row is locked first and records below it are
 * skipped, so a batch delivered twice (a rebalance, a restart, a zombie member) applies once;
 * the event id is a primary key, so a record published twice applies once too.
 */
import type { Queryable } from "../outbox/db.ts";
import { type Incoming, runEngine } from "./apply_engine.ts";
import { addDays, type BusinessCalendar, businessDayOf } from "./business_day.ts";
import type { Rule } from "./lifecycle.ts";
import {
  closedDaysFrom,
  EVENT_COLUMNS,
  type EventRow,
  exceptionOf,
  type ExceptionRow,
  feeRates,
  insertExceptions,
  loadPayments,
  persist,
  sameContent,
  toEvent,
} from "./ledger_rows.ts";
import { isUnreadable, readSettlementEvent, type SettlementEvent } from "./settlement_event.ts";

/** Shared by every applying transaction, exclusive for a close: a close sees no batch half-done. */
export const DAYS_LOCK = "payment-settlement:days";

/** One record as read from the topic. */
export interface RawRecord {
  partition: number;
  /** Kafka offset, decimal text. */
  offset: string;
  value: string | null;
  headers: Record<string, string>;
  /** The record's timestamp, epoch ms. */
  timestamp: number;
}

/** What one batch did. */
export interface BatchResult {
  /** Records below the stored offset (delivered again), skipped. */
  skipped: number;
  applied: number;
  held: number;
  /** Held events of earlier batches that applied now. */
  released: number;
  /** Exceptions raised, one rule each. */
  exceptions: Rule[];
  duplicates: number;
  /** The partition's stored next offset after the batch. */
  nextOffset: bigint;
  /** Applied counts per event type. */
  appliedByType: Map<string, number>;
}

/** The posting rule: a day's own lines, or the next open day's once the day is closed. */
export function postingDayFn(closed: Set<string>): (day: string) => string {
  return (day) => {
    let d = day;
    while (closed.has(d)) d = addDays(d, 1);
    return d;
  };
}

/** Options of `applyBatch`. */
export interface ApplyOptions {
  topic: string;
  calendar: BusinessCalendar;
  now?: () => number;
}

/**
 * Applies `records` (one partition, offset order) in one transaction and stores the partition's
 * next offset with them.
 */
export async function applyBatch(
  tx: Queryable,
  partition: number,
  records: RawRecord[],
  opts: ApplyOptions,
): Promise<BatchResult> {
  const now = (opts.now ?? Date.now)();
  const dayOf = (ms: number) => businessDayOf(ms, opts.calendar);
  await tx.query("SELECT pg_advisory_xact_lock_shared(hashtext($1))", [DAYS_LOCK]);
  await tx.query(
    `INSERT INTO settlement_offsets (topic, partition, next_offset) VALUES ($1, $2, 0)
     ON CONFLICT DO NOTHING`,
    [opts.topic, partition],
  );
  const [stored] = await tx.query<{ next_offset: string }>(
    `SELECT next_offset::text FROM settlement_offsets WHERE topic = $1 AND partition = $2
     FOR UPDATE`,
    [opts.topic, partition],
  );
  const from = BigInt(stored!.next_offset);
  const fresh = records.filter((r) => BigInt(r.offset) >= from);
  const result: BatchResult = {
    skipped: records.length - fresh.length,
    applied: 0,
    held: 0,
    released: 0,
    exceptions: [],
    duplicates: 0,
    nextOffset: from,
    appliedByType: new Map(),
  };
  if (fresh.length === 0) return result;

  const exceptions: ExceptionRow[] = [];
  const parsed: Incoming[] = [];
  for (const r of fresh) {
    const read = readSettlementEvent(r.value, r.headers.eventId);
    if (!isUnreadable(read)) {
      parsed.push({ event: read, partition: r.partition, offset: r.offset });
      continue;
    }
    const p = read.partial ?? {};
    exceptions.push({
      businessDay: dayOf(r.timestamp),
      rule: read.rule,
      reason: read.reason,
      eventId: read.eventId ?? null,
      paymentId: p.paymentId ?? null,
      merchantId: p.merchantId ?? null,
      currency: p.currency ?? null,
      type: p.type ?? null,
      amount: p.amount ?? null,
      partition: r.partition,
      offset: r.offset,
    });
  }

  // Duplicates: an event id already recorded (or seen earlier in this batch) with the same
  // content is ignored; with other content it is an exception and the first one stands.
  const known = new Map<string, SettlementEvent>();
  if (parsed.length > 0) {
    const rows = await tx.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM settlement_events WHERE event_id = ANY($1::text[])`,
      [parsed.map((p) => p.event.eventId)],
    );
    for (const r of rows) known.set(r.event_id, toEvent(r));
  }
  const incoming: Incoming[] = [];
  for (const p of parsed) {
    const before = known.get(p.event.eventId);
    if (!before) {
      known.set(p.event.eventId, p.event);
      incoming.push(p);
    } else if (sameContent(before, p.event)) {
      result.duplicates++;
    } else {
      exceptions.push({
        ...exceptionOf({
          ...p,
          disposition: "EXCEPTION",
          rule: "event_id_reused",
          reason: "an event with this id and other content was recorded first",
          fee: 0n,
          businessDay: dayOf(p.event.occurredAt),
          postedDay: null,
          heldAt: null,
        }),
      });
    }
  }

  const paymentIds = [...new Set(incoming.map((i) => i.event.paymentId))].sort();
  const { states, held } = await loadPayments(tx, paymentIds);
  const heldBefore = new Set([...held.values()].flat().map((h) => h.event.eventId));
  const fees = await feeRates(tx, [...new Set(incoming.map((i) => i.event.merchantId))]);
  let earliest = "9999-12-31";
  for (const i of [...incoming, ...[...held.values()].flat()]) {
    const d = dayOf(i.event.occurredAt);
    if (d < earliest) earliest = d;
  }
  const closed = incoming.length > 0 ? await closedDaysFrom(tx, earliest) : new Set<string>();
  const run = runEngine(states, held, incoming, {
    feeBps: (m) => fees.get(m) ?? 0,
    businessDay: dayOf,
    postingDay: postingDayFn(closed),
    now,
  });
  const outcomes = [...run.outcomes.values()];
  for (const o of outcomes) {
    const wasHeld = heldBefore.has(o.event.eventId);
    if (o.disposition === "HELD") {
      if (!wasHeld) result.held++;
      continue;
    }
    if (o.disposition === "EXCEPTION") exceptions.push(exceptionOf(o));
    else {
      result.applied++;
      if (wasHeld) result.released++;
      result.appliedByType.set(o.event.type, (result.appliedByType.get(o.event.type) ?? 0) + 1);
    }
  }
  await persist(tx, run.states, outcomes, run.lines, exceptions);
  result.exceptions = exceptions.map((e) => e.rule);
  result.nextOffset = BigInt(fresh.at(-1)!.offset) + 1n;
  await tx.query(
    `UPDATE settlement_offsets SET next_offset = $3, updated_at = now()
      WHERE topic = $1 AND partition = $2`,
    [opts.topic, partition, String(result.nextOffset)],
  );
  return result;
}

/**
 * Held events waiting longer than `limitMs` become exceptions under the rule they wait on (the
 * missing authorization, say). Returns the rules of the events turned into exceptions.
 */
export async function expireHeld(tx: Queryable, limitMs: number, now: number): Promise<Rule[]> {
  await tx.query("SELECT pg_advisory_xact_lock_shared(hashtext($1))", [DAYS_LOCK]);
  const rows = await tx.query<EventRow & { business_day: string; reason: string }>(
    `SELECT ${EVENT_COLUMNS}, business_day::text, reason FROM settlement_events
      WHERE disposition = 'HELD' AND held_at < to_timestamp($1 / 1000.0)
      ORDER BY payment_id FOR UPDATE SKIP LOCKED LIMIT 10000`,
    [now - limitMs],
  );
  if (rows.length === 0) return [];
  const limit = `held ${Math.round(limitMs / 1000)} s without the missing event arriving`;
  await tx.query(
    `UPDATE settlement_events SET disposition = 'EXCEPTION', held_at = NULL,
            reason = reason || '; ' || $2, recorded_at = now()
      WHERE event_id = ANY($1::text[])`,
    [rows.map((r) => r.event_id), limit],
  );
  await insertExceptions(
    tx,
    rows.map((r) => ({
      businessDay: r.business_day,
      rule: r.rule as Rule,
      reason: `${r.reason}; ${limit}`,
      eventId: r.event_id,
      paymentId: r.payment_id,
      merchantId: r.merchant_id,
      currency: r.currency,
      type: r.type,
      amount: r.amount,
      partition: r.topic_partition,
      offset: r.topic_offset,
    })),
  );
  return rows.map((r) => r.rule as Rule);
}
