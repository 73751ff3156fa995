/**
 * The reference consumer's cost: publishes N outbox-shaped records (a share of them copies) to a
 * fresh topic, starts `src/consumer/main.ts` as a process on a fresh group, and reports how long
 * it takes to read them all with lag 0, its CPU time per record (/proc, see cpu.ts) and its
 * resident memory. Bounded: one topic, one group, both removed afterwards.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 deno run -A scripts/bench/consumer_bench.ts \
 *     [--records 20000] [--copies 0.1] [--window 100000]
 *
 * Copies follow their original by 300 records, so any window above that drops them all; a window
 * below the distinct ids read makes the ring evict on every new id.
 */
import { parseArgs } from "@std/cli/parse-args";
import { createKafkaPublisher } from "../../src/kafka/kafkajs_publisher.ts";
import type { OutboundRecord } from "../../src/kafka/publisher.ts";
import { createTopic, deleteGroups, deleteTopic } from "../../src/testing/kafka_admin.ts";
import { silentLogger } from "../../src/log.ts";
import { toRecord } from "../../src/outbox/publish_rows.ts";
import { spawnService } from "../lib/service_process.ts";
import { readStat } from "./cpu.ts";

const args = parseArgs(Deno.args, { string: ["records", "copies", "window"] });
const records = Number(args.records ?? 20_000);
const copyShare = Number(args.copies ?? 0.1);
const window = Number(args.window ?? 100_000);
if (
  !Number.isInteger(records) || records < 1 || !(copyShare >= 0 && copyShare < 1) ||
  !Number.isInteger(window) || window < 301
) {
  console.error(
    "usage: consumer_bench.ts [--records N >= 1] [--copies 0 <= share < 1] [--window N > 300]",
  );
  Deno.exit(2);
}
const brokers = (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(",");
const suffix = crypto.randomUUID().slice(0, 8);
const topic = `consumer-bench-${suffix}`;
const group = `consumer-bench-${suffix}`;

/** Sum of every sample of `name` in an exposition (-1 when it has none). */
function sumOf(text: string, name: string): number {
  let total = -1;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total = Math.max(total, 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

await createTopic(brokers, topic, { partitions: 3 });
const publisher = createKafkaPublisher({
  brokers,
  topic,
  clientId: "consumer-bench",
  requestTimeoutMs: 10_000,
  deliveryTimeoutMs: 30_000,
  retries: 1,
  topicPartitions: 3,
  logger: silentLogger,
});
try {
  const copies = Math.round(records * copyShare);
  const originals: OutboundRecord[] = [];
  for (let i = 0; i < records - copies; i++) {
    const eventId = crypto.randomUUID();
    originals.push(toRecord({
      id: eventId,
      aggregateid: `pay-${i % 500}`,
      type: "PAYMENT_CREATED",
      payload: JSON.stringify({ eventId, paymentId: `pay-${i % 500}`, amount: 1000 + i }),
    }));
  }
  // Each copy follows its original by 300 records, as a relay republish would; spread evenly.
  const copyAfter = new Map<number, number>();
  for (let j = 0; j < copies; j++) {
    const at = 300 + Math.floor(j * (originals.length - 300) / copies);
    copyAfter.set(at, (copyAfter.get(at) ?? 0) + 1);
  }
  const all: OutboundRecord[] = [];
  for (const [i, r] of originals.entries()) {
    all.push(r);
    for (let k = 0; k < (copyAfter.get(i) ?? 0); k++) all.push(originals[i - 300 + k]!);
  }
  const duplicates = all.length - new Set(all.map((r) => r.eventId)).size;

  const proc = await spawnService({
    name: "consumer",
    script: "src/consumer/main.ts",
    denoFlags: ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"],
    env: {
      KAFKA_BROKERS: brokers.join(","),
      KAFKA_TOPIC: topic,
      CONSUMER_GROUP: group,
      PORT: "0",
      CONSUMER_LAG_REFRESH_MS: "200",
      CONSUMER_DEDUPE_WINDOW: String(window),
    },
  });
  try {
    const cpu = () => {
      const s = readStat(proc.pid);
      return s ? s[0] + s[1] : 0;
    };
    const scrape = async () => await (await fetch(`${proc.base}/metrics`)).text();
    // Start-up (module loading, joining the group) is not the per-record cost: measure from the
    // moment it holds its partitions, then publish.
    const deadline = Date.now() + 300_000;
    while ((await fetch(`${proc.base}/health/ready`)).status !== 200) {
      if (Date.now() > deadline) throw new Error("the consumer never became ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = performance.now();
    const cpu0 = cpu();
    for (let i = 0; i < all.length; i += 1000) await publisher.publish(all.slice(i, i + 1000));
    const published = performance.now();
    let text = await scrape();
    while (Date.now() < deadline) {
      if (
        sumOf(text, "payment_consumer_messages_total") === all.length &&
        sumOf(text, "payment_consumer_lag") === 0
      ) break;
      await new Promise((r) => setTimeout(r, 50));
      text = await scrape();
    }
    const done = performance.now();
    const cpuMs = cpu() - cpu0;
    const read = sumOf(text, "payment_consumer_messages_total");
    const dropped = sumOf(text, "payment_consumer_duplicates_dropped_total");
    const rss = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${proc.pid}/status`));
    console.log(
      `records ${all.length} (${duplicates} copies, window ${window}) published in ${
        ((published - t0) / 1000).toFixed(2)
      } s; consumer read ${read}, lag 0 after ${((done - t0) / 1000).toFixed(2)} s (${
        ((done - published) / 1000).toFixed(2)
      } s after the last publish, lag refreshed every 200 ms); consumer CPU ${
        (cpuMs * 1000 / read).toFixed(1)
      } µs/record (${cpuMs} ms); duplicates dropped ${dropped}; RSS ${
        rss ? Math.round(Number(rss[1]) / 1024) : "?"
      } MB`,
    );
    if (dropped !== duplicates || read !== all.length) Deno.exitCode = 1;
  } finally {
    await proc.stop();
  }
} finally {
  await publisher.close();
  await deleteGroups(brokers, [group]).catch(() => {});
  await deleteTopic(brokers, topic);
}
