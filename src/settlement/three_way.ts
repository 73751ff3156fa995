/**
 * Three-way reconciliation of one business day: what the service accepted (the outbox), what was
 * published (the topic, read_committed) and what settlement recorded (the ledger: applied events
 * and exceptions) must agree per merchant, currency and event type, in count and sum. Totals are
 * compared first; only a group that disagrees is compared event by event, so the report can name
 * the event ids without holding every day's ids from Postgres in memory.
 */
import type { Queryable } from "../outbox/db.ts";
import type { TopicRecord } from "../kafka/topic_reader.ts";
import { type BusinessCalendar, dayBounds } from "./business_day.ts";
import { isUnreadable, readSettlementEvent } from "./settlement_event.ts";
import type { Tally } from "./statements.ts";

/** How far before the day's start the topic is read: events accepted before their occurredAt. */
export const TOPIC_LOOKBACK_MS = 86_400_000;
/** At most this many differences are listed by event id (all are counted). */
export const MAX_LISTED_DIFFERENCES = 1000;

/** One group's totals in the three sources. */
export interface GroupTotals {
  merchantId: string;
  currency: string;
  type: string;
  outbox: Tally;
  topic: Tally;
  ledger: Tally;
}

/** One event that is not the same in all three sources (null: absent there). */
export interface Difference {
  eventId: string;
  merchantId: string;
  currency: string;
  type: string;
  outbox: string | null;
  topic: string | null;
  ledger: string | null;
  /** Where the ledger has it when it is held (waiting) rather than applied. */
  note?: string;
}

/** The reconciliation of one day. */
export interface ReconciliationReport {
  day: string;
  checkedAt: string;
  clean: boolean;
  /** Events that differ (all of them; `differences` lists the first MAX_LISTED_DIFFERENCES). */
  differenceCount: number;
  differences: Difference[];
  groups: GroupTotals[];
  /** Extra copies of events in the topic (at-least-once republishing); not a difference. */
  topicDuplicates: number;
  /** Events of the day still held by the ledger, waiting for a missing event. */
  held: number;
  /** False when the ledger had not caught up with the topic within the wait. */
  caughtUp: boolean;
  /**
   * False when this database has no outbox (the settlement process on its own embedded store):
   * only the topic and the ledger were compared.
   */
  outboxAvailable: boolean;
}

/** Reads the topic from an instant to its end, record by record. */
export type TopicScan = (fromMs: number, onRecord: (r: TopicRecord) => void) => Promise<void>;

/** What reconciliation reads. */
export interface ReconcileDeps {
  db: Queryable;
  calendar: BusinessCalendar;
  topic: string;
  scanTopic: TopicScan;
  /** How long to wait for the ledger to catch up with what the topic holds (default 30 s). */
  catchUpMs?: number;
  now?: () => number;
}

type Key = string;
const keyOf = (m: string, c: string, t: string): Key => `${m}\u0000${c}\u0000${t}`;
const splitKey = (k: Key) => {
  const [merchantId, currency, type] = k.split("\u0000") as [string, string, string];
  return { merchantId, currency, type };
};

interface Side {
  tallies: Map<Key, { count: number; sum: bigint }>;
}

function add(side: Side, key: Key, amount: bigint) {
  const t = side.tallies.get(key) ?? { count: 0, sum: 0n };
  t.count++;
  t.sum += amount;
  side.tallies.set(key, t);
}

async function sqlTallies(q: Queryable, text: string, params: unknown[]): Promise<Side> {
  const rows = await q.query<{ m: string; c: string; t: string; n: string; s: string }>(
    text,
    params,
  );
  return {
    tallies: new Map(
      rows.map((r) => [keyOf(r.m, r.c, r.t), { count: Number(r.n), sum: BigInt(r.s) }]),
    ),
  };
}

const OUTBOX_DAY = `FROM outbox
  WHERE (payload->>'occurredAt')::timestamptz >= to_timestamp($1 / 1000.0)
    AND (payload->>'occurredAt')::timestamptz < to_timestamp($2 / 1000.0)`;
/** The ledger's events of the day: business_day is the day of occurred_at (indexed). */
const LEDGER_DAY = `FROM settlement_events
  WHERE business_day = $3::date
    AND occurred_at >= to_timestamp($1 / 1000.0) AND occurred_at < to_timestamp($2 / 1000.0)`;

