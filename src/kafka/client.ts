/**
 * The one way the programs, scripts and tests build a kafkajs client (brokers, client id,
 * timeouts, retries, logging; SASL and TLS belong here too), and the one topic creation.
 */
import type { Admin, Kafka as KafkaClient, RetryOptions } from "kafkajs";
import type { Logger } from "../log.ts";
import { Kafka, logLevel } from "./kafkajs.ts";

/** Retries of a long-lived member: a broker restart or a leader election is ridden out. */
export const MEMBER_RETRY: RetryOptions = { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 };

/** Options of `kafkaClient`. */
export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Longest one request may take; default 10 s. */
  requestTimeoutMs?: number;
  /** Longest a connection may take; default the shorter of 3 s and `requestTimeoutMs`. */
  connectionTimeoutMs?: number;
  /** How kafkajs retries a failed request; default MEMBER_RETRY. */
  retry?: RetryOptions;
  /** Where kafkajs's warnings go (see logCreatorFor); without it the client logs nothing. */
  log?: { logger: Logger; quiet?: () => boolean };
}

/** A kafkajs client; nothing connects until one of its producers, consumers or admins does. */
export function kafkaClient(opts: KafkaClientOptions): KafkaClient {
  const requestTimeout = opts.requestTimeoutMs ?? 10_000;
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.connectionTimeoutMs ?? Math.min(3000, requestTimeout),
    requestTimeout,
    // kafkajs's default, said once: a request that overruns requestTimeout fails.
    enforceRequestTimeout: true,
    retry: opts.retry ?? MEMBER_RETRY,
    ...(opts.log
      ? { logLevel: logLevel.WARN, logCreator: logCreatorFor(opts.log.logger, opts.log.quiet) }
      : { logLevel: logLevel.NOTHING }),
  });
}

/**
 * kafkajs log lines at WARN and ERROR as our JSON lines, all as warnings: kafkajs logs at ERROR
 * what it then retries (a group coordinator still loading, say); a crash it gives up on reaches
 * `onCrash` and is logged as an error there. While `quiet()` (a member that has not joined its
 * group yet: the broker is starting, or the topic is not created yet) they are debug lines: each
 * start attempt retries several times and logs each retry, and the attempts themselves are
 * reported by joinWithRetry, as a warning once they have failed for long.
 */
export function logCreatorFor(logger: Logger, quiet: () => boolean = () => false) {
  return () => ({ namespace, log }: { namespace: string; log: object }) => {
    const { message, timestamp: _ts, ...fields } = log as { message: string; timestamp: string };
    (quiet() ? logger.debug : logger.warn)(`kafkajs: ${message}`, { namespace, ...fields });
  };
}

/**
 * Creates `topic` with `partitions` through a connected admin client when it is missing (waiting
 * for its leaders); true when this call created it. The one place topics are created: the
 * service's producer (at start-up and before a publish) and the scripts and tests.
 */
export async function createMissingTopic(
  admin: Admin,
  topic: string,
  partitions: number,
): Promise<boolean> {
  if ((await admin.listTopics()).includes(topic)) return false;
  // false when another client created it meanwhile.
  return await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions }],
  });
}
