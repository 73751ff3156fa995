/** The kafkajs producer behind the Publisher interface, with our own deadline on every call. */
import type { PartitionMetadata, Producer } from "kafkajs";
import { Partitioners } from "./kafkajs.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../error_message.ts";
import {
  isPerRecordError,
  PublishTimeoutError,
  StaleOwnerError,
  UncertainPublishError,
} from "./errors.ts";
import type { OutboundRecord, Publisher, Transactional } from "./publisher.ts";
import { createSendQueue } from "./send_queue.ts";
import { createMissingTopic, kafkaClient } from "./client.ts";
import { withDeadline } from "../deadline.ts";

/** Settings of the Kafka producer (the seed's: acks=all, idempotent, 1 retry), from KAFKA_*. */
export interface ProducerSettings {
  brokers: string[];
  topic: string;
  clientId: string;
  requestTimeoutMs: number;
  deliveryTimeoutMs: number;
  retries: number;
  topicPartitions: number;
}

/** Options of `createKafkaPublisher`. */
export interface KafkaPublisherOptions extends ProducerSettings {
  logger: Logger;
  /** Exactly-once mode: every publish is a Kafka transaction (see TransactionalOptions). */
  transactional?: TransactionalOptions;
}

/** Settings of exactly-once publishing. */
export interface TransactionalOptions {
  /** This process; each producer's transactional.id is `${instanceId}/${generation}`. */
  instanceId: string;
  /** The broker aborts a transaction left open longer than this (a stalled or dead owner's). */
  transactionTimeoutMs: number;
  /**
   * Test failpoint: SIGKILL this process right after the n-th commit, before the caller can mark
   * the rows published. Null (production): no check beyond one comparison.
   */
  killAfterCommit?: number | null;
}

/** A record as the producer sends it. */
type Message = { key: string; value: string; headers: Record<string, string> };

/** The messages bound to `partition`; as they are when kafkajs's partitioner decides. */
function withPartition(list: Message[], partition: number | undefined): Message[] {
  return partition === undefined ? list : list.map((m) => ({ ...m, partition }));
}

/**
 * Creates a Publisher backed by one kafkajs producer: idempotent (at-least-once), or
 * transactional (exactly-once) with a fresh transactional.id per producer. The producer is
 * recreated after a stall or a failed send.
 */
