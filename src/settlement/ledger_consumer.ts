/**
 * The settlement member of the topic's consumer group. Offsets live in Postgres, not Kafka:
 * nothing is committed to Kafka, and the first batch of every partition after each assignment
 * only seeks to the offset stored with the ledger, so a member resumes exactly where the ledger
 * ends whatever Kafka would have delivered. Reads with read_committed.
 */
import type { Consumer } from "kafkajs";
import { headerText } from "../kafka/group_consumer.ts";
import { createGroupMember } from "../kafka/group_member.ts";
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
  const synced = new Set<number>();
  const reached = new Map<number, bigint>();
  const member = createGroupMember({
    ...opts,
    name: "settlement consumer",
    onJoin: () => synced.clear(),
    onUnassign: () => synced.clear(),
  });
  // Where each synced partition's reads ended, transaction markers included.
  const listen = (c: Consumer) =>
    c.on(c.events.END_BATCH_PROCESS, (e) => {
      if (synced.has(e.payload.partition)) {
        reached.set(e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
      }
    });

  return {
    // No offsets are ever committed to Kafka: without the seek below, a member starts at the
    // topic's first record, and every record below the stored offset is skipped anyway.
    start: (onBatch) =>
      member.start(true, (c) =>
        c.run({
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
            const records: RawRecord[] = batch.messages.map((m) => ({
              partition: p,
              offset: m.offset,
              value: m.value?.toString() ?? null,
              headers: headerText(m.headers),
              timestamp: Number(m.timestamp),
            }));
            if (records.length > 0) {
              await onBatch(p, records);
              // Moves this member's fetch position on; with autoCommit off nothing is committed.
              resolveOffset(records.at(-1)!.offset);
            }
            await heartbeat();
          },
        }), listen),
    assigned: member.assigned,
    connected: member.connected,
    reached: () => new Map(reached),
    highWatermarks: () =>
      member.withAdmin(async (admin) => {
        const marks = await admin.fetchTopicOffsets(opts.topic);
        return new Map(marks.map((m) => [m.partition, BigInt(m.high)]));
      }),
    stop: member.stop,
  };
}
