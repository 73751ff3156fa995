import { assertEquals, assertRejects } from "@std/assert";
import type { ConsumedRecord } from "../kafka/group_consumer.ts";
import { silentLogger } from "../log.ts";
import { toRecord } from "../outbox/publish_rows.ts";
import { createDedupeWindow } from "./dedupe_window.ts";
import { createRecordProcessor, eventIdOf } from "./record_processor.ts";

/** A consumed record as the outbox publishes it. */
function outboxRecord(id: string, partition = 0, offset = 0): ConsumedRecord {
  const r = toRecord({ id, aggregateid: "pay-1", type: "PAYMENT_CREATED", payload: "{}" });
  return {
    topic: "t",
    partition,
    offset: String(offset),
    key: r.key,
    value: r.value,
    headers: r.headers,
    timestamp: 0,
  };
}

/** Counts what the processor reports, per kind. */
function recordingMetrics() {
  const seen = { consumed: 0, duplicate: 0, processed: [] as number[] };
  return {
    seen,
    metrics: {
      consumed: () => void seen.consumed++,
      duplicate: () => void seen.duplicate++,
      processed: (at: number) => void seen.processed.push(at),
    },
  };
}

Deno.test("eventIdOf: the outbox's header first, then the payload's eventId, else null", () => {
  assertEquals(eventIdOf(outboxRecord("e-1")), "e-1");
  assertEquals(eventIdOf({ headers: {}, value: '{"eventId":"e-2","amount":1}' }), "e-2");
  assertEquals(
    eventIdOf({ headers: { eventId: "h" }, value: '{"eventId":"p"}' }),
    "h",
    "the header wins",
  );
  for (const value of [null, "", "not json", "[1]", '{"eventId":7}', '{"eventId":""}', "{bad"]) {
    assertEquals(eventIdOf({ headers: {}, value }), null, String(value));
  }
});

Deno.test("processor: copies of an event id are dropped and counted; new ids are applied", async () => {
  const { seen, metrics } = recordingMetrics();
  const applied: string[] = [];
  const handle = createRecordProcessor({
    dedupe: createDedupeWindow(100),
    metrics,
    logger: silentLogger,
    apply: (_r, id) => void applied.push(id!),
    now: () => 1234,
  });
  for (const [i, id] of ["a", "b", "a", "c", "b", "a"].entries()) {
    await handle(outboxRecord(id, i % 2, i));
  }
  assertEquals(applied, ["a", "b", "c"]);
  assertEquals(seen.consumed, 6);
  assertEquals(seen.duplicate, 3);
  assertEquals(seen.processed, [1234, 1234, 1234]);
});

Deno.test("processor: a record without an event id is applied every time", async () => {
  const { seen, metrics } = recordingMetrics();
  let applied = 0;
  const handle = createRecordProcessor({
    dedupe: createDedupeWindow(10),
    metrics,
    logger: silentLogger,
    apply: () => void applied++,
  });
  const bare = { ...outboxRecord("x"), headers: {}, value: "plain text" };
  await handle(bare);
  await handle({ ...bare, offset: "1" });
  assertEquals(applied, 2);
  assertEquals(seen.duplicate, 0);
});

Deno.test("processor: a failed apply is not remembered, so the re-delivered copy is applied", async () => {
  const { seen, metrics } = recordingMetrics();
  let fail = true;
  const applied: string[] = [];
  const handle = createRecordProcessor({
    dedupe: createDedupeWindow(10),
    metrics,
    logger: silentLogger,
    apply: (_r, id) => {
      if (fail) throw new Error("database down");
      applied.push(id!);
    },
  });
  await assertRejects(() => Promise.resolve(handle(outboxRecord("e"))), Error, "database down");
  fail = false;
  await handle(outboxRecord("e"));
  assertEquals(applied, ["e"]);
  assertEquals(seen.duplicate, 0);
  assertEquals(seen.processed.length, 1);
});

Deno.test("processor: a record delivered again at an offset already processed is skipped, not counted as a duplicate", async () => {
  const { seen, metrics } = recordingMetrics();
  const applied: string[] = [];
  const handle = createRecordProcessor({
    dedupe: createDedupeWindow(10),
    metrics,
    logger: silentLogger,
    apply: (_r, id) => void applied.push(id!),
  });
  // The group resumed from its last commit (offset 1 of partition 0) after a failover.
  for (
    const [id, offset] of [["a", 0], ["b", 1], ["c", 2], ["b", 1], ["c", 2], ["d", 3]] as const
  ) {
    await handle(outboxRecord(id, 0, offset));
  }
  // A second copy of an event at a new offset is still a duplicate.
  await handle(outboxRecord("a", 0, 4));
  // Offsets are per partition.
  await handle(outboxRecord("e", 1, 0));
  assertEquals(applied, ["a", "b", "c", "d", "e"]);
  assertEquals(seen.consumed, 8);
  assertEquals(seen.duplicate, 1);
});
