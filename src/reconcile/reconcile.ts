/**
 * Reconciliation: does the topic hold every event the outbox says it published, once and in
 * order? Compares the outbox's PUBLISHED rows (published_at in a range) with the topic's records.
 */
import type { Queryable } from "../outbox/db.ts";
import { publishedPage, unpublishedCounts } from "../outbox/repository.ts";
import { compareOutboxWithTopic, type Findings, type PublishedEvent } from "./compare.ts";
import { readTopic, type TopicSlice } from "../kafka/topic_reader.ts";

/** Options of `reconcile`. */
export interface ReconcileOptions {
  brokers: string[];
  topic: string;
  since: Date;
  until: Date;
  /**
   * How far before `since` to start reading the topic: a record is stamped when it is sent,
   * which can be well before its row was marked published (a retry after a lost ack, a lapsed
   * claim). Default 10 minutes. Ignored with `fromBeginning`.
   */
  lookbackMs?: number;
  /** Read the whole topic instead of starting near `since`. */
  fromBeginning?: boolean;
  /** Longest the topic read may take; default 60 s. */
  readTimeoutMs?: number;
}

/** The outcome of one reconciliation; `clean` is false when anything is missing or out of order. */
export interface ReconcileReport extends Findings {
  topic: string;
  since: string;
  until: string;
  clean: boolean;
  /** Records read, and where each partition's read started and stopped. */
  recordsRead: number;
  partitions: TopicSlice["partitions"];
  /** Rows in the range that are not published (yet): informative, never a failure. */
  pendingInRange: number;
  deadLetteredInRange: number;
  durationMs: number;
}

const PAGE = 10_000;

/** The outbox's PUBLISHED events with published_at in [since, until), in acceptance order. */
export async function loadPublishedEvents(
  db: Queryable,
  since: Date,
  until: Date,
  pageSize = PAGE,
): Promise<PublishedEvent[]> {
  const out: PublishedEvent[] = [];
  let after = "0";
  // Keyset pages keep each query small on a large outbox.
  for (;;) {
    const rows = await publishedPage(db, { since, until, after, limit: pageSize });
    for (const r of rows) {
      out.push({
        seq: String(r.seq),
        id: r.id,
        key: r.aggregateid,
        publishedAt: new Date(r.published_at),
      });
    }
    if (rows.length < pageSize) return out;
    after = String(rows.at(-1)!.seq);
  }
}

/** Compares the outbox with the topic over [since, until) and reports what differs. */
export async function reconcile(db: Queryable, opts: ReconcileOptions): Promise<ReconcileReport> {
  if (!(opts.since.getTime() < opts.until.getTime())) {
    throw new RangeError(
      `since (${opts.since.toISOString()}) must be before until (${opts.until.toISOString()})`,
    );
  }
  const t0 = performance.now();
  // The outbox first: every row published by now was acknowledged by Kafka, so the topic read
  // that follows (up to the high watermarks of that moment) must hold it.
  const events = await loadPublishedEvents(db, opts.since, opts.until);
  const counts = await unpublishedCounts(db, opts);
  const slice = await readTopic({
    brokers: opts.brokers,
    topic: opts.topic,
    fromTimestamp: opts.fromBeginning
      ? undefined
      : opts.since.getTime() - (opts.lookbackMs ?? 10 * 60_000),
    timeoutMs: opts.readTimeoutMs,
  });
  const findings = compareOutboxWithTopic(events, slice.records);
  return {
    topic: opts.topic,
    since: opts.since.toISOString(),
    until: opts.until.toISOString(),
    ...findings,
    clean: findings.missing.length === 0 && findings.outOfOrder.length === 0,
    recordsRead: slice.records.length,
    partitions: slice.partitions,
    pendingInRange: counts.pending,
    deadLetteredInRange: counts.deadLettered,
    durationMs: Math.round(performance.now() - t0),
  };
}
