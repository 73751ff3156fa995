/** The kafkajs producer behind the Publisher interface, with our own deadline on every call. */
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import type { Logger } from "../log.ts";
import { errorMessage } from "../error_message.ts";
import { isPerRecordError, PublishTimeoutError } from "./errors.ts";
import type { OutboundRecord, Publisher } from "./publisher.ts";
import { createSendQueue } from "./send_queue.ts";

/** Settings of the Kafka producer (the seed's: acks=all, idempotent, 1 retry). */
export interface KafkaPublisherOptions {
  brokers: string[];
  topic: string;
  clientId: string;
  requestTimeoutMs: number;
  deliveryTimeoutMs: number;
  retries: number;
  topicPartitions: number;
  logger: Logger;
}

/** Creates a Publisher backed by one idempotent kafkajs producer, recreated after a stall. */
export function createKafkaPublisher(opts: KafkaPublisherOptions): Publisher {
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(3000, opts.requestTimeoutMs),
    requestTimeout: opts.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { retries: Math.max(1, opts.retries), initialRetryTime: 100, maxRetryTime: 1000 },
  });
  let producer: Producer | null = null;
  let connecting: Promise<Producer> | null = null;
  let topicReady = false;
  let closed = false;
  const admin = kafka.admin({ retry: { retries: 0 } });
  let adminConnected = false;
  // One batch at a time on a producer, each within the delivery deadline (send_queue.ts).
  const sends = createSendQueue(opts.deliveryTimeoutMs);

  function newProducer(): Producer {
    return kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: Math.max(1, opts.retries), initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  function discard(reason: string): void {
    const old = producer;
    producer = null;
    connecting = null;
    if (old) {
      opts.logger.debug("kafka producer discarded", { reason });
      old.disconnect().catch(() => {});
    }
  }

  function connected(): Promise<Producer> {
    if (producer) return Promise.resolve(producer);
    if (!connecting) {
      const p = newProducer();
      connecting = p.connect().then(() => {
        producer = p;
        return p;
      }, (e) => {
        connecting = null;
        p.disconnect().catch(() => {});
        throw e;
      });
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
      const topics = await admin.listTopics();
      if (!topics.includes(opts.topic)) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: opts.topic, numPartitions: opts.topicPartitions }],
        });
        opts.logger.info("kafka topic created", {
          topic: opts.topic,
          partitions: opts.topicPartitions,
        });
      }
    });
    topicReady = true;
  }

  function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(ms)), ms);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  return {
    async publish(records: OutboundRecord[]): Promise<void> {
      if (closed) throw new Error("publisher is closed");
      if (records.length === 0) return;
      const started = { value: false };
      try {
        await sends.run(async () => {
          await ensureTopic();
          const p = await connected();
          await p.send({
            topic: opts.topic,
            acks: -1,
            timeout: opts.requestTimeoutMs,
            messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
          });
        }, started);
      } catch (e) {
        // After a failed send the broker may yet write what it was sent (a stalled broker does
        // once it resumes) while kafkajs has handed that batch's sequence numbers back: the next
        // batch on this producer could reuse them and be acknowledged as a duplicate without
        // being written. A fresh producer (new producer id) cannot collide. A record the broker
        // refused for good was not written, and one that never got its turn was not sent.
        if (started.value && !isPerRecordError(e)) discard(errorMessage(e));
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
