import { assertEquals, assertThrows } from "@std/assert";
import { createRingBuffer } from "./ring_buffer.ts";

Deno.test("ring buffer: keeps items oldest first until it is full", () => {
  const ring = createRingBuffer<number>(3);
  assertEquals([ring.capacity, ring.size, ring.toArray()], [3, 0, []]);
  ring.push(1);
  ring.push(2);
  assertEquals([ring.size, ring.toArray()], [2, [1, 2]]);
  ring.push(3);
  assertEquals([ring.size, ring.toArray()], [3, [1, 2, 3]]);
});

Deno.test("ring buffer: once full, each push evicts the oldest and the size stays bounded", () => {
  const ring = createRingBuffer<number>(3);
  for (let i = 1; i <= 10; i++) {
    ring.push(i);
    assertEquals(ring.size, Math.min(i, 3));
  }
  assertEquals(ring.toArray(), [8, 9, 10]);
  ring.push(11);
  assertEquals(ring.toArray(), [9, 10, 11]);
});

Deno.test("ring buffer: every wrap-around position reads back in push order", () => {
  for (let pushes = 0; pushes <= 12; pushes++) {
    const ring = createRingBuffer<number>(5);
    for (let i = 0; i < pushes; i++) ring.push(i);
    const want = Array.from(
      { length: Math.min(pushes, 5) },
      (_, k) => pushes - Math.min(pushes, 5) + k,
    );
    assertEquals(ring.toArray(), want, `${pushes} pushes`);
  }
});

Deno.test("ring buffer: toArray is a copy; changing it leaves the buffer alone", () => {
  const ring = createRingBuffer<string>(2);
  ring.push("a");
  ring.toArray().push("b");
  assertEquals(ring.toArray(), ["a"]);
});

Deno.test("ring buffer: a capacity that is not a positive integer is a RangeError", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
    assertThrows(() => createRingBuffer(bad), RangeError, "positive integer");
  }
});
