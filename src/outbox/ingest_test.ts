import { assertEquals } from "@std/assert";
import { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import type { Publisher } from "../kafka/publisher.ts";
import { silentLogger } from "../log.ts";
import type { Db } from "./db.ts";
import { createIngest } from "./ingest.ts";
import { migrate } from "./migrations.ts";
import { createPgliteDb } from "./pglite_db.ts";
import { findEvent } from "./repository.ts";

/** A store whose PUBLISHED marks wait until `release()`: the answer does not wait for them. */
function holdingMarks(db: Db) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const held: Db = Object.create(db);
  held.query = async <T>(text: string, params?: unknown[]): Promise<T[]> => {
    if (text.includes("SET status = 'PUBLISHED'")) await gate;
    return db.query<T>(text, params);
  };
  return { db: held, release };
}

const kafka: Publisher = {
  publish: () => Promise.resolve(),
  connect: () => Promise.resolve(),
  ping: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

Deno.test("ingest: a replay while the PUBLISHED mark is still being written says PUBLISHED, as the 201 did", async () => {
  const store = await createPgliteDb(null);
  try {
    await migrate(store);
    const { db, release } = holdingMarks(store);
    const ingest = createIngest({
      db,
      breaker: new CircuitBreaker("kafka-publisher"),
      publisher: kafka,
      errors: { isPerRecord: () => false, describe: String },
      logger: silentLogger,
      instanceId: "test",
    });
    const id = crypto.randomUUID();
    const event = { id, aggregateid: "pay-1", type: "PAYMENT_CREATED", payload: '{"n":1}' };
    assertEquals((await ingest.accept(event)).kind, "published");
    assertEquals((await findEvent(store, id))?.status, "PENDING", "the mark must still be held");

    const replay = await ingest.accept(event);
    assertEquals(replay.kind === "replay" && replay.status, "PUBLISHED");
    assertEquals(ingest.unmarkedSince(id.toUpperCase()) instanceof Date, true);

    release();
    await ingest.drain();
    assertEquals((await findEvent(store, id))?.status, "PUBLISHED");
    assertEquals(ingest.unmarkedSince(id), undefined);
  } finally {
    await store.close();
  }
});

Deno.test("ingest: while the breaker is OPEN an event is stored unclaimed in one statement, with no lock, publish or release", async () => {
  const store = await createPgliteDb(null);
  try {
    await migrate(store);
    const statements: string[] = [];
    const db: Db = Object.create(store);
    db.query = <T>(text: string, params?: unknown[]): Promise<T[]> => {
      statements.push(text);
      return store.query<T>(text, params);
    };
    db.transaction = <T>(fn: (tx: typeof store) => Promise<T>): Promise<T> => {
      statements.push("BEGIN");
      return store.transaction(fn as never) as Promise<T>;
    };
    let publishes = 0;
    const breaker = new CircuitBreaker("kafka-publisher");
    breaker.transitionTo("FORCED_OPEN");
    const ingest = createIngest({
      db,
      breaker,
      publisher: { ...kafka, publish: () => (publishes++, Promise.resolve()) },
      errors: { isPerRecord: () => false, describe: String },
      logger: silentLogger,
      instanceId: "test",
    });
    const id = crypto.randomUUID();
    const result = await ingest.accept({
      id,
      aggregateid: "pay-1",
      type: "PAYMENT_CREATED",
      payload: '{"n":1}',
    });
    await ingest.drain();
    assertEquals(result.kind === "pending" && result.reason, "circuit breaker is FORCED_OPEN");
    assertEquals(publishes, 0);
    assertEquals(breaker.snapshot().notPermittedCalls, 1, "the refusal is still counted");
    assertEquals(statements.length, 1, statements.join("\n---\n"));
    assertEquals(statements[0]!.includes("pg_advisory"), false);
    const rows = await store.query<{ claimed_by: string | null; attempts: number }>(
      "SELECT claimed_by, attempts FROM outbox WHERE id = $1",
      [id],
    );
    assertEquals(rows, [{ claimed_by: null, attempts: 0 }]);
  } finally {
    await store.close();
  }
});
