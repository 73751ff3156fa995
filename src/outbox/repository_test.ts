import { acceptEvents } from "./accept.ts";
import { assertEquals } from "@std/assert";
import { migrate } from "./migrations.ts";
import { createPgliteDb } from "./pglite_db.ts";
import { markDeadLettered, markPublished, publishedPage, unpublishedCounts } from "./repository.ts";

function events(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const id = crypto.randomUUID();
    return { id, aggregateid: `pay-${i}`, type: "PAYMENT_CREATED", payload: `{"n":${i}}` };
  });
}

Deno.test("repository: unpublished counts split pending from dead-lettered within the range", async () => {
  const db = await createPgliteDb(null);
  try {
    await migrate(db);
    const made = await acceptEvents(db, events(4));
    const seqs = made.map((m) => (m.kind === "created" ? m.seq : ""));
    await markPublished(db, [seqs[0]!]);
    await markDeadLettered(db, seqs[1]!, "too large");
    const now = Date.now();
    const range = { since: new Date(now - 60_000), until: new Date(now + 60_000) };
    assertEquals(await unpublishedCounts(db, range), { pending: 2, deadLettered: 1 });
    const before = { since: new Date(now - 120_000), until: new Date(now - 60_000) };
    assertEquals(await unpublishedCounts(db, before), { pending: 0, deadLettered: 0 });
  } finally {
    await db.close();
  }
});

Deno.test("repository: a published page starts after `after` and stops at `limit`", async () => {
  const db = await createPgliteDb(null);
  try {
    await migrate(db);
    const made = await acceptEvents(db, events(3));
    const seqs = made.map((m) => (m.kind === "created" ? m.seq : ""));
    await markPublished(db, seqs);
    const now = Date.now();
    const page = { since: new Date(now - 60_000), until: new Date(now + 60_000) };
    const first = await publishedPage(db, { ...page, after: "0", limit: 2 });
    assertEquals(first.map((r) => r.seq), seqs.slice(0, 2));
    const rest = await publishedPage(db, { ...page, after: seqs[1]!, limit: 2 });
    assertEquals(rest.map((r) => r.seq), [seqs[2]]);
  } finally {
    await db.close();
  }
});
