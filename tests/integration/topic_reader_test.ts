/** The one topic reader (src/kafka/topic_reader.ts) and the admin calls, against the real broker. */
import { assert, assertEquals, assertRejects } from "@std/assert";
import type { OutboundRecord } from "../../src/kafka/publisher.ts";
import { brokerAnswers } from "../../src/testing/kafka_admin.ts";
import { readTopic } from "../../src/kafka/topic_reader.ts";
import { KAFKA_BROKERS, REAL_IO, uniqueName, withTestTopic } from "./helpers.ts";

const brokers = KAFKA_BROKERS.split(",");

function record(key: string, n: number): OutboundRecord {
  const eventId = crypto.randomUUID();
  return { eventId, key, value: JSON.stringify({ n }), headers: { eventId } };
}

Deno.test({
  name: "readTopic reads up to the high watermarks seen at its start, or from a timestamp on",
  ...REAL_IO,
  async fn() {
    await withTestTopic("reader", async (topic, publisher) => {
      const first = [1, 2, 3, 4, 5, 6].map((n) => record(`key-${n % 3}`, n));
      await publisher.publish(first);
      const all = await readTopic({ brokers, topic, timeoutMs: 20_000 });
      assert(all.complete);
      assertEquals(all.records.map((r) => r.eventId).sort(), first.map((r) => r.eventId).sort());
      assertEquals(all.records.every((r) => r.value === undefined), true, "values only on request");
      const total = all.partitions.reduce((n, p) => n + Number(p.end) - Number(p.start), 0);
      assertEquals(total, 6);
      for (const key of ["key-0", "key-1", "key-2"]) {
        // A key lives in one partition, in publish order.
        const copies = all.records.filter((r) => r.key === key);
        assertEquals(new Set(copies.map((r) => r.partition)).size, 1);
        const want = first.filter((r) => r.key === key).map((r) => r.eventId);
        const got = copies.sort((a, b) => Number(a.offset) - Number(b.offset)).map((r) =>
          r.eventId
        );
        assertEquals(got, want);
      }

      // The later records must be stamped after every earlier one: wait out this millisecond.
      const since = Math.max(...all.records.map((r) => r.timestamp)) + 1;
      while (Date.now() < since) await Promise.resolve();
      const later = [record("key-0", 7), record("key-1", 8)];
      await publisher.publish(later);
      const tail = await readTopic({ brokers, topic, fromTimestamp: since, timeoutMs: 20_000 });
      assertEquals(tail.records.map((r) => r.eventId).sort(), later.map((r) => r.eventId).sort());
    });
  },
});

Deno.test({
  name: "readTopic with untilIds stops once they are read; a missing id ends at the deadline",
  ...REAL_IO,
  async fn() {
    await withTestTopic("reader", async (topic, publisher) => {
      const sent = [record("a", 1), record("b", 2), record("a", 3)];
      await publisher.publish(sent);
      const wanted = [sent[0]!.eventId, sent[2]!.eventId];
      const found = await readTopic({
        brokers,
        topic,
        untilIds: wanted,
        values: true,
        timeoutMs: 20_000,
      });
      assert(found.complete);
      for (const id of wanted) {
        const r = found.records.find((x) => x.eventId === id);
        if (!r) throw new Error(`${id} not read`);
        assertEquals(r.key, "a");
        assertEquals(typeof JSON.parse(r.value ?? "").n, "number");
      }

      const t0 = Date.now();
      const partial = await readTopic({
        brokers,
        topic,
        untilIds: [sent[1]!.eventId, crypto.randomUUID()],
        timeoutMs: 3000,
      });
      assertEquals(partial.complete, false);
      assert(Date.now() - t0 >= 3000, "returned before the deadline");
      assert(partial.records.some((r) => r.eventId === sent[1]!.eventId));
    });
  },
});

Deno.test({
  name: "readTopic of a missing topic is empty; of an unreachable broker rejects",
  ...REAL_IO,
  async fn() {
    const missing = await readTopic({ brokers, topic: uniqueName("absent"), timeoutMs: 5000 });
    assertEquals(missing.records, []);
    assert(missing.complete);
    await assertRejects(() => readTopic({ brokers: ["127.0.0.1:1"], topic: "t", timeoutMs: 2000 }));
    assertEquals(await brokerAnswers(brokers[0]!), true);
    assertEquals(await brokerAnswers("127.0.0.1:1", 1000), false);
  },
});
