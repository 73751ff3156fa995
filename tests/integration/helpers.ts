/** Shared set-up for integration tests: an isolated schema and topic per test, real services. */
import { loadConfig } from "../../src/config.ts";
import { broker } from "../../scripts/lib/kafka_ctl.ts";
import { createKafkaPublisher } from "../../src/kafka/kafkajs_publisher.ts";
import type { Publisher } from "../../src/kafka/publisher.ts";
import { createTopic, deleteTopic } from "../../src/testing/kafka_admin.ts";
import { readTopic as readTopicRecords } from "../../src/kafka/topic_reader.ts";
import { silentLogger } from "../../src/log.ts";
import { type Service, startService } from "../../src/main.ts";
import { createPostgresDb, type Db } from "../../src/outbox/db.ts";
import { compareRecords } from "../../src/reconcile/compare.ts";

/** The Postgres server integration tests use. */
export const DATABASE_URL = Deno.env.get("DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";
/** The local broker started by `scripts/kafka.sh start`. */
export const KAFKA_BROKERS = Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092";
/** The admin token test services are started with. */
export const ADMIN_TOKEN = "integration-test-admin-token";

/** Deno test options for tests that hold sockets and timers of real clients. */
export const REAL_IO = { sanitizeOps: false, sanitizeResources: false };

/** A short unique suffix for schema and topic names. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** A service started in-process on a free port with its own schema and topic. */
export interface TestService {
  base: string;
  service: Service;
  schema: string;
  topic: string;
  db: Db;
  stop(): Promise<void>;
}

/** Starts the real service (real Postgres, real Kafka) with `env` over test defaults. */
export async function startTestService(env: Record<string, string> = {}): Promise<TestService> {
  const schema = uniqueName("it");
  const topic = uniqueName("payments");
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL,
    DATABASE_SCHEMA: schema,
    KAFKA_BROKERS,
    KAFKA_TOPIC: topic,
    ADMIN_TOKEN,
    KAFKA_REQUEST_TIMEOUT_MS: "2000",
    KAFKA_DELIVERY_TIMEOUT_MS: "3000",
    RELAY_POLL_INTERVAL_MS: "100",
    // Stopped in-process between tests: no balancer to drain from (fault case 7 tests the drain).
    SHUTDOWN_DRAIN_MS: "0",
    ...env,
  });
  const service = await startService(config, silentLogger);
  const db = createPostgresDb(DATABASE_URL, { schema, poolSize: 2 });
  return {
    base: `http://127.0.0.1:${service.port}`,
    service,
    schema,
    topic,
    db,
    async stop() {
      await service.stop();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await db.close();
    },
  };
}

let seq = 0;

/** A valid payment event body; `over` replaces fields. */
export function paymentEvent(over: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    eventId: crypto.randomUUID(),
    paymentId: `pay-${seq}`,
    merchantId: "merchant-1",
    type: "PAYMENT_CREATED",
    amount: 1000 + seq,
    currency: "EUR",
    occurredAt: new Date().toISOString(),
    ...over,
  };
}

/** POSTs an event and returns status, body and elapsed milliseconds. */
export async function postPayment(
  base: string,
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; body: Record<string, unknown>; ms: number; headers: Headers }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/payments`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? JSON.parse(text) : {},
    ms: performance.now() - t0,
    headers: res.headers,
  };
}

/** A message read back from the topic. */
export interface ConsumedMessage {
  eventId: string;
  key: string;
  partition: number;
  offset: string;
  value: Record<string, unknown>;
}

/**
 * Reads the topic from the beginning with an independent consumer until every id in `expect` has
 * been seen (or `timeoutMs` passes) and returns every message read, in partition and offset order.
 */
export async function readTopic(
  topic: string,
  expect: Iterable<string>,
  timeoutMs = 30_000,
  brokers = KAFKA_BROKERS,
): Promise<ConsumedMessage[]> {
  const slice = await readTopicRecords({
    brokers: brokers.split(","),
    topic,
    untilIds: expect,
    timeoutMs,
    values: true,
    clientId: "integration-reader",
  });
  return slice.records.sort(compareRecords).map((r) => ({
    eventId: r.eventId,
    key: r.key,
    partition: r.partition,
    offset: r.offset,
    value: JSON.parse(r.value || "{}"),
  }));
}

/** Runs `scripts/kafka.sh <cmd>` on the runner's broker (KAFKA_PORT) and fails the test when it fails. */
export async function kafkaCtl(cmd: "start" | "stop" | "kill" | "pause" | "resume"): Promise<void> {
  const port = Number(Deno.env.get("KAFKA_PORT") ?? 9092);
  const controllerPort = Number(Deno.env.get("KAFKA_CONTROLLER_PORT") ?? 9093);
  await broker(port, controllerPort, { allowSharedPorts: true })[cmd]();
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!last && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}

/** GETs JSON from the service. */
export async function getJson(base: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`);
  return await res.json();
}

/** A fresh 3-partition topic named `prefix-…` with a publisher; both removed afterwards. */
export async function withTestTopic(
  prefix: string,
  fn: (topic: string, publisher: Publisher) => Promise<void>,
): Promise<void> {
  const brokers = KAFKA_BROKERS.split(",");
  const topic = uniqueName(prefix);
  await createTopic(brokers, topic, { partitions: 3 });
  const publisher = createKafkaPublisher({
    brokers,
    topic,
    clientId: `${prefix}-test`,
    requestTimeoutMs: 5000,
    deliveryTimeoutMs: 10_000,
    retries: 1,
    topicPartitions: 3,
    logger: silentLogger,
  });
  try {
    await fn(topic, publisher);
  } finally {
    await publisher.close();
    await deleteTopic(brokers, topic);
  }
}
