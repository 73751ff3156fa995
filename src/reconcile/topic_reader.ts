/**
 * Reads a slice of the event topic with an independent kafkajs consumer: a fresh consumer group
 * that commits nothing and is deleted afterwards, starting near a timestamp (or at the
 * beginning) and stopping at the high watermarks seen when the read began.
 */
import { Kafka, logLevel } from "kafkajs";
import type { TopicRecord } from "./compare.ts";

/** Options of `readTopic`. */
export interface ReadTopicOptions {
  brokers: string[];
  topic: string;
  /** Start at the first record at or after this epoch ms; omitted: from the beginning. */
  fromTimestamp?: number;
  /** Give up (rejecting) after this many ms; default 60 s. */
  timeoutMs?: number;
  clientId?: string;
}

/** The records read and where the read started and stopped, per partition. */
export interface TopicSlice {
  records: TopicRecord[];
  partitions: { partition: number; start: string; end: string }[];
}

/** Raised when the topic could not be read to its end in time. */
export class TopicReadError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "TopicReadError";
  }
}

/** Reads the topic from `fromTimestamp` (or the beginning) up to the current high watermarks. */
export async function readTopic(opts: ReadTopicOptions): Promise<TopicSlice> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const kafka = new Kafka({
    clientId: opts.clientId ?? "payment-ingest-reconcile",
    brokers: opts.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  const groupId = `reconcile-${crypto.randomUUID()}`;
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(opts.topic)) return { records: [], partitions: [] };
    const high = await admin.fetchTopicOffsets(opts.topic);
    const starts = opts.fromTimestamp === undefined
      ? high.map((p) => ({ partition: p.partition, offset: p.low }))
      : await admin.fetchTopicOffsetsByTimestamp(opts.topic, opts.fromTimestamp);
    const ranges = high.map((p) => {
      const low = BigInt(p.low);
      const from = BigInt(starts.find((s) => s.partition === p.partition)?.offset ?? p.low);
      return { partition: p.partition, start: from < low ? low : from, end: BigInt(p.high) };
    }).sort((a, b) => a.partition - b.partition);
    const todo = ranges.filter((r) => r.start < r.end);
    const partitions = ranges.map((r) => ({
      partition: r.partition,
      start: String(r.start),
      end: String(r.end),
    }));
    if (todo.length === 0) return { records: [], partitions };
    const records = await consume(kafka, groupId, opts.topic, todo, timeoutMs);
    return { records, partitions };
  } finally {
    // The group committed nothing; deleting it keeps the broker's group list clean.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

async function consume(
  kafka: Kafka,
  groupId: string,
  topic: string,
  ranges: { partition: number; start: bigint; end: bigint }[],
  timeoutMs: number,
): Promise<TopicRecord[]> {
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 250,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    retry: { retries: 2 },
  });
  // Keyed by partition and offset: after a restart the consumer reads from the start again.
  const out = new Map<string, TopicRecord>();
  const left = new Map(ranges.map((r) => [r.partition, r]));
  let finish: () => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const timer = setTimeout(() => {
    const where = [...left.values()].map((r) => `partition ${r.partition} (up to ${r.end})`);
    fail(new TopicReadError(`reading ${topic} timed out after ${timeoutMs} ms in ${where}`));
  }, timeoutMs);
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
        const range = left.get(batch.partition);
        if (!range) return Promise.resolve();
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          // Records before the start can arrive until the seek takes effect; past the end
          // belong to a later read.
          if (offset < range.start || offset >= range.end) continue;
          out.set(`${batch.partition}:${m.offset}`, {
            eventId: m.headers?.eventId?.toString() ?? "",
            key: m.key?.toString() ?? "",
            partition: batch.partition,
            offset: m.offset,
            timestamp: Number(m.timestamp),
          });
        }
        if (BigInt(batch.lastOffset()) + 1n >= range.end) {
          left.delete(batch.partition);
          if (left.size === 0) finish();
        }
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
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return [...out.values()];
}
