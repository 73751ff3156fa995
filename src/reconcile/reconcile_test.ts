import { acceptEvents } from "../outbox/accept.ts";
import { assertEquals, assertRejects } from "@std/assert";
import { migrate } from "../outbox/migrations.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { markPublished } from "../outbox/repository.ts";
import { loadPublishedEvents, reconcile, type ReconcileReport } from "./reconcile.ts";
import { formatReport } from "./report_text.ts";

Deno.test("only PUBLISHED rows with published_at in [since, until) are loaded, in seq order", async () => {
  const db = await createPgliteDb(null);
  try {
    await migrate(db);
    const ids = Array.from({ length: 5 }, () => crypto.randomUUID());
    const made = await acceptEvents(
      db,
      ids.map((id, i) => ({
        id,
        aggregateid: `pay-${i % 2}`,
        type: "PAYMENT_CREATED",
        payload: JSON.stringify({ eventId: id }),
      })),
    );
    const seqs = made.map((m) => (m.kind === "created" ? m.seq : ""));
    await markPublished(db, [seqs[0]!, seqs[1]!, seqs[3]!]);
    // One published row lies outside the range.
    await db.query(
      "UPDATE outbox SET published_at = now() - interval '2 hours' WHERE seq = $1::int8",
      [seqs[3]],
    );
    const now = Date.now();
    const rows = await loadPublishedEvents(
      db,
      new Date(now - 3_600_000),
      new Date(now + 60_000),
    );
    assertEquals(rows.map((r) => r.id), [ids[0], ids[1]]);
    assertEquals(rows.map((r) => r.key), ["pay-0", "pay-1"]);
  } finally {
    await db.close();
  }
});

Deno.test("pages follow seq as a number across 9 -> 10 (no row skipped or repeated)", async () => {
  const db = await createPgliteDb(null);
  try {
    await migrate(db);
    const ids = Array.from({ length: 25 }, () => crypto.randomUUID());
    const made = await acceptEvents(
      db,
      ids.map((id) => ({
        id,
        aggregateid: "pay-1",
        type: "PAYMENT_CREATED",
        payload: JSON.stringify({ eventId: id }),
      })),
    );
    await markPublished(db, made.map((m) => (m.kind === "created" ? m.seq : "")));
    const now = Date.now();
    const rows = await loadPublishedEvents(
      db,
      new Date(now - 60_000),
      new Date(now + 60_000),
      4,
    );
    assertEquals(rows.map((r) => r.id), ids);
    assertEquals(rows.map((r) => Number(r.seq)), ids.map((_, i) => i + 1));
  } finally {
    await db.close();
  }
});

Deno.test("an empty range is refused before any I/O", async () => {
  const t = new Date();
  await assertRejects(
    () =>
      reconcile({ query: () => Promise.reject(new Error("no I/O expected")) }, {
        brokers: ["127.0.0.1:1"],
        topic: "t",
        since: t,
        until: t,
      }),
    RangeError,
    "must be before",
  );
});

Deno.test("the text report names every finding and the verdict", () => {
  const report: ReconcileReport = {
    topic: "payment-events",
    since: "2026-03-01T11:00:00.000Z",
    until: "2026-03-01T12:00:00.000Z",
    checked: 3,
    found: 2,
    keys: 1,
    missing: [{ eventId: "e3", key: "A", seq: "3", publishedAt: "2026-03-01T11:30:00.000Z" }],
    duplicated: [{ eventId: "e1", key: "A", copies: 2, at: ["0:1", "0:4"] }],
    duplicateCopies: 1,
    outOfOrder: [{
      key: "A",
      inversions: 1,
      expected: ["e1", "e2"],
      actual: ["e2", "e1"],
      spansPartitions: false,
    }],
    orderInversions: 1,
    unmatchedRecords: 0,
    recordsWithoutEventId: 0,
    wrongKey: [],
    clean: false,
    recordsRead: 3,
    partitions: [{ partition: 0, start: "0", end: "5" }],
    pendingInRange: 0,
    deadLetteredInRange: 0,
    durationMs: 12,
  };
  const text = formatReport(report);
  for (const s of ["missing:      1", "e3 key A seq 3", "x2 at 0:1, 0:4", "1 keys", "NOT CLEAN"]) {
    assertEquals(text.includes(s), true, `${s} in\n${text}`);
  }
});
