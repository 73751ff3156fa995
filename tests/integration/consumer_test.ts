/**
 * The reference consumer (src/consumer/) against the real broker: duplicates dropped by event id,
 * offsets committed (a restart resumes where it stopped), lag measured before and drained to 0
 * after, and the program's own SIGTERM path.
 */
import { assert, assertEquals } from "@std/assert";
import { spawnService } from "../../scripts/lib/service_process.ts";
import { loadConsumerConfig } from "../../src/consumer/config.ts";
import { createLagMonitor } from "../../src/consumer/lag_monitor.ts";
import { type RunningConsumer, startConsumer } from "../../src/consumer/main.ts";
import { createConsumerMetrics } from "../../src/consumer/consumer_metrics.ts";
import { createGroupConsumer } from "../../src/kafka/group_consumer.ts";
import type { OutboundRecord, Publisher } from "../../src/kafka/publisher.ts";
import { deleteGroups } from "../../src/testing/kafka_admin.ts";
import { silentLogger } from "../../src/log.ts";
import { toRecord } from "../../src/outbox/publish_rows.ts";
import { KAFKA_BROKERS, REAL_IO, uniqueName, waitFor, withTestTopic } from "./helpers.ts";

const brokers = KAFKA_BROKERS.split(",");

/** Bound of every wait on the consumer (joining a group takes a few seconds). */
const WAIT_MS = 45_000;

/** A record as the outbox publishes it: event id in the header and in the JSON payload. */
function outboxRecord(paymentId: string, eventId = crypto.randomUUID()): OutboundRecord {
  return toRecord({
    id: eventId,
    aggregateid: paymentId,
    type: "PAYMENT_CREATED",
    payload: JSON.stringify({ eventId, paymentId, amount: 100, currency: "EUR" }),
  });
}

/** Sum of every sample of `name` in a Prometheus text exposition (-1 when it has none). */
function sumOf(exposition: string, name: string): number {
  let total = -1;
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    total = Math.max(total, 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Waits for `probe` to return a truthy value; fails with `describe()` at the deadline. */
async function until<T>(
  probe: () => Promise<T | false>,
  describe: () => Promise<string>,
): Promise<T> {
  const value = await waitFor(probe, WAIT_MS);
  if (value === false) throw new Error(`not within ${WAIT_MS} ms: ${await describe()}`);
  return value;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return await res.text();
}

/** Lag of the group per partition, as the lag monitor computes it, from a member that never joins. */
async function probeLag(topic: string, group: string): Promise<number[]> {
  const probe = createGroupConsumer({
    brokers,
    topic,
    groupId: group,
    clientId: "consumer-test-probe",
    fromBeginning: true,
    logger: silentLogger,
  });
  try {
    const monitor = createLagMonitor({
      offsets: () => probe.offsets(),
      metrics: createConsumerMetrics({ topic, group, defaultMetrics: false }),
      reset: "earliest",
      logger: silentLogger,
    });
    const lags = await monitor.refresh();
    if (!lags) throw new Error("the lag probe could not reach Kafka");
    return lags.map((p) => p.lag);
  } finally {
    await probe.stop();
  }
}

/** A fresh topic with a publisher (withTestTopic) and a group name; all removed afterwards. */
async function withTopic(
  fn: (topic: string, group: string, publisher: Publisher) => Promise<void>,
): Promise<void> {
  const group = uniqueName("group");
  await withTestTopic("consumer", async (topic, publisher) => {
    try {
      await fn(topic, group, publisher);
    } finally {
      await deleteGroups(brokers, [group]).catch(() => {});
    }
  });
}

function consumerConfig(topic: string, group: string) {
  return loadConsumerConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    KAFKA_BROKERS,
    KAFKA_TOPIC: topic,
    CONSUMER_GROUP: group,
    CONSUMER_LAG_REFRESH_MS: "200",
    CONSUMER_SESSION_TIMEOUT_MS: "6000",
  });
}