/** The ledger's stored offsets of `topic` as one comparable string. */
async function storedOffsets(q: Queryable, topic: string): Promise<string> {
  const rows = await q.query<{ partition: number; next_offset: string }>(
    `SELECT partition, next_offset::text FROM settlement_offsets WHERE topic = $1
      ORDER BY partition`,
    [topic],
  );
  return rows.map((r) => `${r.partition}:${r.next_offset}`).join(",");
}

/** The ledger's counts and sums of the day (applied and exceptions), and its held events. */
async function ledgerTallies(
  q: Queryable,
  bounds: number[],
  day: string,
): Promise<{ ledger: Side; held: number }> {
  const rows = await q.query<{ m: string; c: string; t: string; n: string; s: string; h: string }>(
    `SELECT merchant_id AS m, currency AS c, type AS t,
            count(*) FILTER (WHERE disposition <> 'HELD')::text AS n,
            coalesce(sum(amount) FILTER (WHERE disposition <> 'HELD'), 0)::text AS s,
            count(*) FILTER (WHERE disposition = 'HELD')::text AS h
       ${LEDGER_DAY} GROUP BY 1, 2, 3`,
    [...bounds, day],
  );
  const ledger: Side = { tallies: new Map() };
  let held = 0;
  for (const r of rows) {
    held += Number(r.h);
    if (Number(r.n) > 0) {
      ledger.tallies.set(keyOf(r.m, r.c, r.t), { count: Number(r.n), sum: BigInt(r.s) });
    }
  }
  return { ledger, held };
}

/** Waits until the ledger's stored offsets pass the last record the topic read saw. */
async function waitForLedger(
  q: Queryable,
  topic: string,
  lastSeen: Map<number, bigint>,
  waitMs: number,
): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const rows = await q.query<{ partition: number; next_offset: string }>(
      "SELECT partition, next_offset::text FROM settlement_offsets WHERE topic = $1",
      [topic],
    );
    const stored = new Map(rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]));
    const behind = [...lastSeen].some(([p, last]) => (stored.get(p) ?? 0n) <= last);
    if (!behind) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Reconciles business day `day`. */
