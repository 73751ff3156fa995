/**
 * The exactly-once checker, independent of the service's own bookkeeping: it reads the topic
 * back with read_committed (and, for the report, read_uncommitted), the outbox table and the
 * brokers' transaction list, and compares them with what the load generator saw acknowledged.
 */
import type { Db } from "../../src/outbox/db.ts";
import { readTopic, type TopicRecord } from "../../src/kafka/topic_reader.ts";
import type { Cluster } from "../../scripts/lib/kafka_ctl.ts";
import type { LoadResult } from "../../scripts/lib/load.ts";
import { waitDrained } from "../../scripts/lib/checks.ts";
import { compareRecords } from "../../src/reconcile/compare.ts";

/** The figures of one run. */
export interface ExactlyOnceVerdict {
  acknowledged: number;
  /** Rows in the outbox (acknowledged or not: a request that timed out may still be stored). */
  outboxRows: number;
  /** Records read with read_committed. */
  committed: number;
  distinct: number;
  /** Records read with read_uncommitted (aborted transactions' records included). */
  uncommitted: number;
  lost: number;
  duplicates: number;
  /** Published rows missing from the topic, or topic records with no PUBLISHED row. */
  setMismatch: number;
  orderViolations: number;
  /** Rows neither PUBLISHED nor DEAD_LETTERED when the system was quiet. */
  unsettled: number;
  /** Transactions left open (Ongoing, PrepareCommit, PrepareAbort) on the brokers. */
  openTransactions: string[];
  failures: string[];
}

const OPEN_STATES = new Set(["Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"]);

/** Checks one run once the system is quiet (every row settled, or `settleMs` passed). */
export async function checkExactlyOnce(opts: {
  db: Db;
  cluster: Cluster;
  topic: string;
  load: LoadResult;
  settleMs: number;
  /** At-least-once mode: duplicates are reported, not failures. */
  allowDuplicates?: boolean;
}): Promise<ExactlyOnceVerdict> {
  const { db, load } = opts;
  const failures: string[] = [];
  const unsettled = await waitDrained(db, opts.settleMs);
  const rows = await db.query<{ id: string; status: string }>(
    "SELECT id::text AS id, status FROM outbox",
  );
  const published = new Set(rows.filter((r) => r.status === "PUBLISHED").map((r) => r.id));
  const stored = new Set(rows.map((r) => r.id));
  const committed = await readTopic({
    brokers: opts.cluster.brokers,
    topic: opts.topic,
    isolation: "read_committed",
    timeoutMs: 90_000,
  });
  const uncommitted = await readTopic({
    brokers: opts.cluster.brokers,
    topic: opts.topic,
    isolation: "read_uncommitted",
    timeoutMs: 90_000,
  });
  const records = [...committed.records].sort(compareRecords);
  const copies = new Map<string, number>();
  for (const r of records) copies.set(r.eventId, (copies.get(r.eventId) ?? 0) + 1);
  let duplicates = 0;
  for (const n of copies.values()) duplicates += n - 1;

  const acked = [...load.acked.keys()];
  const lostIds = acked.filter((id) => !copies.has(id));
  const notStored = acked.filter((id) => !stored.has(id));
  const unpublishedInTopic = [...copies.keys()].filter((id) => !published.has(id));
  const publishedNotInTopic = [...published].filter((id) => !copies.has(id));

  const orderViolations = countOrderViolations(load, records);
  let openTransactions: string[] = [];
  try {
    openTransactions = (await opts.cluster.transactions())
      .filter((t) => OPEN_STATES.has(t.state)).map((t) => `${t.id} ${t.state}`);
  } catch (e) {
    failures.push(`could not list the brokers' transactions: ${(e as Error).message}`);
  }

  if (lostIds.length > 0) {
    failures.push(`${lostIds.length} acknowledged events not in the topic: ${lostIds.slice(0, 5)}`);
  }
  if (duplicates > 0 && !opts.allowDuplicates) {
    failures.push(`${duplicates} duplicate records in the topic`);
  }
  if (notStored.length > 0) failures.push(`${notStored.length} acknowledged events not stored`);
  if (unpublishedInTopic.length + publishedNotInTopic.length > 0) {
    failures.push(
      `topic and outbox disagree: ${unpublishedInTopic.length} records without a PUBLISHED row (${
        unpublishedInTopic.slice(0, 3)
      }), ${publishedNotInTopic.length} PUBLISHED rows not in the topic (${
        publishedNotInTopic.slice(0, 3)
      })`,
    );
  }
  if (orderViolations > 0) failures.push(`${orderViolations} per-key order violations`);
  if (unsettled > 0) failures.push(`${unsettled} rows still PENDING when the run ended`);
  if (unsettled < 0) failures.push("the outbox could not be read when the run ended");
  if (openTransactions.length > 0) {
    failures.push(`transactions left open: ${openTransactions.slice(0, 5).join(", ")}`);
  }
  return {
    acknowledged: acked.length,
    outboxRows: rows.length,
    committed: records.length,
    distinct: copies.size,
    uncommitted: uncommitted.records.length,
    lost: lostIds.length,
    duplicates,
    setMismatch: unpublishedInTopic.length + publishedNotInTopic.length,
    orderViolations,
    unsettled,
    openTransactions,
    failures,
  };
}

/**
 * Per payment id, the acknowledged events must appear in the order their answers came (a key
 * lives in one partition, so offsets order them). Counts adjacent inversions.
 */
function countOrderViolations(load: LoadResult, records: TopicRecord[]): number {
  const at = new Map<string, number>();
  records.forEach((r, i) => {
    if (!at.has(r.eventId)) at.set(r.eventId, i);
  });
  let violations = 0;
  for (const ids of load.ackOrder.values()) {
    let last = -1;
    for (const id of ids) {
      const i = at.get(id);
      if (i === undefined) continue;
      if (i < last) violations++;
      last = Math.max(last, i);
    }
  }
  return violations;
}
