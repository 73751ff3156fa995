import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import FakeTimers from "@sinonjs/fake-timers";
import { type BatcherOptions, createBatcher } from "./batcher.ts";

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

Deno.test("items submitted in one tick are handled as one batch, results mapped back in order", async () => {
  const seen: number[][] = [];
  const b = createBatcher<number, string>((items) => {
    seen.push(items);
    return Promise.resolve(items.map((i) => `r${i}`));
  }, { maxBatch: 10 });
  const results = await Promise.all([1, 2, 3].map((i) => b.submit(i)));
  assertEquals(results, ["r1", "r2", "r3"]);
  assertEquals(seen, [[1, 2, 3]]);
});

Deno.test("items arriving while a flush runs form the next batch, capped at maxBatch", async () => {
  const gate = deferred<void>();
  const seen: number[][] = [];
  const b = createBatcher<number, number>(async (items) => {
    seen.push(items);
    if (seen.length === 1) await gate.promise;
    return items;
  }, { maxBatch: 3 });
  const first = b.submit(0);
  await Promise.resolve();
  await Promise.resolve();
  const rest = [1, 2, 3, 4, 5].map((i) => b.submit(i));
  assertEquals(b.size, 6);
  gate.resolve();
  await Promise.all([first, ...rest]);
  assertEquals(seen, [[0], [1, 2, 3], [4, 5]]);
  assertEquals(b.size, 0);
});

Deno.test("a failing batch rejects only its own items", async () => {
  let calls = 0;
  const b = createBatcher<number, number>((items) => {
    calls++;
    if (items.includes(13)) return Promise.reject(new Error("bad batch"));
    return Promise.resolve(items);
  }, { maxBatch: 2 });
  const p = [b.submit(13), b.submit(1), b.submit(2), b.submit(3)];
  await assertRejects(() => p[0]!, Error, "bad batch");
  await assertRejects(() => p[1]!, Error, "bad batch");
  assertEquals(await p[2], 2);
  assertEquals(await p[3], 3);
  assertEquals(calls, 2);
});

Deno.test("concurrency allows several flushes at once", async () => {
  let active = 0;
  let peak = 0;
  const gates = [deferred<void>(), deferred<void>()];
  const b = createBatcher<number, number>(async (items) => {
    active++;
    peak = Math.max(peak, active);
    await gates[items[0]! % 2]!.promise;
    active--;
    return items;
  }, { maxBatch: 1, concurrency: 2 });
  const p = [b.submit(0), b.submit(1)];
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(peak, 2);
  gates[0]!.resolve();
  gates[1]!.resolve();
  assertEquals(await Promise.all(p), [0, 1]);
});

Deno.test("a handler returning the wrong number of results rejects the batch", async () => {
  const b = createBatcher<number, number>(() => Promise.resolve([]), { maxBatch: 5 });
  await assertRejects(() => b.submit(1), Error, "returned 0 results for 1 items");
});

Deno.test("invalid options are refused naming the value", () => {
  assertThrows(
    () => createBatcher(() => Promise.resolve([]), { maxBatch: 0 }),
    RangeError,
    "got 0",
  );
  assertThrows(
    () => createBatcher(() => Promise.resolve([]), { maxBatch: 1, concurrency: 1.5 }),
    RangeError,
    "got 1.5",
  );
  assertThrows(
    () => createBatcher(() => Promise.resolve([]), { maxBatch: 1, lingerMs: -1 }),
    RangeError,
    "got -1",
  );
  assertThrows(
    () => createBatcher(() => Promise.resolve([]), { maxBatch: 1, stalledAfterMs: -2 }),
    RangeError,
    "got -2",
  );
  assertThrows(
    () => createBatcher(() => Promise.resolve([]), { maxBatch: 1, concurrency: 2, maxInFlight: 1 }),
    RangeError,
    "got 1",
  );
});

/** A batcher that answers each item with itself and records the batches it was handed. */
function echoBatcher(opts: BatcherOptions) {
  const seen: number[][] = [];
  const b = createBatcher<number, number>((items) => {
    seen.push(items);
    return Promise.resolve(items);
  }, opts);
  return { b, seen };
}

/** Fake setTimeout and performance.now for the linger tests. */
function fakeTime() {
  return FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "performance"],
  });
}

