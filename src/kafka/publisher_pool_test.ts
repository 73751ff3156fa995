import { assertEquals, assertRejects, assertStrictEquals, assertThrows } from "@std/assert";
import type { OutboundRecord, Publisher } from "./publisher.ts";
import { createPublisherPool } from "./publisher_pool.ts";

/** A lane whose publishes wait until released, recording what it was given. */
function lane() {
  const got: string[] = [];
  const pending: Array<() => void> = [];
  let connected = 0;
  let closed = 0;
  const publisher: Publisher = {
    publish: (records: OutboundRecord[]) => {
      got.push(...records.map((r) => r.eventId));
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    connect: () => (connected++, Promise.resolve()),
    ping: () => Promise.resolve(),
    close: () => (closed++, Promise.resolve()),
  };
  return {
    publisher,
    got,
    releaseAll: () => pending.splice(0).forEach((r) => r()),
    get running() {
      return pending.length;
    },
    get connected() {
      return connected;
    },
    get closed() {
      return closed;
    },
  };
}

const record = (eventId: string): OutboundRecord => ({
  eventId,
  key: `k-${eventId}`,
  value: "{}",
  headers: {},
});

Deno.test("publisher pool: concurrent publishes go to the lane with the fewest running", async () => {
  const a = lane();
  const b = lane();
  const pool = createPublisherPool([a.publisher, b.publisher]);
  const first = pool.publish([record("1")]);
  const second = pool.publish([record("2")]);
  assertEquals([a.got, b.got], [["1"], ["2"]]);
  // Lane b frees up: the next publish goes there although lane a comes first.
  b.releaseAll();
  await second;
  const third = pool.publish([record("3")]);
  assertEquals([a.got, b.got], [["1"], ["2", "3"]]);
  assertEquals([a.running, b.running], [1, 1]);
  a.releaseAll();
  b.releaseAll();
  await Promise.all([first, third]);
});

Deno.test("publisher pool: a failed publish rejects its caller and frees its lane", async () => {
  const failing: Publisher = {
    publish: () => Promise.reject(new Error("broker gone")),
    connect: () => Promise.resolve(),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const b = lane();
  const pool = createPublisherPool([failing, b.publisher]);
  await assertRejects(() => pool.publish([record("1")]), Error, "broker gone");
  // Both lanes idle again: the first lane is chosen, and fails again.
  await assertRejects(() => pool.publish([record("2")]), Error, "broker gone");
  assertEquals(b.got, []);
});

Deno.test("publisher pool: connect and close reach every lane; one lane is used as it is", async () => {
  const a = lane();
  const b = lane();
  const pool = createPublisherPool([a.publisher, b.publisher]);
  await pool.connect();
  await pool.close();
  assertEquals([a.connected, b.connected, a.closed, b.closed], [1, 1, 1, 1]);
  assertStrictEquals(createPublisherPool([a.publisher]), a.publisher);
});

Deno.test("publisher pool: refuses no lanes and exactly-once publishers", () => {
  assertThrows(() => createPublisherPool([]), RangeError, "at least one lane");
  const tx: Publisher = {
    ...lane().publisher,
    transactional: { owner: () => "o", fence: () => Promise.resolve(), retire: () => {} },
  };
  assertThrows(() => createPublisherPool([tx, lane().publisher]), RangeError, "exactly-once");
});
