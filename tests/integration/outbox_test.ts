import { acceptEvents } from "../../src/outbox/accept.ts";
import { KAFKA_PUBLISH_ERRORS } from "../../src/kafka/errors.ts";
import { assert, assertEquals } from "@std/assert";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";
import { isPerRecordError } from "../../src/kafka/errors.ts";
import type { OutboundRecord, Publisher } from "../../src/kafka/publisher.ts";
import { silentLogger } from "../../src/log.ts";
import { createPostgresDb, type Db } from "../../src/outbox/db.ts";
import { migrate } from "../../src/outbox/migrations.ts";
import { createPgliteDb } from "../../src/outbox/pglite_db.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import {
  findEvent,
  markPublished,
  type NewEvent,
  outboxStats,
  releaseClaims,
  scanPending,
} from "../../src/outbox/repository.ts";
import { DATABASE_URL, REAL_IO, uniqueName, waitFor } from "./helpers.ts";

/** The stores the outbox runs on; each test runs against every one. */
const STORES: { name: string; open: () => Promise<{ db: Db; drop: () => Promise<void> }> }[] = [
  {
    name: "postgres server",
    async open() {
      const schema = uniqueName("ob");
      const db = createPostgresDb(DATABASE_URL, { schema, poolSize: 4 });
      await migrate(db);
      return {
        db,
        async drop() {
          await db.query(`DROP SCHEMA "${schema}" CASCADE`);
          await db.close();
        },
      };
    },
  },
  {
    name: "embedded pglite",
    async open() {
      const db = await createPgliteDb(null);
      await migrate(db);
      return { db, drop: () => db.close() };
    },
  },
];

function event(key: string, over: Partial<NewEvent> = {}): NewEvent {
  const id = crypto.randomUUID();
  return {
    id,
    aggregateid: key,
    type: "PAYMENT_CREATED",
    payload: JSON.stringify({ eventId: id, paymentId: key }),
    ...over,
  };
}

