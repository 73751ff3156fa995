/**
 * The settlement member of the topic's consumer group. Offsets live in Postgres, not Kafka:
 * nothing is committed to Kafka, and the first batch of every partition after each assignment
 * only seeks to the offset stored with the ledger, so a member resumes exactly where the ledger
 * ends whatever Kafka would have delivered. Reads with read_committed.
 */
import type { Admin, Consumer } from "kafkajs";
import { kafkaClient } from "../kafka/client.ts";
import { errorMessage } from "../error_message.ts";
import { headerText } from "../kafka/group_consumer.ts";
import type { Logger } from "../log.ts";
import type { RawRecord } from "./ledger_store.ts";

/** Applies one partition's batch; rejecting makes Kafka deliver it again. */
export type BatchHandler = (partition: number, records: RawRecord[]) => Promise<void>;

/** Options of `createLedgerConsumer`. */
export interface LedgerConsumerOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  sessionTimeoutMs: number;
  requestTimeoutMs: number;
  logger: Logger;
  /** The partition's next offset stored with the ledger; null when it never applied a record. */
  storedOffset: (partition: number) => Promise<string | null>;
  /** Called when kafkajs gives up on the consumer. */
  onCrash?: (error: unknown) => void;
}

/** The settlement consumer. */
export interface LedgerConsumer {
  start(onBatch: BatchHandler): Promise<void>;
  /** Partitions held now. */
  assigned(): number[];
  connected(): boolean;
  /** Where this member's reads of each partition ended (past transaction markers too). */
  reached(): Map<number, bigint>;
  /** High watermarks per partition. */
  highWatermarks(): Promise<Map<number, bigint>>;
  stop(): Promise<void>;
}

/** Creates the consumer; nothing connects before `start()`. */
export function createLedgerConsumer(opts: LedgerConsumerOptions): LedgerConsumer {
  let joined = false;
  const kafka = kafkaClient({
    clientId: opts.clientId,
    brokers: opts.brokers,
    requestTimeoutMs: opts.requestTimeoutMs,
    // Quiet until the first join (see logCreatorFor).
    log: { logger: opts.logger, quiet: () => !joined },
  });
  let consumer: Consumer | null = null;
  let isConnected = false;
  let partitions: number[] = [];
  const synced = new Set<number>();
  const reached = new Map<number, bigint>();
  let stopping: Promise<void> | null = null;
  const admin: Admin = kafka.admin({ retry: { retries: 1 } });
  let adminConnected = false;

  const unassign = () => {
    partitions = [];
    synced.clear();
  };

  function listen(c: Consumer): void {
    const { events } = c;
    c.on(events.CONNECT, () => (isConnected = true));
    c.on(events.DISCONNECT, () => {
      isConnected = false;
      unassign();
    });
    c.on(events.GROUP_JOIN, (e) => {
      joined = true;
      synced.clear();
      partitions = [...(e.payload.memberAssignment[opts.topic] ?? [])].sort((a, b) => a - b);
      opts.logger.info("settlement joined the group", { group: opts.groupId, partitions });
    });
    c.on(events.REBALANCING, unassign);
    c.on(events.STOP, unassign);
    c.on(events.END_BATCH_PROCESS, (e) => {
      if (synced.has(e.payload.partition)) {
        reached.set(e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
      }
    });
    c.on(events.CRASH, (e) => {
      unassign();
      opts.logger.warn("settlement consumer crashed", {
        error: errorMessage(e.payload.error),
        restart: e.payload.restart,
      });
      if (!e.payload.restart) opts.onCrash?.(e.payload.error);
    });
  }

  return {
    async start(onBatch) {
      if (stopping) throw new Error("the settlement consumer is stopped");
      if (consumer) throw new Error("the settlement consumer is already started");
      const c = kafka.consumer({
        groupId: opts.groupId,
        sessionTimeout: opts.sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.floor(opts.sessionTimeoutMs / 3)),
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: false,
        readUncommitted: false,
      });
      listen(c);
      consumer = c;
      try {
        await c.connect();
        // No offsets are ever committed to Kafka: without the seek below, a member starts at the
        // topic's first record, and every record below the stored offset is skipped anyway.
        await c.subscribe({ topic: opts.topic, fromBeginning: true });
        await c.run({
          // Each partition's batch is its own transaction, so partitions apply side by side.
          partitionsConsumedConcurrently: 3,
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, isRunning, isStale, heartbeat, resolveOffset }) => {
            const p = batch.partition;
            if (!isRunning() || isStale()) return;
            if (!synced.has(p)) {
              const stored = await opts.storedOffset(p);
              synced.add(p);
              if (stored !== null && BigInt(stored) !== BigInt(batch.firstOffset() ?? "-1")) {
                c.seek({ topic: opts.topic, partition: p, offset: stored });
                opts.logger.info("settlement resumes at the ledger's offset", {
                  partition: p,
                  offset: stored,
                });
                return;
              }
            }
            const records: RawRecord[] = batch.messages.map((m) => {
              const headers = headerText(m.headers);
              return {
                partition: p,
                offset: m.offset,
                value: m.value?.toString() ?? null,
                headers,
                timestamp: Number(m.timestamp),
              };
            });
            if (records.length > 0) {
              await onBatch(p, records);
              // Moves this member's fetch position on; with autoCommit off nothing is committed.
              resolveOffset(records.at(-1)!.offset);
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
    reached: () => new Map(reached),
    async highWatermarks() {
      try {
        if (!adminConnected) {
          await admin.connect();
          adminConnected = true;
        }
        const marks = await admin.fetchTopicOffsets(opts.topic);
        return new Map(marks.map((m) => [m.partition, BigInt(m.high)]));
      } catch (e) {
        adminConnected = false;
        await admin.disconnect().catch(() => {});
        throw e;
      }
    },
    stop() {
      return stopping ??= (async () => {
        if (consumer) await consumer.disconnect().catch(() => {});
        consumer = null;
        isConnected = false;
        unassign();
        if (adminConnected) await admin.disconnect().catch(() => {});
        adminConnected = false;
      })();
    },
  };
}
