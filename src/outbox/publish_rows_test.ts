import { assertEquals } from "@std/assert";
import { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { createTestClock } from "../testing/test_clock.ts";
import type { OutboundRecord, Publisher } from "../kafka/publisher.ts";
import { isUncertain, StaleOwnerError, UncertainPublishError } from "../kafka/errors.ts";
import { silentLogger } from "../log.ts";
import type { Queryable } from "./db.ts";
import { createRowPublisher, type PublishableRow } from "./publish_rows.ts";

const BAD = "bad-record";

/** A publisher that refuses any batch holding a bad record, or everything while `down`. */
function fakeKafka() {
  const batches: string[][] = [];
  let down = false;
  const publisher: Publisher = {
    publish(records: OutboundRecord[]) {
      batches.push(records.map((r) => r.eventId));
      if (down) return Promise.reject(new Error("Connection error: ECONNREFUSED"));
      if (records.some((r) => r.value === BAD)) {
        return Promise.reject(Object.assign(new Error("too large"), { type: "MESSAGE_TOO_LARGE" }));
      }
      return Promise.resolve();
    },
    connect: () => Promise.resolve(),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { publisher, batches, setDown: (d: boolean) => (down = d) };
}

/** Records the dead-letter writes; fails them while `broken`. */
function fakeDb() {
  const deadLettered: string[] = [];
  let broken = false;
  const db: Queryable = {
    query<T>(_text: string, params?: unknown[]): Promise<T[]> {
      if (broken) return Promise.reject(new Error("connection refused"));
      deadLettered.push(String(params?.[0]));
      return Promise.resolve([]);
    },
  };
  return { db, deadLettered, setBroken: (b: boolean) => (broken = b) };
}

const errors = {
  isPerRecord: (e: unknown) => (e as { type?: string }).type === "MESSAGE_TOO_LARGE",
  describe: (e: unknown) => (e as Error).message,
};

function rows(...values: string[]): PublishableRow[] {
  return values.map((value, i) => ({
    seq: String(i + 1),
    id: `e${i + 1}`,
    aggregateid: "k",
    type: "PAYMENT_CREATED",
    payload: value,
  }));
}

function setup() {
  const kafka = fakeKafka();
  const store = fakeDb();
  const breaker = new CircuitBreaker("t", { ignoreError: errors.isPerRecord }, {
    clock: createTestClock(),
  });
  const publish = createRowPublisher({
    db: store.db,
    breaker,
    publisher: kafka.publisher,
    errors,
    logger: silentLogger,
  });
  return { kafka, store, breaker, publish };
}

Deno.test("publish rows: a healthy batch goes out as one produce request", async () => {
  const { kafka, publish } = setup();
  const out = await publish(rows("a", "b", "c"));
  assertEquals(out, {
    published: ["1", "2", "3"],
    deadLettered: [],
    unpublished: [],
    uncertain: [],
    failure: null,
  });
  assertEquals(kafka.batches, [["e1", "e2", "e3"]]);
});

Deno.test("publish rows: a bad record is set aside alone, the rows around it are published", async () => {
  const { kafka, store, publish } = setup();
  const out = await publish(rows("a", BAD, "c"));
  assertEquals(out, {
    published: ["1", "3"],
    deadLettered: ["2"],
    unpublished: [],
    uncertain: [],
    failure: null,
  });
  assertEquals(store.deadLettered, ["2"]);
  // The batch, then each row on its own, in order.
  assertEquals(kafka.batches, [["e1", "e2", "e3"], ["e1"], ["e2"], ["e3"]]);
});

Deno.test("publish rows: a single bad row is dead-lettered without a second attempt", async () => {
  const { kafka, store, publish } = setup();
  const out = await publish(rows(BAD));
  assertEquals(out.deadLettered, ["1"]);
  assertEquals(store.deadLettered, ["1"]);
  assertEquals(kafka.batches.length, 1);
});

Deno.test("publish rows: the broker failing while bad rows are sought stops there, in order", async () => {
  const { kafka, publish } = setup();
  const original = kafka.publisher.publish;
  let calls = 0;
  kafka.publisher.publish = (records) => {
    // The batch fails on the bad record, the first row goes out, then the broker dies.
    if (++calls === 3) kafka.setDown(true);
    return original(records);
  };
  const out = await publish(rows("a", BAD, "c"));
  assertEquals(out.published, ["1"]);
  assertEquals(out.deadLettered, []);
  assertEquals(out.unpublished, ["2", "3"]);
  assertEquals(out.failure, { notPermitted: false, error: "Connection error: ECONNREFUSED" });
});

Deno.test("publish rows: an open breaker leaves every row pending and says so", async () => {
  const { kafka, breaker, publish } = setup();
  breaker.transitionTo("FORCED_OPEN");
  const out = await publish(rows("a", "b"));
  assertEquals(out.unpublished, ["1", "2"]);
  assertEquals(out.failure?.notPermitted, true);
  assertEquals(kafka.batches, []);
});

Deno.test("publish rows: a bad row that cannot be dead-lettered stays pending with the rows behind it", async () => {
  const { store, publish } = setup();
  store.setBroken(true);
  const out = await publish(rows("a", BAD, "c"));
  assertEquals(out.published, ["1"]);
  assertEquals(out.deadLettered, []);
  assertEquals(out.unpublished, ["2", "3"]);
  assertEquals(out.failure?.notPermitted, false);
});

/** An exactly-once publisher: owner `o/1`; rows of another owner or an uncertain commit fail. */
function fakeTransactional(outcome: "ok" | "uncertain" | "definite" = "ok") {
  const sent: { owner: string | undefined; ids: string[] }[] = [];
  const publisher: Publisher = {
    publish(records: OutboundRecord[], owner?: string) {
      sent.push({ owner, ids: records.map((r) => r.eventId) });
      if (owner !== "o/1") return Promise.reject(new StaleOwnerError(owner ?? "", "o/1"));
      if (outcome === "uncertain") {
        return Promise.reject(new UncertainPublishError(new Error("EndTxn timed out")));
      }
      if (outcome === "definite") return Promise.reject(new Error("Connection error"));
      return Promise.resolve();
    },
    connect: () => Promise.resolve(),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
    transactional: { owner: () => "o/1", fence: () => Promise.resolve(), retire: () => {} },
  };
  const breaker = new CircuitBreaker("t", {}, { clock: createTestClock() });
  const publish = createRowPublisher({
    db: fakeDb().db,
    breaker,
    publisher,
    errors: { ...errors, isUncertain },
    logger: silentLogger,
  });
  return { publish, sent };
}

function owned(owner: string, ...ids: string[]): PublishableRow[] {
  return ids.map((id) => ({
    seq: id,
    id,
    aggregateid: "k",
    type: "PAYMENT_CREATED",
    payload: "{}",
    claimedBy: owner,
  }));
}

Deno.test("publish rows, exactly-once: one transaction as the rows' owner, the owner in each record's headers", async () => {
  const { publish, sent } = fakeTransactional();
  const out = await publish(owned("o/1", "1", "2"));
  assertEquals(out.published, ["1", "2"]);
  assertEquals(sent, [{ owner: "o/1", ids: ["1", "2"] }]);
});

Deno.test("publish rows, exactly-once: rows of a dropped producer are never sent, they go to recovery", async () => {
  const { publish, sent } = fakeTransactional();
  const out = await publish([...owned("o/0", "1"), ...owned("o/1", "2")]);
  assertEquals(out.published, ["2"]);
  assertEquals(out.uncertain, ["1"]);
  assertEquals(sent.map((s) => s.ids), [["2"]]);
});

Deno.test("publish rows, exactly-once: an unknown commit outcome is uncertain, a surely aborted one goes back in line", async () => {
  const uncertain = await fakeTransactional("uncertain").publish(owned("o/1", "1", "2"));
  assertEquals(uncertain.uncertain, ["1", "2"]);
  assertEquals(uncertain.unpublished, []);
  const definite = await fakeTransactional("definite").publish(owned("o/1", "1", "2"));
  assertEquals(definite.uncertain, []);
  assertEquals(definite.unpublished, ["1", "2"]);
});
