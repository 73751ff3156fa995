/**
 * A kafkajs consumer in a named group behind a small interface: records are handed over one at a
 * time, each offset is resolved once its handler resolves and the batch's offsets are committed
 * when the batch ends (so a stop or a crash re-delivers at most the batch in flight). An admin
 * client of its own answers the watermark and committed-offset questions lag needs.
 */
import { createGroupMember } from "./group_member.ts";
import type { Logger } from "../log.ts";

/** One record handed to the handler. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Kafka offset as decimal text. */
  offset: string;
  key: string | null;
  value: string | null;
  /** Header values as text (a repeated header keeps its first value). */
  headers: Record<string, string>;
  /** The record's timestamp, epoch ms. */
  timestamp: number;
}

/** Handles one record; resolving marks it processed, rejecting re-delivers it from there. */
export type RecordHandler = (record: ConsumedRecord) => void | Promise<void>;

/** A partition's watermarks (decimal text): first stored offset and next offset. */
export interface PartitionWatermarks {
  partition: number;
  low: string;
  high: string;
}

/** A partition's committed offset for the group (decimal text, "-1" when never committed). */
export interface PartitionCommit {
  partition: number;
  offset: string;
}

/** Options of `createGroupConsumer`. */
export interface GroupConsumerOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  /** Where a group without a committed offset starts: the topic's first record, or new ones. */
  fromBeginning: boolean;
  /** Default 30 s (kafkajs): how long the group waits for a silent member before rebalancing. */
  sessionTimeoutMs?: number;
  /** Default 10 s. */
  requestTimeoutMs?: number;
  logger: Logger;
  /** Called when kafkajs gives up on the consumer (a crash it will not restart from). */
  onCrash?: (error: unknown) => void;
}

/** A consumer group member for one topic. */
export interface GroupConsumer {
  /** Connects, subscribes and starts handing records to `onRecord`; rejects when Kafka refuses. */
  start(onRecord: RecordHandler): Promise<void>;
  /** Partitions this member holds now (none while rebalancing, stopped or disconnected). */
  assigned(): number[];
  /** True while the consumer is connected to the cluster. */
  connected(): boolean;
  /** The topic's watermarks and the group's committed offsets, per partition. */
  offsets(): Promise<{ watermarks: PartitionWatermarks[]; committed: PartitionCommit[] }>;
  /** Finishes the batch in flight, commits, leaves the group and disconnects; idempotent. */
  stop(): Promise<void>;
}

/** A record's headers as text (a repeated header keeps its first value). */
export function headerText(
  raw: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[k] = first.toString();
  }
  return headers;
}

/** Creates a group member; nothing connects before `start()` or `offsets()`. */
export function createGroupConsumer(opts: GroupConsumerOptions): GroupConsumer {
  const member = createGroupMember({
    ...opts,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 30_000,
    name: "consumer",
  });
  return {
    start: (onRecord) =>
      member.start(opts.fromBeginning, (c) =>
        c.run({
          // Commit after every batch (no interval, no threshold): what was handled is committed
          // before the next fetch, so lag reads the committed offset, not a guess.
          autoCommit: true,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            for (const m of batch.messages) {
              if (!isRunning() || isStale()) break;
              await onRecord({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key?.toString() ?? null,
                value: m.value?.toString() ?? null,
                headers: headerText(m.headers),
                timestamp: Number(m.timestamp),
              });
              resolveOffset(m.offset);
            }
            await heartbeat();
          },
        })),
    assigned: member.assigned,
    connected: member.connected,
    offsets: () =>
      member.withAdmin(async (admin) => {
        const [marks, groups] = await Promise.all([
          admin.fetchTopicOffsets(opts.topic),
          admin.fetchOffsets({ groupId: opts.groupId, topics: [opts.topic] }),
        ]);
        return {
          watermarks: marks.map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
          committed: (groups.find((g) => g.topic === opts.topic)?.partitions ?? []).map((p) => ({
            partition: p.partition,
            offset: p.offset,
          })),
        };
      }),
    stop: member.stop,
  };
}
