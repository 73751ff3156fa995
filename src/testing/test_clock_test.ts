import { assertEquals, assertThrows } from "@std/assert";
import { createTestClock } from "./test_clock.ts";

Deno.test("test clock fires due timers in due order at their due time", () => {
  const clock = createTestClock(1_000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 500);
  clock.advance(300);
  assertEquals(fired, ["a@1100", "b@1200"]);
  assertEquals(clock.now(), 1_300);
  assertEquals(clock.pendingTimers(), 1);
});

Deno.test("test clock fires timers scheduled by timers when they fall due in the same advance", () => {
  const clock = createTestClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 50);
  }, 100);
  clock.advance(200);
  assertEquals(fired, [100, 150]);
});

Deno.test("test clock keeps scheduling order for timers with equal due times", () => {
  const clock = createTestClock();
  const fired: number[] = [];
  for (let i = 0; i < 5; i++) clock.setTimeout(() => fired.push(i), 10);
  clock.advance(10);
  assertEquals(fired, [0, 1, 2, 3, 4]);
});

Deno.test("test clock never fires a cleared timer", () => {
  const clock = createTestClock();
  let fired = false;
  const handle = clock.setTimeout(() => {
    fired = true;
  }, 10);
  clock.clearTimeout(handle);
  clock.advance(100);
  assertEquals(fired, false);
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("test clock refuses to go backwards", () => {
  const clock = createTestClock();
  assertThrows(() => clock.advance(-1), RangeError);
});

Deno.test("test clock steps the wall clock alone, and jumps both readings without firing timers", () => {
  const clock = createTestClock(1_000);
  let fired = 0;
  clock.setTimeout(() => fired++, 100);
  clock.stepWall(-500);
  assertEquals([clock.now(), clock.wallNow()], [1_000, 500]);
  clock.jump(-1_000);
  assertEquals([clock.now(), clock.wallNow()], [0, -500]);
  assertEquals(fired, 0);
  clock.advance(100); // timers run on elapsed time, whatever the readings did
  assertEquals(fired, 1);
  assertEquals([clock.now(), clock.wallNow()], [100, -400]);
  assertThrows(() => clock.jump(NaN), RangeError);
});
