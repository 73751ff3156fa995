import { assertEquals, assertThrows } from "@std/assert";
import { CONSUMER_SETTINGS } from "../settings/consumer.ts";
import { createDedupeWindow } from "./dedupe_window.ts";

Deno.test("dedupe window: the first sighting is new, every later copy is a duplicate", () => {
  const w = createDedupeWindow(10);
  assertEquals(w.seen("a"), false);
  assertEquals(w.seen("b"), false);
  assertEquals(w.seen("a"), true);
  assertEquals(w.seen("a"), true);
  assertEquals(w.seen("b"), true);
  assertEquals(w.size, 2);
});

Deno.test("dedupe window: holds at most its capacity; the oldest first sighting is forgotten", () => {
  const w = createDedupeWindow(3);
  for (const id of ["a", "b", "c"]) assertEquals(w.seen(id), false);
  assertEquals(w.seen("a"), true, "a copy does not move its id");
  assertEquals(w.seen("d"), false, "evicts a, the oldest");
  assertEquals(w.size, 3);
  assertEquals(w.seen("a"), false, "a copy older than the window passes as new (evicts b)");
  assertEquals(w.seen("c"), true);
  assertEquals(w.seen("d"), true);
  assertEquals(w.seen("b"), false, "evicts c");
  assertEquals(w.seen("c"), false);
  assertEquals(w.size, 3);
});

Deno.test("dedupe window: a long stream stays bounded and still catches copies inside the window", () => {
  const w = createDedupeWindow(1000);
  let duplicates = 0;
  let late = 0;
  for (let i = 0; i < 50_000; i++) {
    if (w.seen(`id-${i}`)) duplicates++;
    // Even ids come again 500 ids later (inside the window); ids ending in 01 come again 1500
    // ids later, when 1500 newer ids have pushed them out.
    if (i >= 500 && (i - 500) % 2 === 0 && w.seen(`id-${i - 500}`)) duplicates++;
    if (i >= 1500 && (i - 1500) % 100 === 1) {
      late++;
      if (w.seen(`id-${i - 1500}`)) duplicates++;
    }
  }
  assertEquals(w.size, 1000);
  assertEquals(late, 485);
  assertEquals(duplicates, (50_000 - 500) / 2);
});

Deno.test("dedupe window: a forgotten id is new again and keeps its full time in the window", () => {
  const w = createDedupeWindow(3);
  w.seen("a"); // slot 0
  w.forget("a");
  w.forget("never-seen");
  assertEquals(w.size, 0);
  w.seen("b"); // slot 1
  assertEquals(w.seen("a"), false, "new again (slot 2)");
  // Slot 0, where "a" was first, is reused now: that must not drop "a"'s new entry early.
  assertEquals(w.seen("c"), false);
  assertEquals(w.seen("a"), true);
  assertEquals(w.seen("b"), true);
  assertEquals(w.size, 3);
});

Deno.test("dedupe window: capacity 1 and the default; a bad capacity is a RangeError", () => {
  const one = createDedupeWindow(1);
  assertEquals(one.seen("x"), false);
  assertEquals(one.seen("x"), true);
  assertEquals(one.seen("y"), false);
  assertEquals(one.seen("x"), false);
  assertEquals(createDedupeWindow().capacity, CONSUMER_SETTINGS.dedupeWindow.default);
  for (const bad of [0, -1, 1.5, NaN]) assertThrows(() => createDedupeWindow(bad), RangeError);
});