export function createKafkaPublisher(opts: KafkaPublisherOptions): Publisher {
  const kafka = kafkaClient({
    clientId: opts.clientId,
    brokers: opts.brokers,
    requestTimeoutMs: opts.requestTimeoutMs,
    retry: { retries: Math.max(1, opts.retries), initialRetryTime: 100, maxRetryTime: 1000 },
  });
  let producer: Producer | null = null;
  let connecting: Promise<Producer> | null = null;
  let topicReady = false;
  // The topic's partitions, so a batch is sent one partition per request (byPartition), unless
  // the cluster has one broker: then every request goes to it and one request carries them all.
  // Both are read again after a failed send (a cluster may have grown meanwhile).
  let partitionMetadata: PartitionMetadata[] = [];
  let singleBroker = false;
  const partitioner = Partitioners.DefaultPartitioner();
  let closed = false;
  const admin = kafka.admin({ retry: { retries: 0 } });
  let adminConnected = false;
  // One batch at a time on a producer, each within the delivery deadline (send_queue.ts).
  const sends = createSendQueue(opts.deliveryTimeoutMs);

  const tx = opts.transactional;
  // Exactly-once: the producer generation names the current transactional.id (owner()).
  let generation = 0;
  let owner = tx ? `${tx.instanceId}/${generation}` : "";
  let commits = 0;

  function newProducer(transactionalId?: string): Producer {
    if (!transactionalId) {
      return kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: Math.max(1, opts.retries), initialRetryTime: 100, maxRetryTime: 1000 },
      });
    }
    return kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionTimeout: tx!.transactionTimeoutMs,
      // AddPartitionsToTxn answers CONCURRENT_TRANSACTIONS until the previous commit's markers
      // are written (a few ms); kafkajs's default first back-off of 300 ms would add that to
      // every transaction. The send queue's deadline bounds the retries.
      retry: { retries: 30, initialRetryTime: 5, maxRetryTime: 200, multiplier: 1.5 },
    });
  }

  /**
   * Connects a producer and, in exactly-once mode, initialises its transactional.id (kafkajs
   * does that on the first transaction; an empty one sends nothing to the brokers).
   */
  async function initialised(p: Producer, transactional: boolean): Promise<void> {
    await p.connect();
    if (transactional) await (await p.transaction()).abort();
  }

  function discard(reason: string): void {
    const old = producer ?? connecting;
    producer = null;
    connecting = null;
    topicReady = false;
    if (tx) {
      // The dropped producer's id may have an open or committing transaction: it is never
      // initialised again here, only fenced by whoever recovers its rows.
      generation++;
      owner = `${tx.instanceId}/${generation}`;
    }
    if (old) {
      opts.logger.debug("kafka producer discarded", { reason });
      Promise.resolve(old).then((p) => p.disconnect()).catch(() => {});
    }
  }

  function connected(): Promise<Producer> {
    if (producer) return Promise.resolve(producer);
    if (!connecting) {
      const p = newProducer(tx ? owner : undefined);
      const attempt: Promise<Producer> = initialised(p, tx !== undefined).then(() => {
        // Discarded while connecting: a later generation (another transactional.id) is current.
        if (connecting !== attempt) {
          p.disconnect().catch(() => {});
          throw new Error("the producer was discarded while connecting");
        }
        producer = p;
        return p;
      }, (e) => {
        if (connecting === attempt) connecting = null;
        p.disconnect().catch(() => {});
        throw e;
      });
      connecting = attempt;
    }
    return connecting;
  }

  async function withAdmin<T>(fn: () => Promise<T>): Promise<T> {
    if (!adminConnected) {
      await admin.connect();
      adminConnected = true;
    }
    try {
      return await fn();
    } catch (e) {
      adminConnected = false;
      admin.disconnect().catch(() => {});
      throw e;
    }
  }

  async function ensureTopic(): Promise<void> {
    if (topicReady) return;
    await withAdmin(async () => {
      if (await createMissingTopic(admin, opts.topic, opts.topicPartitions)) {
        opts.logger.info("kafka topic created", {
          topic: opts.topic,
          partitions: opts.topicPartitions,
        });
      }
      const meta = await admin.fetchTopicMetadata({ topics: [opts.topic] });
      partitionMetadata = meta.topics[0]?.partitions ?? [];
      if (partitionMetadata.length === 0) throw new Error(`topic ${opts.topic} has no partitions`);
      singleBroker = (await admin.describeCluster()).brokers.length === 1;
    });
    topicReady = true;
  }

  function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
    return withDeadline(work, ms, () => {
      throw new PublishTimeoutError(ms);
    });
  }

  /**
   * The messages grouped by partition, for one produce request per partition. kafkajs sends a
   * multi-partition batch to every leader at once and, when one request fails with a retriable
   * error, retries while the others are still in flight: those are sent again with new sequence
   * numbers (written twice: 1,833 records for 1,600 sent in 200 healthy transactions on three
   * brokers), and the failed one's sequence numbers are handed back under them, so a later batch
   * can be acknowledged as a duplicate without being written (4 acknowledged events missing after
   * a rolling restart of three brokers, at-least-once). A send that touches one partition has
   * nothing else in flight when it retries. With one broker in the cluster every request goes to
   * it, so one request carries every partition (key undefined: kafkajs's partitioner decides).
   */
  function byPartition(messages: Message[]): Map<number | undefined, Message[]> {
    const out = new Map<number | undefined, Message[]>();
    if (singleBroker) return out.set(undefined, messages);
    for (const m of messages) {
      const partition = partitioner({
        topic: opts.topic,
        partitionMetadata,
        message: { key: m.key, value: m.value },
      });
      const list = out.get(partition);
      if (list) list.push(m);
      else out.set(partition, [m]);
    }
    return out;
  }

  /**
   * At-least-once: one send per partition, all at once (each its own kafkajs call, so no call
   * has two requests in flight); rejects with the first error once every send has settled.
   */
  async function sendPerPartition(p: Producer, messages: Message[]): Promise<void> {
    const sends = [...byPartition(messages)].map(([partition, list]) =>
      p.send({
        topic: opts.topic,
        acks: -1,
        timeout: opts.requestTimeoutMs,
        messages: withPartition(list, partition),
      })
    );
    const failed = (await Promise.allSettled(sends)).find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** One transaction: send, then commit; a failed send is aborted (`aborted` says if surely). */
  async function inTransaction(
    p: Producer,
    messages: Message[],
    aborted: { value: boolean },
  ): Promise<void> {
    // One partition at a time (see byPartition): concurrent AddPartitionsToTxn requests of one
    // transaction are refused with CONCURRENT_TRANSACTIONS and retried, so sequential is faster.
    const parts = byPartition(messages);
    const t = await p.transaction();
    try {
      for (const [partition, list] of parts) {
        await t.send({
          topic: opts.topic,
          acks: -1,
          timeout: opts.requestTimeoutMs,
          messages: withPartition(list, partition),
        });
      }
    } catch (e) {
      // A failed abort leaves the outcome unknown (the caller sees aborted = false).
      await t.abort().then(() => (aborted.value = true), () => {});
      throw e;
    }
    await t.commit();
    commits++;
    if (tx!.killAfterCommit && commits >= tx!.killAfterCommit) {
      opts.logger.warn("failpoint kill-after-commit: SIGKILL before the outbox mark", { commits });
      Deno.kill(Deno.pid, "SIGKILL");
    }
  }

  /** Fences another owner's transactional.id (see Transactional.fence). */
  async function fence(other: string): Promise<void> {
    if (other === owner) throw new RangeError(`refusing to fence the current owner ${other}`);
    const p = newProducer(other);
    const work = initialised(p, true);
    try {
      await deadline(work, opts.deliveryTimeoutMs);
    } catch (e) {
      work.catch(() => {});
      throw e;
    } finally {
      await p.disconnect().catch(() => {});
    }
  }

  const transactional: Transactional | undefined = tx
    ? { owner: () => owner, fence, retire: (reason) => discard(reason) }
    : undefined;

  return {
    transactional,
    async publish(records: OutboundRecord[], rowsOwner?: string): Promise<void> {
      if (closed) throw new Error("publisher is closed");
      if (records.length === 0) return;
      const started = { value: false };
      // Exactly-once: the transaction was aborted for sure, so its rows may go back in line.
      const aborted = { value: false };
      try {
        await sends.run(async () => {
          await ensureTopic();
          const p = await connected();
          const messages = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers }));
          if (!tx) return await sendPerPartition(p, messages);
          // The producer must be the current one, whose transactional.id is the rows' owner.
          if (rowsOwner !== owner || producer !== p) {
            throw new StaleOwnerError(rowsOwner ?? "nobody", owner);
          }
          await inTransaction(p, messages, aborted);
        }, started);
      } catch (e) {
        if (e instanceof StaleOwnerError) throw e;
        // After a failed send the broker may yet write what it was sent (a stalled broker does
        // once it resumes) while kafkajs has handed that batch's sequence numbers back: the next
        // batch on this producer could reuse them and be acknowledged as a duplicate without
        // being written. A fresh producer (new producer id) cannot collide. A record the broker
        // refused for good was not written, and one that never got its turn was not sent.
        if (started.value && !(isPerRecordError(e) && (!tx || aborted.value))) {
          discard(errorMessage(e));
        }
        // Exactly-once: unless the transaction surely aborted (or never started), its outcome
        // is for recovery to find out.
        if (tx && started.value && !aborted.value) throw new UncertainPublishError(e);
        throw e;
      }
    },

    async connect(): Promise<void> {
      if (closed) throw new Error("publisher is closed");
      const work = (async () => {
        await ensureTopic();
        await connected();
      })();
      try {
        await deadline(work, opts.deliveryTimeoutMs);
      } catch (e) {
        work.catch(() => {});
        throw e;
      }
    },

    async ping(): Promise<void> {
      if (closed) throw new Error("publisher is closed");
      const work = withAdmin(() => admin.describeCluster());
      try {
        const cluster = await deadline(work, opts.requestTimeoutMs);
        if (cluster.brokers.length === 0) throw new Error("the cluster reports no brokers");
      } catch (e) {
        work.catch(() => {});
        throw e;
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const tasks: Promise<unknown>[] = [];
      if (producer) tasks.push(producer.disconnect());
      else if (connecting) tasks.push(connecting.then((p) => p.disconnect()));
      if (adminConnected) tasks.push(admin.disconnect());
      await deadline(Promise.allSettled(tasks), 5000).catch(() => {});
    },
  };
}
