/**
 * Exactly-once recovery against a real Postgres outbox: the expired owner is fenced before its
 * rows are taken over, what it committed is marked, the rest goes back in line, and the fenced
 * owner can neither mark nor release the rows afterwards. Kafka is played by the test (the fence
 * and the read-back are recorded); the fault matrix runs the same code against real brokers.
 */
import { acceptEvents } from "../../src/outbox/accept.ts";
import { assertEquals } from "@std/assert";
import type { Transactional } from "../../src/kafka/publisher.ts";
import { silentLogger } from "../../src/log.ts";
import { createPostgresDb, type Db } from "../../src/outbox/db.ts";
import { migrate } from "../../src/outbox/migrations.ts";
import { createRecovery } from "../../src/outbox/recovery.ts";
import {
  markPublished,
  type NewEvent,
  releaseClaims,
  scanPending,
} from "../../src/outbox/repository.ts";
import { DATABASE_URL, REAL_IO, uniqueName } from "./helpers.ts";

function event(key: string): NewEvent {
  const id = crypto.randomUUID();
  return { id, aggregateid: key, type: "PAYMENT_CREATED", payload: JSON.stringify({ id }) };
}

async function withOutbox(fn: (db: Db) => Promise<void>): Promise<void> {
  const schema = uniqueName("rec");
  const db = createPostgresDb(DATABASE_URL, { schema, poolSize: 2 });
  await migrate(db);
  try {
    await fn(db);
  } finally {
    await db.query(`DROP SCHEMA "${schema}" CASCADE`);
    await db.close();
  }
}

/** The recovery under test, with Kafka played by `transactional` and `readCommitted`. */
function recoveryOf(
  db: Db,
  transactional: Transactional,
  readCommitted: (sinceMs: number) => Promise<Set<string>>,
) {
  return createRecovery({
    db,
    logger: silentLogger,
    leaseMs: 30_000,
    transactional,
    readCommitted,
  });
}

async function rowsOf(db: Db) {
  return await db.query<{ id: string; status: string; claimed_by: string | null }>(
    "SELECT id::text AS id, status, claimed_by FROM outbox ORDER BY seq",
  );
}

Deno.test({
  name:
    "recovery: fence first, then take over, mark what was committed, release the rest; the fenced owner cannot mark",
  ...REAL_IO,
  fn: () =>
    withOutbox(async (db) => {
      // Three payments claimed by an owner that died; its claims expire at once (lease 0 ms).
      const events = [event("p1"), event("p2"), event("p3")];
      const accepted = await acceptEvents(db, events, { claimFor: "dead/0", leaseMs: 0 });
      const seqs = accepted.map((a) => (a.kind === "created" ? a.seq : ""));
      // The relay must not touch claimed rows in exactly-once mode, expired or not.
      assertEquals((await scanPending(db, 10, "0", true)).rows.length, 0);

      const log: string[] = [];
      const recovery = recoveryOf(db, {
        owner: () => "live/3",
        retire: () => log.push("retire"),
        async fence(owner) {
          // The rows are still the owner's when it is fenced: the take-over comes after.
          const held = (await rowsOf(db)).filter((r) => r.claimed_by === owner).length;
          log.push(`fence ${owner} holding ${held}`);
        },
      }, (sinceMs) => {
        log.push(`read back from ${sinceMs <= Date.now() - 60_000 ? "before the claims" : "?"}`);
        // The dead owner committed p1 and p3 before it died.
        return Promise.resolve(new Set([events[0]!.id, events[2]!.id]));
      });
      const report = await recovery.run();
      assertEquals(log, ["fence dead/0 holding 3", "read back from before the claims"]);
      assertEquals(report, { owners: ["dead/0"], marked: 2, released: 1 });
      const after = await rowsOf(db);
      assertEquals(after.map((r) => r.status), ["PUBLISHED", "PENDING", "PUBLISHED"]);
      assertEquals(after[1]!.claimed_by, null, "released to the relay");

      // The zombie wakes up: its mark and its release are refused by the owner guard.
      await db.query("UPDATE outbox SET claimed_by = 'recovery:x' WHERE seq = $1::int8", [seqs[1]]);
      await markPublished(db, [seqs[1]!], "dead/0");
      await releaseClaims(db, [seqs[1]!], "zombie", true, "dead/0");
      const row = (await rowsOf(db))[1]!;
      assertEquals([row.status, row.claimed_by], ["PENDING", "recovery:x"]);

      // Nothing expired is left: a second pass does nothing.
      await db.query("UPDATE outbox SET claimed_by = NULL WHERE seq = $1::int8", [seqs[1]]);
      assertEquals(await recovery.run(), { owners: [], marked: 0, released: 0 });
    }),
});

Deno.test({
  name:
    "recovery: expired claims of the current producer retire it, and are recovered as another owner's",
  ...REAL_IO,
  fn: () =>
    withOutbox(async (db) => {
      await acceptEvents(db, [event("p1")], { claimFor: "me/0", leaseMs: 0 });
      let owner = "me/0";
      const fenced: string[] = [];
      const recovery = recoveryOf(db, {
        owner: () => owner,
        retire: () => (owner = "me/1"),
        fence: (o) => Promise.resolve(void fenced.push(o)),
      }, () => Promise.resolve(new Set<string>()));
      const report = await recovery.run();
      assertEquals(owner, "me/1");
      assertEquals(fenced, ["me/0"]);
      assertEquals(report.released, 1);
      assertEquals((await rowsOf(db))[0]!.claimed_by, null);
    }),
});

Deno.test({
  name:
    "recovery: a read-back that fails leaves the rows taken over but expired, and the next pass settles them",
  ...REAL_IO,
  fn: () =>
    withOutbox(async (db) => {
      const e = event("p1");
      await acceptEvents(db, [e], { claimFor: "dead/0", leaseMs: 0 });
      let fail = true;
      const fenced: string[] = [];
      const recovery = recoveryOf(db, {
        owner: () => "live/0",
        retire: () => {},
        fence: (o) => Promise.resolve(void fenced.push(o)),
      }, () => fail ? Promise.reject(new Error("broker down")) : Promise.resolve(new Set([e.id])));
      let error = "";
      await recovery.run().catch((err) => (error = (err as Error).message));
      assertEquals(error, "broker down");
      assertEquals((await rowsOf(db))[0]!.claimed_by, "recovery:live/0");
      fail = false;
      const report = await recovery.run();
      // The recovery token is not fenced again: the dead owner was fenced before the take-over.
      assertEquals(fenced, ["dead/0"]);
      assertEquals(report.marked, 1);
      assertEquals((await rowsOf(db))[0]!.status, "PUBLISHED");
    }),
});
