import { assertEquals, assertStrictEquals } from "@std/assert";
import { createRunningCalls, type RunningCall } from "./running_calls.ts";
import { createTestClock } from "../testing/test_clock.ts";

function setup(thresholdMs = 100) {
  const clock = createTestClock(1_000);
  const slow: RunningCall[] = [];
  const calls = createRunningCalls({
    thresholdMs,
    now: clock.now,
    clock,
    onSlow: (c) => slow.push(c),
  });
  return { clock, slow, calls };
}

Deno.test("a running call is reported once, as soon as it runs longer than the threshold", () => {
  const { clock, slow, calls } = setup();
  const c = calls.admit(1, clock.now(), true);
  clock.advance(100);
  assertEquals(slow.length, 0, "exactly at the threshold is not slow");
  clock.advance(1);
  assertEquals(slow.length, 1);
  assertStrictEquals(slow[0], c);
  clock.advance(10_000);
  calls.poll(clock.now());
  assertEquals(slow.length, 1);
  calls.settle(c);
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("a call that settles in time is never reported; unwatched calls are never reported", () => {
  const { clock, slow, calls } = setup();
  const quick = calls.admit(1, clock.now(), true);
  calls.admit(1, clock.now(), false); // a state without a window: timed only
  clock.advance(50);
  calls.settle(quick);
  clock.advance(1_000);
  assertEquals(slow, []);
});

Deno.test("calls are reported oldest first, each at its own threshold, with one timer at a time", () => {
  const { clock, slow, calls } = setup();
  const a = calls.admit(1, clock.now(), true);
  clock.advance(30);
  const b = calls.admit(1, clock.now(), true);
  const settled = calls.admit(1, clock.now(), true);
  clock.advance(30);
  const c = calls.admit(1, clock.now(), true);
  calls.settle(settled);
  assertEquals(clock.pendingTimers(), 1);
  clock.advance(41); // a is 101 ms old
  assertEquals(slow, [a]);
  clock.advance(30); // b is 101 ms old
  assertEquals(slow, [a, b]);
  clock.advance(30);
  assertEquals(slow, [a, b, c]);
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("clear forgets the running calls and cancels the timer", () => {
  const { clock, slow, calls } = setup();
  const old = calls.admit(1, clock.now(), true);
  calls.clear();
  assertEquals(clock.pendingTimers(), 0);
  const fresh = calls.admit(2, clock.now(), true);
  calls.settle(old); // a call of the cleared list settles: no effect on the new one
  clock.advance(101);
  assertEquals(slow, [fresh]);
});

Deno.test("onSlow may clear the list: the sweep stops there", () => {
  const clock = createTestClock(0);
  const slow: RunningCall[] = [];
  const calls = createRunningCalls({
    thresholdMs: 100,
    now: clock.now,
    clock,
    onSlow: (c) => {
      slow.push(c);
      calls.clear(); // what a trip does
    },
  });
  calls.admit(1, clock.now(), true);
  calls.admit(1, clock.now(), true);
  clock.advance(500);
  assertEquals(slow.length, 1);
  assertEquals(clock.pendingTimers(), 0);
});

Deno.test("disposed: no timer, but poll still reports overdue calls", () => {
  const { clock, slow, calls } = setup();
  calls.dispose();
  const c = calls.admit(1, clock.now(), true);
  assertEquals(clock.pendingTimers(), 0);
  clock.advance(100);
  calls.poll(clock.now());
  assertEquals(slow, []);
  clock.advance(1);
  calls.poll(clock.now());
  assertEquals(slow, [c]);
});

Deno.test("a timer that fires before the monotonic reading passed the threshold re-arms", () => {
  const clock = createTestClock(0);
  let now = 0;
  const slow: RunningCall[] = [];
  const calls = createRunningCalls({
    thresholdMs: 100,
    now: () => now, // lags the timers, as after a clock that stepped back
    clock,
    onSlow: (c) => slow.push(c),
  });
  calls.admit(1, now, true);
  clock.advance(101);
  assertEquals(slow, []);
  assertEquals(clock.pendingTimers(), 1);
  now = 101;
  clock.advance(101);
  assertEquals(slow.length, 1);
});