Deno.test({
  name: "consumer: drops duplicates by event id, commits, resumes after a restart, lag drains to 0",
  ...REAL_IO,
  async fn() {
    await withTopic(async (topic, group, publisher) => {
      // 24 events over 6 payment ids, then 9 copies of 8 of them (one twice): 33 records.
      const originals = Array.from({ length: 24 }, (_, i) => outboxRecord(`pay-${i % 6}`));
      const copies = [0, 3, 5, 7, 11, 13, 17, 23, 3].map((i) => originals[i]!);
      await publisher.publish(originals.slice(0, 12));
      await publisher.publish([...copies.slice(0, 4), ...originals.slice(12), ...copies.slice(4)]);
      // A copy without the header: the consumer falls back to the payload's eventId.
      const bare = { ...originals[1]!, headers: { contentType: "application/json" } };
      await publisher.publish([bare]);
      const records = originals.length + copies.length + 1;

      const before = await probeLag(topic, group);
      assertEquals(before.reduce((a, b) => a + b, 0), records, `lag before: ${before}`);

      let running: RunningConsumer | null = await startConsumer(
        consumerConfig(topic, group),
        silentLogger,
      );
      try {
        const port = running.port;
        const drained = await until(async () => {
          const text = await scrape(port);
          return sumOf(text, "payment_consumer_messages_total") === records &&
            sumOf(text, "payment_consumer_lag") === 0 && text;
        }, async () => `all consumed and lag 0\n${await scrape(port)}`);
        assertEquals(sumOf(drained, "payment_consumer_duplicates_dropped_total"), 10);
        assertEquals(
          drained.split("\n").filter((l) => l.startsWith("payment_consumer_lag{")).length,
          3,
          "one lag series per partition",
        );
        assert(sumOf(drained, "payment_consumer_last_processed_timestamp_seconds") > 0);
        const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
        assertEquals(ready.status, 200, await ready.text());
        await running.stop();
        running = null;

        // Committed: the group's offsets are the high watermarks, seen from outside.
        assertEquals(await probeLag(topic, group), [0, 0, 0]);

        // While stopped: 4 new events and a copy of one of them pile up as lag.
        const later = Array.from({ length: 4 }, (_, i) => outboxRecord(`pay-${i}`));
        await publisher.publish([...later, later[2]!]);
        const waiting = await probeLag(topic, group);
        assertEquals(waiting.reduce((a, b) => a + b, 0), 5, `lag while stopped: ${waiting}`);

        running = await startConsumer(consumerConfig(topic, group), silentLogger);
        const again = running.port;
        const resumed = await until(async () => {
          const text = await scrape(again);
          return sumOf(text, "payment_consumer_messages_total") === 5 &&
            sumOf(text, "payment_consumer_lag") === 0 && text;
        }, async () => `the restarted consumer resumes\n${await scrape(again)}`);
        assertEquals(sumOf(resumed, "payment_consumer_duplicates_dropped_total"), 1);
      } finally {
        await running?.stop();
      }
    });
  },
});

Deno.test({
  name: "consumer: the program joins, reports ready, and exits 0 on SIGTERM after committing",
  ...REAL_IO,
  async fn() {
    await withTopic(async (topic, group, publisher) => {
      await publisher.publish([outboxRecord("pay-a"), outboxRecord("pay-b")]);
      const env = { KAFKA_BROKERS, KAFKA_TOPIC: topic, CONSUMER_GROUP: group };
      const proc = await spawnService({
        name: "consumer",
        script: "src/consumer/main.ts",
        denoFlags: ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"],
        env: { ...env, PORT: "0", CONSUMER_LAG_REFRESH_MS: "200" },
        startTimeoutMs: WAIT_MS,
      });
      try {
        const done = await waitFor(async () => {
          const text = await scrape(proc.port);
          return sumOf(text, "payment_consumer_messages_total") === 2 &&
            sumOf(text, "payment_consumer_lag") === 0;
        }, WAIT_MS);
        assert(done, `not consumed:\n${proc.lines.slice(-20).join("\n")}`);
        const status = await proc.stop(WAIT_MS);
        assertEquals(status.code, 0, proc.lines.slice(-20).join("\n"));
        assert(proc.lines.some((l) => l.includes('"msg":"consumer stopped"')));
        assertEquals(await probeLag(topic, group), [0, 0, 0]);
      } finally {
        if (proc.exitStatus === null) await proc.stop(5000);
      }
    });
  },
});
