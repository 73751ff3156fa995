/**
 * The comparison at the heart of reconciliation, free of I/O: the outbox's published events on
 * one side, the records read from the topic on the other. An event is missing when no record
 * carries its id; duplicated when several do (allowed: consumers drop copies by event id); out of
 * order when the first copies of one key's events are not in the outbox's acceptance order.
 */
import type { TopicRecord } from "../kafka/topic_reader.ts";

export type { TopicRecord };

/** One PUBLISHED outbox row, as reconciliation needs it. */
export interface PublishedEvent {
  /** The outbox `seq` (acceptance order) as decimal text. */
  seq: string;
  id: string;
  /** The payment id, which is also the Kafka key. */
  key: string;
  publishedAt: Date;
}

/** An outbox event with no record in the topic. */
export interface MissingEvent {
  eventId: string;
  key: string;
  seq: string;
  publishedAt: string;
}

/** An event the topic holds more than once. */
export interface DuplicatedEvent {
  eventId: string;
  key: string;
  copies: number;
  /** "partition:offset" of every copy, first copy first. */
  at: string[];
}

/** One key whose first copies are not in acceptance order. */
export interface OrderViolation {
  key: string;
  /** Adjacent pairs of first copies whose acceptance order is reversed. */
  inversions: number;
  /** Event ids in acceptance (seq) order, restricted to the events found. */
  expected: string[];
  /** The same ids in the order their first copies appear in the topic. */
  actual: string[];
  /** True when the key's records sit in more than one partition (topic repartitioned). */
  spansPartitions: boolean;
}

/** What a comparison found. */
export interface Findings {
  /** Outbox events compared. */
  checked: number;
  /** Of those, events with at least one record in the topic. */
  found: number;
  /** Keys (payment ids) among the events compared. */
  keys: number;
  missing: MissingEvent[];
  duplicated: DuplicatedEvent[];
  /** Extra copies over all duplicated events (copies - 1, summed). */
  duplicateCopies: number;
  outOfOrder: OrderViolation[];
  /** Sum of `inversions` over `outOfOrder`. */
  orderInversions: number;
  /** Records whose event id is not among the events compared (another range or producer). */
  unmatchedRecords: number;
  /** Records without an `eventId` header. */
  recordsWithoutEventId: number;
  /** Events whose record carries a different key than the outbox's payment id. */
  wrongKey: { eventId: string; expected: string; actual: string }[];
}

/** Orders records as a consumer of one partition sees them: by partition, then offset. */
export function compareRecords(a: TopicRecord, b: TopicRecord): number {
  if (a.partition !== b.partition) return a.partition - b.partition;
  const x = BigInt(a.offset);
  const y = BigInt(b.offset);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Counts adjacent pairs that are out of order in `ranks` (each the expected position of the
 * element at that place); 0 means the sequence is increasing.
 */
export function countInversions(ranks: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < ranks.length; i++) if (ranks[i]! < ranks[i - 1]!) n++;
  return n;
}

/** Compares the outbox's published events with the topic's records. */
export function compareOutboxWithTopic(
  events: readonly PublishedEvent[],
  records: readonly TopicRecord[],
): Findings {
  const byId = new Map<string, PublishedEvent>();
  for (const e of events) byId.set(e.id.toLowerCase(), e);

  const sorted = [...records].sort(compareRecords);
  const copies = new Map<string, TopicRecord[]>();
  let unmatchedRecords = 0;
  let recordsWithoutEventId = 0;
  for (const r of sorted) {
    const id = r.eventId.toLowerCase();
    if (id === "") {
      recordsWithoutEventId++;
      continue;
    }
    if (!byId.has(id)) {
      unmatchedRecords++;
      continue;
    }
    const list = copies.get(id);
    if (list) list.push(r);
    else copies.set(id, [r]);
  }

  const missing: MissingEvent[] = [];
  const duplicated: DuplicatedEvent[] = [];
  const wrongKey: Findings["wrongKey"] = [];
  let duplicateCopies = 0;
  const perKey = new Map<string, PublishedEvent[]>();
  for (const e of events) {
    const list = perKey.get(e.key);
    if (list) list.push(e);
    else perKey.set(e.key, [e]);
    const found = copies.get(e.id.toLowerCase());
    if (!found) {
      missing.push({
        eventId: e.id,
        key: e.key,
        seq: e.seq,
        publishedAt: e.publishedAt.toISOString(),
      });
      continue;
    }
    if (found.length > 1) {
      duplicateCopies += found.length - 1;
      duplicated.push({
        eventId: e.id,
        key: e.key,
        copies: found.length,
        at: found.map((r) => `${r.partition}:${r.offset}`),
      });
    }
    if (found[0]!.key !== e.key) {
      wrongKey.push({ eventId: e.id, expected: e.key, actual: found[0]!.key });
    }
  }

  const outOfOrder: OrderViolation[] = [];
  let orderInversions = 0;
  for (const [key, list] of perKey) {
    const expected = [...list]
      .sort((a, b) => compareSeq(a.seq, b.seq))
      .filter((e) => copies.has(e.id.toLowerCase()));
    if (expected.length < 2) continue;
    const rank = new Map(expected.map((e, i) => [e.id.toLowerCase(), i]));
    const firsts = expected.map((e) => copies.get(e.id.toLowerCase())![0]!);
    const spansPartitions = new Set(firsts.map((r) => r.partition)).size > 1;
    // One partition: offsets are the order a consumer sees. Several (the topic was repartitioned):
    // no consumer order exists across partitions, so record time is the best available.
    const actual = [...firsts].sort((a, b) =>
      spansPartitions ? a.timestamp - b.timestamp || compareRecords(a, b) : compareRecords(a, b)
    );
    const inversions = countInversions(actual.map((r) => rank.get(r.eventId.toLowerCase())!));
    if (inversions > 0) {
      orderInversions += inversions;
      outOfOrder.push({
        key,
        inversions,
        expected: expected.map((e) => e.id),
        actual: actual.map((r) => r.eventId),
        spansPartitions,
      });
    }
  }

  return {
    checked: events.length,
    found: events.length - missing.length,
    keys: perKey.size,
    missing,
    duplicated,
    duplicateCopies,
    outOfOrder,
    orderInversions,
    unmatchedRecords,
    recordsWithoutEventId,
    wrongKey,
  };
}

function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
