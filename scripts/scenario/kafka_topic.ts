/**
 * The trip-and-recover scenario's independent view of Kafka (step 9): reads the topic from the
 * beginning with a fresh consumer group until every event id of the ledger has been seen (or the
 * timeout passes), then checks per-key order: for each payment id, the first copy of each event
 * must appear in the order the service acknowledged them. Duplicates are allowed (at-least-once)
 * and reported.
 */
import { readTopic } from "../../src/kafka/topic_reader.ts";

/** One acknowledged event, in acceptance order. */
export interface Acknowledged {
  eventId: string;
  paymentId: string;
}

interface Seen {
  eventId: string;
  key: string;
  partition: number;
  offset: bigint;
}

/** The reader's verdict: exit-code-like `code` (0 ok, 1 missing or out of order, 2 unreadable). */
export interface Verification {
  code: number;
  /** One summary line (empty when the topic could not be read). */
  summary: string;
  /** Details: missing ids, order problems, or why the read failed. */
  errors: string[];
}

/** Per key: the acknowledged order versus the order of first appearance on the topic. */
export function checkOrder(expected: Acknowledged[], seen: Seen[]): string[] {
  const problems: string[] = [];
  const keys = new Set(expected.map((e) => e.paymentId));
  for (const key of keys) {
    const order = expected.filter((e) => e.paymentId === key).map((e) => e.eventId);
    const copies = seen.filter((s) => s.key === key);
    const partitions = new Set(copies.map((s) => s.partition));
    if (partitions.size > 1) {
      problems.push(`key ${key} spread over partitions ${[...partitions].join(",")}`);
      continue;
    }
    copies.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    const firstSeen: string[] = [];
    for (const c of copies) if (!firstSeen.includes(c.eventId)) firstSeen.push(c.eventId);
    const present = order.filter((id) => firstSeen.includes(id));
    if (present.join() !== firstSeen.join()) {
      problems.push(
        `key ${key}: acknowledged ${present.join(" ")} but the topic holds ${firstSeen.join(" ")}`,
      );
    }
  }
  return problems;
}

/** Reads the topic until every acknowledged id is found and checks per-key order. */
export async function verifyLedger(
  brokers: string[],
  topic: string,
  ledger: Acknowledged[],
  timeoutMs: number,
): Promise<Verification> {
  const expected = ledger.map((e) => ({ ...e, eventId: e.eventId.toLowerCase() }));
  const ids = new Set(expected.map((e) => e.eventId));
  if (ids.size === 0) {
    return { code: 1, summary: "", errors: ["kafka_topic.ts: the ledger holds no event ids"] };
  }
  let seen: Seen[];
  try {
    const { records } = await readTopic({
      brokers,
      topic,
      untilIds: ids,
      timeoutMs,
      clientId: "breaker-scenario-reader",
    });
    seen = records
      .map((r) => ({ ...r, eventId: r.eventId.toLowerCase(), offset: BigInt(r.offset) }))
      .filter((r) => ids.has(r.eventId));
  } catch (e) {
    return {
      code: 2,
      summary: "",
      errors: [`kafka_topic.ts: verify failed: ${(e as Error).message}`],
    };
  }
  const found = new Set(seen.map((s) => s.eventId));
  const missing = [...ids].filter((id) => !found.has(id));
  const problems = checkOrder(expected, seen);
  const keys = new Set(expected.map((e) => e.paymentId)).size;
  const duplicates = seen.length - found.size;
  const summary = `read ${found.size}/${ids.size} acknowledged ids from ${topic} (${keys} keys, ` +
    `${duplicates} duplicate copies), ${missing.length} missing, ` +
    `${problems.length} keys out of order`;
  const errors = [
    ...missing.slice(0, 20).map((id) =>
      `missing: ${id} (paymentId ${expected.find((x) => x.eventId === id)?.paymentId})`
    ),
    ...problems.map((p) => `order: ${p}`),
  ];
  return { code: missing.length === 0 && problems.length === 0 ? 0 : 1, summary, errors };
}
