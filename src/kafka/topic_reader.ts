/**
 * The one reader of the event topic (reconciliation, the fault suite, the soak, the breaker
 * scenario, the bench and the integration tests): an independent kafkajs consumer in a fresh
 * group that commits nothing and is deleted afterwards, starting near a timestamp (or at the
 * beginning) and stopping either at the high watermarks seen when the read began or once given
 * event ids have all been read.
 */
import type { Kafka } from "kafkajs";
import { kafkaClient } from "./client.ts";
import { withDeadline } from "../deadline.ts";

/** One record read from the topic. */
export interface TopicRecord {
  /** The `eventId` header; "" when the record has none. */
  eventId: string;
  key: string;
  partition: number;
  /** Kafka offset as decimal text (offsets exceed 2^53 in theory). */
  offset: string;
  /** The record's timestamp, epoch ms. */
  timestamp: number;
  /** The record's value as text; only with `values: true`. */
  value?: string;
}

/** Options of `readTopic`. */
export interface ReadTopicOptions {
  brokers: string[];
  topic: string;
  /** Start at the first record at or after this epoch ms; omitted: from the beginning. */
  fromTimestamp?: number;
  /**
   * Stop once every one of these event ids has been read, instead of at the high watermarks seen
   * when the read began. Missing ids are then an answer, not an error: at the deadline the read
   * resolves with what it has and `complete: false`.
   */
  untilIds?: Iterable<string>;
  /** The deadline in ms (default 60 s); reading to the high watermarks rejects when it passes. */
  timeoutMs?: number;
  /** Keep each record's value as text (default false: big reads stay small). */
  values?: boolean;
  /**
   * read_committed (default): records of aborted or still open transactions are skipped, and
   * the read waits for open transactions to end. read_uncommitted: every record written.
   */
  isolation?: "read_committed" | "read_uncommitted";
  clientId?: string;
  /**
   * Hands each record to this callback instead of keeping it (a big read stays small); `records`
   * is then empty. After a reader restart a record can be handed over twice.
   */
  onRecord?: (record: TopicRecord) => void;
}

/** The records read and where the read started and stopped, per partition. */
export interface TopicSlice {
  records: TopicRecord[];
  /** Where each partition's read started and (reading to the high watermarks) stopped. */
  partitions: { partition: number; start: string; end: string }[];
  /** False when `untilIds` were not all read by the deadline. */
  complete: boolean;
}

/** Raised when the topic could not be read to its end in time, or the reader crashed. */
export class TopicReadError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "TopicReadError";
  }
}

interface Range {
  partition: number;
  start: bigint;
  /** Exclusive; null when reading until ids are seen. */
  end: bigint | null;
}