Deno.test("linger: a small batch waits until its oldest item is lingerMs old, then goes as one", async () => {
  const clock = fakeTime();
  try {
    const { b, seen } = echoBatcher({ maxBatch: 10, lingerMs: 5 });
    const p = [b.submit(1)];
    await clock.tickAsync(3);
    p.push(b.submit(2), b.submit(3));
    await clock.tickAsync(1);
    assertEquals(seen, [], "nothing goes before the oldest item is 5 ms old");
    await clock.tickAsync(1);
    assertEquals(seen, [[1, 2, 3]]);
    assertEquals(await Promise.all(p), [1, 2, 3]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("linger: a full batch goes at once", async () => {
  const clock = fakeTime();
  try {
    const { b, seen } = echoBatcher({ maxBatch: 3, lingerMs: 50 });
    const p = [b.submit(1), b.submit(2)];
    await clock.tickAsync(1);
    assertEquals(seen, []);
    p.push(b.submit(3), b.submit(4));
    await clock.tickAsync(0);
    assertEquals(seen, [[1, 2, 3]], "the full batch did not wait");
    await clock.tickAsync(50);
    assertEquals(seen, [[1, 2, 3], [4]]);
    assertEquals(await Promise.all(p), [1, 2, 3, 4]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("linger: items that aged while a flush ran go as soon as it ends", async () => {
  const clock = fakeTime();
  try {
    const gate = deferred<void>();
    const seen: number[][] = [];
    const b = createBatcher<number, number>(async (items) => {
      seen.push(items);
      if (seen.length === 1) await gate.promise;
      return items;
    }, { maxBatch: 10, lingerMs: 5 });
    const first = b.submit(0);
    await clock.tickAsync(5);
    assertEquals(seen, [[0]]);
    const rest = [b.submit(1), b.submit(2)];
    await clock.tickAsync(10);
    gate.resolve();
    await clock.tickAsync(0);
    assertEquals(seen, [[0], [1, 2]], "no second linger for items already 10 ms old");
    await Promise.all([first, ...rest]);
  } finally {
    clock.uninstall();
  }
});

/** A batcher whose flushes hang until the test releases them, one gate per flush. */
function gatedBatcher(opts: BatcherOptions) {
  const seen: number[][] = [];
  const gates: ReturnType<typeof deferred<void>>[] = [];
  const b = createBatcher<number, number>(async (items) => {
    seen.push(items);
    const gate = deferred<void>();
    gates.push(gate);
    await gate.promise;
    return items;
  }, opts);
  return { b, seen, gates };
}

Deno.test("stalled: a flush running past stalledAfterMs no longer holds back the next, up to maxInFlight", async () => {
  const clock = fakeTime();
  try {
    const { b, seen, gates } = gatedBatcher({ maxBatch: 10, stalledAfterMs: 1000, maxInFlight: 3 });
    const p = [b.submit(0)];
    await clock.tickAsync(0);
    p.push(b.submit(1));
    await clock.tickAsync(999);
    assertEquals(seen, [[0]], "the first flush still holds the only slot");
    await clock.tickAsync(1);
    assertEquals(seen, [[0], [1]], "stalled for 1000 ms: the next batch goes");
    await clock.tickAsync(500);
    p.push(b.submit(2), b.submit(3));
    await clock.tickAsync(499);
    assertEquals(seen.length, 2, "the second flush holds the slot until it stalls too");
    await clock.tickAsync(1);
    assertEquals(seen, [[0], [1], [2, 3]]);
    p.push(b.submit(4));
    await clock.tickAsync(5000);
    assertEquals(seen.length, 3, "maxInFlight flushes are running: no fourth");
    assertEquals(b.size, 5);
    gates[0]!.resolve();
    await clock.tickAsync(0);
    assertEquals(seen, [[0], [1], [2, 3], [4]]);
    gates.forEach((g) => g.resolve());
    assertEquals(await Promise.all(p), [0, 1, 2, 3, 4]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("stalled: flushes that end in time keep batches strictly one at a time", async () => {
  const clock = fakeTime();
  try {
    let active = 0;
    let peak = 0;
    const seen: number[][] = [];
    const b = createBatcher<number, number>(async (items) => {
      seen.push(items);
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 900));
      active--;
      return items;
    }, { maxBatch: 10, stalledAfterMs: 1000, maxInFlight: 8 });
    const p: Promise<number>[] = [];
    for (let i = 0; i < 10; i++) {
      p.push(b.submit(i));
      await clock.tickAsync(300);
    }
    await clock.tickAsync(5000);
    assertEquals(await Promise.all(p), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assertEquals(peak, 1);
    assertEquals(seen, [[0], [1, 2], [3, 4, 5], [6, 7, 8], [9]], "one batch per flush time");
  } finally {
    clock.uninstall();
  }
});