export async function reconcileDay(
  deps: ReconcileDeps,
  day: string,
): Promise<ReconciliationReport> {
  const { start, end } = dayBounds(day, deps.calendar);
  const [exists] = await deps.db.query<{ t: string | null }>(
    "SELECT to_regclass('outbox')::text AS t",
  );
  const outboxAvailable = !!exists?.t;
  // The topic first: the ledger is then read once it has caught up with what the topic held.
  const topic: Side = { tallies: new Map() };
  const topicIds = new Map<Key, Map<string, string>>();
  const lastSeen = new Map<number, bigint>();
  let topicDuplicates = 0;
  const bounds = [start, end];
  // The outbox is summed while the topic is read: Postgres and the reader work side by side.
  // Without an outbox, the topic stands in for it: only topic and ledger are compared.
  const outboxSide = outboxAvailable
    ? sqlTallies(
      deps.db,
      `SELECT payload->>'merchantId' AS m, payload->>'currency' AS c, type AS t,
              count(*)::text AS n, sum((payload->>'amount')::numeric)::text AS s ${OUTBOX_DAY}
        GROUP BY 1, 2, 3`,
      bounds,
    )
    : Promise.resolve(topic);
  outboxSide.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  // The ledger is summed meanwhile too. Its sums count only if no batch was applied between
  // this snapshot of the stored offsets and the one taken once the ledger has caught up;
  // otherwise they are taken again.
  const offsetsBefore = await storedOffsets(deps.db, deps.topic);
  const early = ledgerTallies(deps.db, bounds, day);
  early.catch(() => {});
  await deps.scanTopic(start - TOPIC_LOOKBACK_MS, (r) => {
    const off = BigInt(r.offset);
    // A partition's records come in offset order: one at or below the last seen is the reader
    // handing it over again after a restart.
    if (off <= (lastSeen.get(r.partition) ?? -1n)) return;
    lastSeen.set(r.partition, off);
    const e = readSettlementEvent(r.value ?? null, r.eventId);
    if (isUnreadable(e) || e.occurredAt < start || e.occurredAt >= end) return;
    const key = keyOf(e.merchantId, e.currency, e.type);
    const ids = topicIds.get(key) ?? new Map<string, string>();
    topicIds.set(key, ids);
    if (ids.has(e.eventId)) {
      topicDuplicates++;
      return;
    }
    ids.set(e.eventId, String(e.amount));
    add(topic, key, e.amount);
  });
  const caughtUp = await waitForLedger(deps.db, deps.topic, lastSeen, deps.catchUpMs ?? 30_000);
  const unchanged = (await storedOffsets(deps.db, deps.topic)) === offsetsBefore;
  const [outbox, { ledger, held }] = await Promise.all([
    outboxSide,
    unchanged ? early : ledgerTallies(deps.db, bounds, day),
  ]);

  const keys = new Set([
    ...outbox.tallies.keys(),
    ...topic.tallies.keys(),
    ...ledger.tallies.keys(),
  ]);
  const groups: GroupTotals[] = [];
  const differences: Difference[] = [];
  let differenceCount = 0;
  const tally = (s: Side, k: Key): Tally => {
    const t = s.tallies.get(k);
    return { count: t?.count ?? 0, amount: String(t?.sum ?? 0n) };
  };
  for (const k of [...keys].sort()) {
    const g = {
      ...splitKey(k),
      outbox: tally(outbox, k),
      topic: tally(topic, k),
      ledger: tally(ledger, k),
    };
    groups.push(g);
    const same = (a: Tally, b: Tally) => a.count === b.count && a.amount === b.amount;
    if (same(g.outbox, g.topic) && same(g.topic, g.ledger)) continue;
    const ids = topicIds.get(k) ?? new Map<string, string>();
    const diffs = await groupDifferences(deps.db, day, bounds, g, ids, outboxAvailable);
    differenceCount += diffs.length;
    for (const d of diffs) if (differences.length < MAX_LISTED_DIFFERENCES) differences.push(d);
  }
  return {
    day,
    checkedAt: new Date((deps.now ?? Date.now)()).toISOString(),
    clean: differenceCount === 0,
    differenceCount,
    differences,
    groups,
    topicDuplicates,
    held,
    caughtUp,
    outboxAvailable,
  };
}

/** The events of one group that differ between the sources. */
async function groupDifferences(
  q: Queryable,
  day: string,
  bounds: number[],
  g: { merchantId: string; currency: string; type: string },
  topicIds: Map<string, string>,
  outboxAvailable: boolean,
): Promise<Difference[]> {
  const params = [...bounds, g.merchantId, g.currency, g.type];
  const [outboxRows, ledgerRows] = await Promise.all([
    outboxAvailable
      ? q.query<{ id: string; a: string }>(
        `SELECT id::text AS id, payload->>'amount' AS a ${OUTBOX_DAY}
            AND payload->>'merchantId' = $3 AND payload->>'currency' = $4 AND type = $5`,
        params,
      )
      : Promise.resolve([...topicIds].map(([id, a]) => ({ id, a }))),
    q.query<{ id: string; a: string; d: string }>(
      `SELECT event_id AS id, amount::text AS a, disposition AS d ${LEDGER_DAY}
          AND merchant_id = $4 AND currency = $5 AND type = $6`,
      [...bounds, day, g.merchantId, g.currency, g.type],
    ),
  ]);
  const outbox = new Map(outboxRows.map((r) => [r.id, r.a]));
  const ledger = new Map(ledgerRows.map((r) => [r.id, r]));
  const ids = new Set([...outbox.keys(), ...topicIds.keys(), ...ledger.keys()]);
  const out: Difference[] = [];
  for (const id of [...ids].sort()) {
    const l = ledger.get(id);
    const o = outbox.get(id) ?? null;
    const t = topicIds.get(id) ?? null;
    const held = l?.d === "HELD";
    const lv = l && !held ? l.a : null;
    if (o !== null && o === t && t === lv) continue;
    out.push({
      eventId: id,
      ...g,
      outbox: o,
      topic: t,
      ledger: lv,
      ...(held ? { note: "held by the ledger, waiting for a missing event" } : {}),
    });
  }
  return out;
}
