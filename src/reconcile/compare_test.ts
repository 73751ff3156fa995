import { assertEquals } from "@std/assert";
import {
  compareOutboxWithTopic,
  countInversions,
  type PublishedEvent,
  type TopicRecord,
} from "./compare.ts";

const T = new Date("2026-03-01T12:00:00Z");

function ev(seq: number, id: string, key: string): PublishedEvent {
  return { seq: String(seq), id, key, publishedAt: T };
}

function rec(id: string, key: string, partition: number, offset: number, ts = 0): TopicRecord {
  return { eventId: id, key, partition, offset: String(offset), timestamp: ts };
}

Deno.test("a topic holding every event once and in order is clean", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A"), ev(2, "b1", "B"), ev(3, "a2", "A")],
    [rec("a1", "A", 0, 0), rec("b1", "B", 1, 0), rec("a2", "A", 0, 1)],
  );
  assertEquals(f.checked, 3);
  assertEquals(f.found, 3);
  assertEquals(f.keys, 2);
  assertEquals(f.missing, []);
  assertEquals(f.duplicated, []);
  assertEquals(f.outOfOrder, []);
  assertEquals(f.unmatchedRecords, 0);
});

Deno.test("an event without a record is missing", () => {
  const f = compareOutboxWithTopic([ev(1, "a1", "A"), ev(2, "a2", "A")], [rec("a1", "A", 0, 0)]);
  assertEquals(f.missing.map((m) => m.eventId), ["a2"]);
  assertEquals(f.missing[0]!.seq, "2");
  assertEquals(f.found, 1);
});

Deno.test("copies are counted and located; the first copy decides the order", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A"), ev(2, "a2", "A")],
    // a1 republished after a2 (a lost ack): a duplicate, not an order violation.
    [rec("a1", "A", 0, 5), rec("a2", "A", 0, 6), rec("a1", "A", 0, 7)],
  );
  assertEquals(f.duplicated, [{ eventId: "a1", key: "A", copies: 2, at: ["0:5", "0:7"] }]);
  assertEquals(f.duplicateCopies, 1);
  assertEquals(f.outOfOrder, []);
});

Deno.test("first copies against acceptance order are an order violation", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A"), ev(2, "a2", "A"), ev(3, "a3", "A"), ev(4, "b1", "B")],
    [rec("a2", "A", 0, 0), rec("a1", "A", 0, 1), rec("a3", "A", 0, 2), rec("b1", "B", 2, 0)],
  );
  assertEquals(f.outOfOrder.length, 1);
  assertEquals(f.outOfOrder[0]!.key, "A");
  assertEquals(f.outOfOrder[0]!.expected, ["a1", "a2", "a3"]);
  assertEquals(f.outOfOrder[0]!.actual, ["a2", "a1", "a3"]);
  assertEquals(f.outOfOrder[0]!.inversions, 1);
  assertEquals(f.orderInversions, 1);
});

Deno.test("order is read by offset, not by the order records were handed over", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A"), ev(2, "a2", "A")],
    [rec("a2", "A", 0, 11), rec("a1", "A", 0, 10)],
  );
  assertEquals(f.outOfOrder, []);
});

Deno.test("offsets compare as numbers, not text", () => {
  const f = compareOutboxWithTopic(
    [ev(9, "a1", "A"), ev(10, "a2", "A")],
    [rec("a1", "A", 0, 9), rec("a2", "A", 0, 10)],
  );
  assertEquals(f.outOfOrder, []);
});

Deno.test("a missing event does not make its neighbours out of order", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A"), ev(2, "a2", "A"), ev(3, "a3", "A")],
    [rec("a1", "A", 0, 0), rec("a3", "A", 0, 1)],
  );
  assertEquals(f.missing.length, 1);
  assertEquals(f.outOfOrder, []);
});

Deno.test("a key spread over partitions is ordered by record time and flagged", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A"), ev(2, "a2", "A")],
    [rec("a1", "A", 1, 0, 2000), rec("a2", "A", 0, 0, 1000)],
  );
  assertEquals(f.outOfOrder.length, 1);
  assertEquals(f.outOfOrder[0]!.spansPartitions, true);
});

Deno.test("records of other events, without ids or under another key are reported", () => {
  const f = compareOutboxWithTopic(
    [ev(1, "a1", "A")],
    [rec("zz", "Z", 0, 0), rec("", "A", 0, 1), rec("A1", "B", 0, 2)],
  );
  assertEquals(f.unmatchedRecords, 1);
  assertEquals(f.recordsWithoutEventId, 1);
  // Event ids are UUIDs: compared without regard to case.
  assertEquals(f.missing, []);
  assertEquals(f.wrongKey, [{ eventId: "a1", expected: "A", actual: "B" }]);
});

Deno.test("inversions count adjacent descents", () => {
  assertEquals(countInversions([]), 0);
  assertEquals(countInversions([0, 1, 2]), 0);
  assertEquals(countInversions([1, 0, 2]), 1);
  assertEquals(countInversions([2, 1, 0]), 2);
});