/** A recording publisher that fails on demand. */
function recordingPublisher() {
  const published: OutboundRecord[][] = [];
  let failWith: ((records: OutboundRecord[]) => Error | null) | null = null;
  const publisher: Publisher = {
    publish(records) {
      const err = failWith?.(records) ?? null;
      if (err) return Promise.reject(err);
      published.push(records);
      return Promise.resolve();
    },
    connect: () => Promise.resolve(),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return {
    publisher,
    published,
    failWhen(f: ((records: OutboundRecord[]) => Error | null) | null) {
      failWith = f;
    },
  };
}

for (const store of STORES) {
  Deno.test({
    name: `[${store.name}] publishedApprox follows publishes within seconds, without ANALYZE`,
    ...REAL_IO,
    async fn() {
      const { db, drop } = await store.open();
      try {
        const out = await acceptEvents(db, Array.from({ length: 300 }, (_, i) => event(`k${i}`)));
        const seqs = out.map((o) => (o.kind === "created" ? o.seq : ""));
        await markPublished(db, seqs.slice(0, 250));
        let last = await outboxStats(db);
        const caughtUp = await waitFor(
          async () => {
            last = await outboxStats(db);
            return last.publishedApprox === 250;
          },
          20_000,
          250,
        );
        assert(caughtUp, `publishedApprox ${last.publishedApprox} after 20 s, want 250`);
        assertEquals(last.pending, 50);
      } finally {
        await drop();
      }
    },
  });

  Deno.test({
    name: `[${store.name}] only the first pending event of a key is claimed for inline publishing`,
    ...REAL_IO,
    async fn() {
      const { db, drop } = await store.open();
      try {
        const a1 = event("A");
        const a2 = event("A");
        const b1 = event("B");
        const out = await acceptEvents(db, [a1, a2, b1], { claimFor: "me", leaseMs: 60_000 });
        assertEquals(out.map((o) => o.kind === "created" && o.claimedBy !== null), [
          true,
          false,
          true,
        ]);
        // a2 waits behind a1's live claim, so the relay may not take it either.
        assertEquals((await scanPending(db, 10)).rows.map((r) => r.id), []);
        const seqs = out.map((o) => (o.kind === "created" ? o.seq : ""));
        await releaseClaims(db, [seqs[0]!], "kafka down");
        assertEquals((await scanPending(db, 10)).rows.map((r) => r.id), [a1.id, a2.id]);
        await markPublished(db, [seqs[0]!, seqs[1]!]);
        // A later event of A is first in line again and is claimed.
        const [a3] = await acceptEvents(db, [event("A")], { claimFor: "me", leaseMs: 60_000 });
        assert(a3?.kind === "created" && a3.claimedBy !== null);
        const stats = await outboxStats(db);
        assertEquals(stats.pending, 2);
        assertEquals((await findEvent(db, a1.id))?.status, "PUBLISHED");
        assertEquals((await findEvent(db, a1.id))?.attempts, 2);
      } finally {
        await drop();
      }
    },
  });

  Deno.test({
    name: `[${store.name}] a known event id is a duplicate; a different body is detected`,
    ...REAL_IO,
    async fn() {
      const { db, drop } = await store.open();
      try {
        const e = event("K");
        await acceptEvents(db, [e]);
        const spaced = { ...e, payload: JSON.stringify(JSON.parse(e.payload), null, 2) };
        const [same] = await acceptEvents(db, [spaced]);
        assertEquals(same?.kind === "duplicate" && same.samePayload, true);
        const [other] = await acceptEvents(db, [{ ...e, payload: '{"x":1}' }]);
        assertEquals(other?.kind === "duplicate" && other.samePayload, false);
        // Two events with one new id in a single batch (a fresh id: deriving it from e.id once
        // produced e.id itself, one run in sixteen).
        const twiceId = crypto.randomUUID();
        const [twice1, twice2] = await acceptEvents(db, [
          event("Z", { id: twiceId }),
          event("Z", { id: twiceId }),
        ]);
        assertEquals([twice1?.kind, twice2?.kind], ["created", "duplicate"]);
        assertEquals((await outboxStats(db)).pending, 2);
      } finally {
        await drop();
      }
    },
  });

  Deno.test({
    name: `[${store.name}] the relay publishes pending rows in acceptance order and marks them`,
    ...REAL_IO,
    async fn() {
      const { db, drop } = await store.open();
      const breaker = new CircuitBreaker("kafka-publisher", { minimumNumberOfCalls: 2 });
      const rec = recordingPublisher();
      const relay = createRelay({
        db,
        breaker,
        publisher: rec.publisher,
        errors: KAFKA_PUBLISH_ERRORS,
        logger: silentLogger,
        batchSize: 3,
        pollIntervalMs: 20,
      });
      try {
        const events = [event("A"), event("B"), event("A"), event("C"), event("A")];
        await acceptEvents(db, events);
        relay.start();
        assert(await waitFor(async () => (await outboxStats(db)).pending === 0, 10_000));
        const order = rec.published.flat().map((r) => r.eventId);
        assertEquals(order, events.map((e) => e.id));
        assertEquals(rec.published[0]!.length, 3, "batches of at most batchSize");
        assertEquals(rec.published[0]![0]!.key, "A");
        assertEquals(rec.published[0]![0]!.headers.eventId, events[0]!.id);
        assertEquals(relay.status().publishedTotal, 5);
      } finally {
        await relay.stop();
        breaker.dispose();
        await drop();
      }
    },
  });

  Deno.test({
    name:
      `[${store.name}] relay failures open the breaker and keep rows pending; a bad record is dead-lettered alone`,
    ...REAL_IO,
    async fn() {
      const { db, drop } = await store.open();
      const breaker = new CircuitBreaker("kafka-publisher", {
        minimumNumberOfCalls: 2,
        slidingWindowSize: 2,
        waitDurationInOpenState: 60_000,
        ignoreError: isPerRecordError,
      });
      const rec = recordingPublisher();
      const relay = createRelay({
        db,
        breaker,
        publisher: rec.publisher,
        errors: KAFKA_PUBLISH_ERRORS,
        logger: silentLogger,
        pollIntervalMs: 10,
      });
      try {
        rec.failWhen(() => new Error("Connection error: ECONNREFUSED"));
        await acceptEvents(db, [event("A"), event("B")]);
        relay.start();
        assert(
          await waitFor(() => Promise.resolve(breaker.state === "OPEN"), 10_000),
          "breaker did not open",
        );
        assertEquals((await outboxStats(db)).pending, 2);
        const { rows } = await scanPending(db, 10);
        assert(rows.every((r) => r.attempts >= 1 && r.lastError?.includes("ECONNREFUSED")));

        const bad = event("B", { payload: JSON.stringify({ big: true }) });
        await acceptEvents(db, [bad]);
        rec.failWhen((records) =>
          records.some((r) => r.eventId === bad.id)
            ? Object.assign(new Error("too large"), { type: "MESSAGE_TOO_LARGE" })
            : null
        );
        breaker.transitionTo("CLOSED");
        assert(await waitFor(async () => (await outboxStats(db)).pending === 0, 10_000));
        assertEquals((await findEvent(db, bad.id))?.status, "DEAD_LETTERED");
        assertEquals((await outboxStats(db)).deadLettered, 1);
        assertEquals(rec.published.flat().length, 2);
        assertEquals(breaker.state, "CLOSED", "per-record errors must not trip the breaker");
      } finally {
        await relay.stop();
        breaker.dispose();
        await drop();
      }
    },
  });
}

Deno.test({
  name: "two relays on one outbox: one leads, the other takes over when the leader stops",
  ...REAL_IO,
  async fn() {
    const schema = uniqueName("ob");
    const db1 = createPostgresDb(DATABASE_URL, { schema, poolSize: 3 });
    const db2 = createPostgresDb(DATABASE_URL, { schema, poolSize: 3 });
    await migrate(db1);
    const b1 = new CircuitBreaker("kafka-publisher");
    const b2 = new CircuitBreaker("kafka-publisher");
    const r1pub = recordingPublisher();
    const r2pub = recordingPublisher();
    const r1 = createRelay({
      db: db1,
      breaker: b1,
      publisher: r1pub.publisher,
      errors: KAFKA_PUBLISH_ERRORS,
      logger: silentLogger,
      pollIntervalMs: 20,
      leaderRetryMs: 50,
    });
    const r2 = createRelay({
      db: db2,
      breaker: b2,
      publisher: r2pub.publisher,
      errors: KAFKA_PUBLISH_ERRORS,
      logger: silentLogger,
      pollIntervalMs: 20,
      leaderRetryMs: 50,
    });
    try {
      r1.start();
      assert(await waitFor(() => Promise.resolve(r1.status().leader), 5000));
      r2.start();
      await acceptEvents(db1, [event("A"), event("B")]);
      assert(await waitFor(async () => (await outboxStats(db1)).pending === 0, 5000));
      assertEquals(r2.status().leader, false);
      assertEquals(r2pub.published.length, 0);
      await r1.stop();
      assert(await waitFor(() => Promise.resolve(r2.status().leader), 5000), "no takeover");
      await acceptEvents(db1, [event("C")]);
      assert(await waitFor(async () => (await outboxStats(db1)).pending === 0, 5000));
      assertEquals(r2pub.published.flat().length, 1);
      assertEquals(r1pub.published.flat().length, 2, "nothing published twice");
    } finally {
      await r2.stop();
      b1.dispose();
      b2.dispose();
      await db1.query(`DROP SCHEMA "${schema}" CASCADE`);
      await db1.close();
      await db2.close();
    }
  },
});

for (const store of STORES) {
  Deno.test({
    name:
      `[${store.name}] a scan continued past published rows never takes a row whose key has a skipped row`,
    ...REAL_IO,
    async fn() {
      const { db, drop } = await store.open();
      try {
        // a1 is under a live inline claim; b1 and a2 wait; a continued scan starts after b1.
        const [a1] = await acceptEvents(db, [event("A")], { claimFor: "me", leaseMs: 60_000 });
        const [b1, a2, c1] = await acceptEvents(db, [event("B"), event("A"), event("C")]);
        const seq = (o: typeof a1) => (o?.kind === "created" ? o.seq : "");
        // From the start: a1 (claimed) and a2 (behind it) are held back.
        assertEquals((await scanPending(db, 10)).rows.map((r) => r.seq), [seq(b1), seq(c1)]);
        // The claim lapses (the inline publish failed); a scan continued after b1 must still
        // not take a2, whose older row a1 lies before the cursor and was never seen by it.
        await releaseClaims(db, [seq(a1)], "kafka down");
        assertEquals((await scanPending(db, 10, seq(b1))).rows.map((r) => r.seq), [seq(c1)]);
        // From the start, a1 and a2 go out in order.
        assertEquals(
          (await scanPending(db, 10)).rows.map((r) => r.seq),
          [seq(a1), seq(b1), seq(a2), seq(c1)],
        );
        // A continued scan after a1 no longer holds a2 back for a row it skipped: a1 is past.
        await markPublished(db, [seq(a1)]);
        assertEquals((await scanPending(db, 10, seq(a1))).rows.map((r) => r.seq), [
          seq(b1),
          seq(a2),
          seq(c1),
        ]);
      } finally {
        await drop();
      }
    },
  });
}
