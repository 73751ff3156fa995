/**
 * A kafkajs consumer in a named group behind a small interface: records are handed over one at a
 * time, each offset is resolved once its handler resolves and the batch's offsets are committed
 * when the batch ends (so a stop or a crash re-delivers at most the batch in flight). An admin
 * client of its own answers the watermark and committed-offset questions lag needs.
 */
import type { Admin, Consumer } from "kafkajs";
import { kafkaClient } from "./client.ts";
import { errorMessage } from "../error_message.ts";
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
  let joined = false;
  const kafka = kafkaClient({
    clientId: opts.clientId,
    brokers: opts.brokers,
    requestTimeoutMs: opts.requestTimeoutMs,
    log: { logger: opts.logger, quiet: () => !joined },
  });
  let consumer: Consumer | null = null;
  let isConnected = false;
  let partitions: number[] = [];
  let stopping: Promise<void> | null = null;
  const admin: Admin = kafka.admin({ retry: { retries: 1 } });
  let adminConnected = false;

  function listen(c: Consumer): void {
    const { events } = c;
    c.on(events.CONNECT, () => (isConnected = true));
    c.on(events.DISCONNECT, () => {
      isConnected = false;
      partitions = [];
    });
    c.on(events.GROUP_JOIN, (e) => {
      joined = true;
      partitions = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
      opts.logger.info("consumer joined the group", {
        group: opts.groupId,
        topic: opts.topic,
        partitions,
      });
    });
    c.on(events.REBALANCING, () => (partitions = []));
    c.on(events.STOP, () => (partitions = []));
    c.on(events.CRASH, (e) => {
      partitions = [];
      opts.logger.warn("consumer crashed", {
        error: errorMessage(e.payload.error),
        restart: e.payload.restart,
      });
      // A retriable crash is followed by kafkajs restarting the consumer by itself.
      if (!e.payload.restart) opts.onCrash?.(e.payload.error);
    });
  }

  return {
    async start(onRecord) {
      if (stopping) throw new Error("the group consumer is stopped");
      if (consumer) throw new Error("the group consumer is already started");
      const c = kafka.consumer({
        groupId: opts.groupId,
        sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: Math.min(3000, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 3)),
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: false,
        // read_committed: records of aborted transactions (an exactly-once publisher fenced
        // mid-transaction) are never delivered, and open ones are waited for.
        readUncommitted: false,
      });
      listen(c);
      consumer = c;
      try {
        await c.connect();
        await c.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning });
        await c.run({
          // Commit after every batch (no interval, no threshold): what was handled is committed
          // before the next fetch, so lag reads the committed offset, not a guess.
          autoCommit: true,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            for (const m of batch.messages) {
              if (!isRunning() || isStale()) break;
              const headers = headerText(m.headers);
              await onRecord({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key?.toString() ?? null,
                value: m.value?.toString() ?? null,
                headers,
                timestamp: Number(m.timestamp),
              });
              resolveOffset(m.offset);
            }
            await heartbeat();
          },
        });
      } catch (e) {
        consumer = null;
        isConnected = false;
        await c.disconnect().catch(() => {});
        throw e;
      }
    },

    assigned: () => [...partitions],

    connected: () => isConnected,

    async offsets() {
      try {
        if (!adminConnected) {
          await admin.connect();
          adminConnected = true;
        }
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
      } catch (e) {
        // A fresh connection next time: the broker may have moved or restarted.
        adminConnected = false;
        await admin.disconnect().catch(() => {});
        throw e;
      }
    },

    stop() {
      return stopping ??= (async () => {
        // kafkajs waits for the batch in flight, commits its resolved offsets, leaves the group.
        if (consumer) await consumer.disconnect().catch(() => {});
        consumer = null;
        isConnected = false;
        partitions = [];
        if (adminConnected) await admin.disconnect().catch(() => {});
        adminConnected = false;
      })();
    },
  };
}
