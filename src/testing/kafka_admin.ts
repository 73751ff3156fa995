/**
 * Small admin calls the scripts and tests need (the breaker scenario's own topic, the broker
 * probe, removing a test's consumer group); no program loads this module.
 */
import type { Admin } from "kafkajs";
import { createMissingTopic, kafkaClient } from "../kafka/client.ts";
import { withDeadline } from "../deadline.ts";

/** Options of `createTopic` and `deleteTopic`. */
export interface TopicAdminOptions {
  /** Partitions of a created topic; default 3. */
  partitions?: number;
  clientId?: string;
}

function adminClient(brokers: string[], clientId: string) {
  return kafkaClient({ clientId, brokers, retry: { retries: 1 } }).admin();
}

/** Runs `fn` with a connected admin client and always disconnects it. */
async function withAdmin<T>(
  brokers: string[],
  opts: TopicAdminOptions,
  fn: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = adminClient(brokers, opts.clientId ?? "payment-ingest-admin");
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Creates `topic` when it is missing (waiting for its leaders); a no-op when it exists. */
export function createTopic(
  brokers: string[],
  topic: string,
  opts: TopicAdminOptions = {},
): Promise<void> {
  return withAdmin(brokers, opts, async (admin) => {
    await createMissingTopic(admin, topic, opts.partitions ?? 3);
  });
}

/** Deletes `topic`; a no-op when it does not exist. */
export function deleteTopic(
  brokers: string[],
  topic: string,
  opts: TopicAdminOptions = {},
): Promise<void> {
  return withAdmin(brokers, opts, async (admin) => {
    if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
  });
}

/** Deletes consumer groups (tests clean up after themselves); unknown groups are ignored. */
export function deleteGroups(
  brokers: string[],
  groupIds: string[],
  opts: TopicAdminOptions = {},
): Promise<void> {
  return withAdmin(brokers, opts, async (admin) => {
    await admin.deleteGroups(groupIds).catch(() => {});
  });
}

/** True when the broker at `address` answers a metadata request within `timeoutMs`. */
export async function brokerAnswers(
  address: string,
  timeoutMs = 3000,
  minBrokers = 1,
): Promise<boolean> {
  const admin = kafkaClient({
    clientId: "kafka-probe",
    brokers: [address],
    connectionTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    retry: { retries: 0 },
  }).admin();
  const probe = (async () => {
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length >= Math.max(1, minBrokers);
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  })();
  return await withDeadline(probe, timeoutMs, () => false);
}

/** The broker (node id) leading each partition of `topic`. */
export function partitionLeaders(
  brokers: string[],
  topic: string,
  opts: TopicAdminOptions = {},
): Promise<Map<number, number>> {
  return withAdmin(brokers, opts, async (admin) => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const parts = meta.topics[0]?.partitions ?? [];
    return new Map(parts.map((p) => [p.partitionId, p.leader]));
  });
}

/**
 * The partition of Kafka's transaction state log that holds `transactionalId` (the broker
 * leading it is that id's transaction coordinator): abs(String.hashCode) modulo the log's
 * partition count, as the broker computes it.
 */
export function transactionStatePartition(transactionalId: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < transactionalId.length; i++) {
    h = (Math.imul(h, 31) + transactionalId.charCodeAt(i)) | 0;
  }
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}
