import { assertEquals, assertThrows } from "@std/assert";
import { createCountWindow, createTimeWindow, EMPTY_COUNTS } from "./window.ts";
import { createTestClock } from "../testing/test_clock.ts";

const OK = { failed: false, slow: false };
const FAIL = { failed: true, slow: false };
const SLOW_OK = { failed: false, slow: true };
const SLOW_FAIL = { failed: true, slow: true };

Deno.test("count window starts empty", () => {
  assertEquals(createCountWindow(3).counts(), EMPTY_COUNTS);
});

Deno.test("count window aggregates the four outcome kinds with overlapping slow/failed counts", () => {
  const w = createCountWindow(10);
  w.record(OK);
  w.record(FAIL);
  w.record(SLOW_OK);
  const c = w.record(SLOW_FAIL);
  assertEquals(c, { total: 4, failed: 2, slow: 2, slowFailed: 1 });
  assertEquals(w.counts(), c);
});

Deno.test("count window keeps only the last N outcomes", () => {
  const w = createCountWindow(3);
  w.record(FAIL);
  w.record(SLOW_FAIL);
  w.record(OK);
  assertEquals(w.counts(), { total: 3, failed: 2, slow: 1, slowFailed: 1 });
  w.record(OK); // evicts FAIL
  assertEquals(w.counts(), { total: 3, failed: 1, slow: 1, slowFailed: 1 });
  w.record(OK); // evicts SLOW_FAIL
  w.record(OK);
  assertEquals(w.counts(), { total: 3, failed: 0, slow: 0, slowFailed: 0 });
});

Deno.test("count window of size one holds only the latest call", () => {
  const w = createCountWindow(1);
  w.record(FAIL);
  assertEquals(w.record(OK), { total: 1, failed: 0, slow: 0, slowFailed: 0 });
});

Deno.test("window sizes must be positive integers", () => {
  assertThrows(() => createCountWindow(0), RangeError);
  assertThrows(() => createCountWindow(1.5), RangeError);
  assertThrows(() => createTimeWindow(0, () => 0), RangeError);
});

Deno.test("time window sums the calls of the last N seconds", () => {
  const clock = createTestClock(10_000);
  const w = createTimeWindow(3, clock.now);
  w.record(FAIL); // second 10
  clock.advance(1_000);
  w.record(OK); // second 11
  clock.advance(1_000);
  w.record(SLOW_OK); // second 12
  assertEquals(w.counts(), { total: 3, failed: 1, slow: 1, slowFailed: 0 });
  clock.advance(1_000); // second 13: second 10 ages out
  assertEquals(w.counts(), { total: 2, failed: 0, slow: 1, slowFailed: 0 });
  clock.advance(1_000); // second 14: second 11 ages out
  assertEquals(w.counts(), { total: 1, failed: 0, slow: 1, slowFailed: 0 });
});

Deno.test("time window buckets by whole seconds of the clock", () => {
  const clock = createTestClock(10_999);
  const w = createTimeWindow(2, clock.now);
  w.record(FAIL); // second 10
  clock.advance(1); // 11_000: second 11
  w.record(FAIL);
  clock.advance(999); // 11_999: still second 11
  assertEquals(w.counts().total, 2);
  clock.advance(1); // 12_000: second 10 ages out
  assertEquals(w.counts().total, 1);
});

Deno.test("time window is empty after an idle gap longer than the window", () => {
  const clock = createTestClock(0);
  const w = createTimeWindow(5, clock.now);
  for (let i = 0; i < 20; i++) w.record(FAIL);
  assertEquals(w.counts().failed, 20);
  clock.advance(60_000);
  assertEquals(w.counts(), EMPTY_COUNTS);
  assertEquals(w.record(OK), { total: 1, failed: 0, slow: 0, slowFailed: 0 });
});

Deno.test("time window survives an idle gap of exactly one window and reuses buckets", () => {
  const clock = createTestClock(0);
  const w = createTimeWindow(3, clock.now);
  w.record(FAIL);
  clock.advance(3_000); // same bucket index, three seconds later
  w.record(OK);
  assertEquals(w.counts(), { total: 1, failed: 0, slow: 0, slowFailed: 0 });
});

Deno.test("time window keeps sliding at the clock's pace after the clock steps back", () => {
  let now = 3_600_000 + 5_000;
  const w = createTimeWindow(10, () => now);
  w.record(FAIL);
  now = 5_000; // an hour back
  w.record(FAIL);
  assertEquals(w.counts().total, 2, "a backward step loses nothing");
  now += 9_000; // nine seconds after the step: still within the 10 s window
  assertEquals(w.counts().total, 2);
  now += 2_000; // eleven seconds after the step: both calls have aged out
  assertEquals(w.counts().total, 0);
  // Five failures 60 s apart never share a 10 s window.
  for (let i = 0; i < 5; i++) {
    w.record(FAIL);
    now += 60_000;
  }
  assertEquals(w.counts().total, 0);
});

Deno.test("count window replaces an outcome it still holds, in place", () => {
  const w = createCountWindow(3);
  w.record(OK);
  w.record(SLOW_OK);
  const entry = w.lastEntry();
  w.record(OK);
  assertEquals(w.replace(entry, SLOW_OK, SLOW_FAIL), {
    total: 3,
    failed: 1,
    slow: 1,
    slowFailed: 1,
  });
  // The replaced outcome is evicted as what it became.
  w.record(OK);
  w.record(OK);
  assertEquals(w.record(OK), { total: 3, failed: 0, slow: 0, slowFailed: 0 });
});

Deno.test("count window refuses to replace an evicted or mismatched outcome", () => {
  const w = createCountWindow(2);
  w.record(SLOW_OK);
  const entry = w.lastEntry();
  assertEquals(w.replace(entry, FAIL, SLOW_FAIL), null, "not what is held there");
  assertEquals(w.replace(entry + 1, SLOW_OK, SLOW_FAIL), null, "not recorded yet");
  w.record(OK);
  w.record(OK); // evicts the slow success
  assertEquals(w.replace(entry, SLOW_OK, SLOW_FAIL), null);
  assertEquals(w.counts(), { total: 2, failed: 0, slow: 0, slowFailed: 0 });
});

Deno.test("time window replaces an outcome in its bucket until that second ages out", () => {
  const clock = createTestClock(10_000);
  const w = createTimeWindow(3, clock.now);
  w.record(SLOW_OK); // second 10
  const entry = w.lastEntry();
  clock.advance(1_000);
  w.record(OK); // second 11
  assertEquals(w.replace(entry, SLOW_OK, SLOW_FAIL), {
    total: 2,
    failed: 1,
    slow: 1,
    slowFailed: 1,
  });
  clock.advance(2_000); // second 13: second 10 ages out with what it became
  assertEquals(w.counts(), { total: 1, failed: 0, slow: 0, slowFailed: 0 });
  assertEquals(w.replace(entry, SLOW_FAIL, SLOW_OK), null);
  assertEquals(w.replace(w.lastEntry(), SLOW_OK, SLOW_FAIL), null, "no slow success there");
});