/** Reads the topic from `fromTimestamp` (or the beginning) up to the high watermarks or `untilIds`. */
export async function readTopic(opts: ReadTopicOptions): Promise<TopicSlice> {
  const wanted = opts.untilIds === undefined ? null : new Set(opts.untilIds);
  const kafka = kafkaClient({
    clientId: opts.clientId ?? "payment-ingest-topic-reader",
    brokers: opts.brokers,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  const groupId = `topic-reader-${crypto.randomUUID()}`;
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(opts.topic) || wanted?.size === 0) {
      return { records: [], partitions: [], complete: !wanted || wanted.size === 0 };
    }
    const high = await admin.fetchTopicOffsets(opts.topic);
    const starts = opts.fromTimestamp === undefined
      ? high.map((p) => ({ partition: p.partition, offset: p.low }))
      : await admin.fetchTopicOffsetsByTimestamp(opts.topic, opts.fromTimestamp);
    const ranges: Range[] = high.map((p) => {
      const low = BigInt(p.low);
      const from = BigInt(starts.find((s) => s.partition === p.partition)?.offset ?? p.low);
      return {
        partition: p.partition,
        start: from < low ? low : from,
        end: wanted ? null : BigInt(p.high),
      };
    }).sort((a, b) => a.partition - b.partition);
    const partitions = ranges.map((r) => ({
      partition: r.partition,
      start: String(r.start),
      end: r.end === null ? "" : String(r.end),
    }));
    if (!wanted && ranges.every((r) => r.end !== null && r.start >= r.end)) {
      return { records: [], partitions, complete: true };
    }
    const read = await consume(kafka, groupId, ranges, wanted, opts);
    return { records: read.records, partitions, complete: read.complete };
  } finally {
    // The group committed nothing; deleting it keeps the broker's group list clean.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

async function consume(
  kafka: Kafka,
  groupId: string,
  ranges: Range[],
  wanted: Set<string> | null,
  opts: ReadTopicOptions,
): Promise<{ records: TopicRecord[]; complete: boolean }> {
  const { topic } = opts;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: opts.isolation === "read_uncommitted",
    maxWaitTimeInMs: 250,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    retry: { retries: 2 },
  });
  // Keyed by partition and offset: after a restart the consumer reads from the start again.
  const out = new Map<string, TopicRecord>();
  const left = new Map(
    ranges.filter((r) => r.end !== null && r.start < r.end).map((r) => [
      r.partition,
      r,
    ]),
  );
  const byPartition = new Map(ranges.map((r) => [r.partition, r]));
  const missing = new Set(wanted);
  let settle: (complete: boolean) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const done = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const timer = setTimeout(() => {
    if (wanted) return settle(false);
    const where = [...left.values()].map((r) => `partition ${r.partition} (up to ${r.end})`);
    fail(new TopicReadError(`reading ${topic} timed out after ${timeoutMs} ms in ${where}`));
  }, timeoutMs);
  /** A partition is read once a batch ends at or past its end offset. */
  const reached = (partition: number, lastOffset: string) => {
    const range = byPartition.get(partition);
    if (wanted || !range || range.end === null) return;
    if (BigInt(lastOffset) + 1n >= range.end) {
      left.delete(partition);
      if (left.size === 0) settle(true);
    }
  };
  // A batch of nothing but transaction markers or aborted records never reaches eachBatch;
  // kafkajs still reports where it ended. Without this, a partition whose last entry is a
  // commit marker would never count as read to its end.
  consumer.on(
    consumer.events.END_BATCH_PROCESS,
    (e) => reached(e.payload.partition, e.payload.lastOffset),
  );
  consumer.on(consumer.events.CRASH, (e) => {
    // A retriable crash (a group coordinator still loading after a broker restart, say) is
    // followed by kafkajs restarting the consumer by itself; the deadline above still bounds it.
    if (e.payload.restart) return;
    fail(new TopicReadError(`the topic reader crashed: ${String(e.payload.error)}`, e));
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: ({ batch }) => {
        const range = byPartition.get(batch.partition);
        if (!range) return Promise.resolve();
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          // Records before the start can arrive until the seek takes effect; past the end
          // belong to a later read.
          if (offset < range.start || (range.end !== null && offset >= range.end)) continue;
          const eventId = m.headers?.eventId?.toString() ?? "";
          const record: TopicRecord = {
            eventId,
            key: m.key?.toString() ?? "",
            partition: batch.partition,
            offset: m.offset,
            timestamp: Number(m.timestamp),
            ...(opts.values ? { value: m.value?.toString() ?? "" } : {}),
          };
          if (opts.onRecord) opts.onRecord(record);
          else out.set(`${batch.partition}:${m.offset}`, record);
          missing.delete(eventId);
        }
        if (wanted) {
          if (missing.size === 0) settle(true);
        } else reached(batch.partition, batch.lastOffset());
        return Promise.resolve();
      },
    });
    for (const r of ranges) {
      // Only a shortcut past records before the start (they are skipped above anyway); a consumer
      // restarting after a crash refuses seeks.
      try {
        consumer.seek({ topic, partition: r.partition, offset: String(r.start) });
      } catch {
        // read from the beginning instead
      }
    }
    const complete = await done;
    return { records: [...out.values()], complete };
  } finally {
    clearTimeout(timer);
    // A consumer stuck in a rebalance can take its session timeout to leave; the answer is final.
    await withDeadline(consumer.disconnect().catch(() => {}), 5000, () => {});
  }
}
