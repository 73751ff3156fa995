import { assert, assertEquals, assertThrows } from "@std/assert";
import { createEventHub, createRingBuffer } from "./event_hub.ts";
import type { BreakerEvent } from "./events.ts";
import type { BreakerState } from "./states.ts";

const hub = (bufferSize = 10, onListenerError?: (e: unknown, ev: BreakerEvent) => void) => {
  let now = 1_000;
  let state: BreakerState = "CLOSED";
  const h = createEventHub({
    breakerName: "b",
    bufferSize,
    now: () => now,
    state: () => state,
    ...(onListenerError ? { onListenerError } : {}),
  });
  return {
    h,
    setNow: (n: number) => (now = n),
    setState: (s: BreakerState) => (state = s),
  };
};

Deno.test("ring buffer keeps the newest items, oldest first", () => {
  const r = createRingBuffer<number>(3);
  assertEquals(r.toArray(), []);
  for (let i = 1; i <= 5; i++) r.push(i);
  assertEquals(r.toArray(), [3, 4, 5]);
  assertEquals(r.size, 3);
  r.push(6);
  assertEquals(r.toArray(), [4, 5, 6]);
});

Deno.test("ring buffer capacity must be positive", () => {
  assertThrows(() => createRingBuffer(0), RangeError);
});

Deno.test("published events are stamped with name, time, state and increasing seq", () => {
  const { h, setNow, setState } = hub();
  const a = h.publish({ type: "RESET" });
  setNow(2_000);
  setState("OPEN");
  const b = h.publish({ type: "NOT_PERMITTED", retryAfterMs: 5 });
  assertEquals(a, { type: "RESET", breakerName: "b", at: 1_000, state: "CLOSED", seq: 1 });
  assertEquals(b, {
    type: "NOT_PERMITTED",
    breakerName: "b",
    at: 2_000,
    state: "OPEN",
    seq: 2,
    retryAfterMs: 5,
  });
  assert(Object.isFrozen(b));
});

Deno.test("a throwing listener neither stops others nor the publisher, and is reported", () => {
  const reported: string[] = [];
  const { h } = hub(10, (e, ev) => reported.push(`${(e as Error).message}@${ev.seq}`));
  const seen: number[] = [];
  h.subscribe(() => {
    throw new Error("boom");
  });
  h.subscribe((e) => seen.push(e.seq));
  h.publish({ type: "RESET" });
  h.publish({ type: "RESET" });
  assertEquals(seen, [1, 2]);
  assertEquals(reported, ["boom@1", "boom@2"]);
});

Deno.test("a throwing error reporter is contained too", () => {
  const { h } = hub(10, () => {
    throw new Error("reporter broke");
  });
  const seen: number[] = [];
  h.subscribe(() => {
    throw new Error("boom");
  });
  h.subscribe((e) => seen.push(e.seq));
  h.publish({ type: "RESET" });
  assertEquals(seen, [1]);
});

Deno.test("unsubscribe stops delivery and is idempotent", () => {
  const { h } = hub();
  const seen: number[] = [];
  const off = h.subscribe((e) => seen.push(e.seq));
  h.publish({ type: "RESET" });
  off();
  off();
  h.publish({ type: "RESET" });
  assertEquals(seen, [1]);
});

Deno.test("events published by a listener are delivered after the current one, in seq order", () => {
  const { h } = hub();
  const first: number[] = [];
  const second: number[] = [];
  h.subscribe((e) => {
    first.push(e.seq);
    if (e.seq === 1) h.publish({ type: "RESET" });
  });
  h.subscribe((e) => second.push(e.seq));
  h.publish({ type: "RESET" });
  assertEquals(first, [1, 2]);
  assertEquals(second, [1, 2]);
});

Deno.test("recent events are bounded, newest last, filterable by type and limit", () => {
  const { h } = hub(2);
  h.publish({ type: "RESET" });
  h.publish({ type: "NOT_PERMITTED", retryAfterMs: null });
  h.publish({ type: "RESET" });
  h.publish({ type: "NOT_PERMITTED", retryAfterMs: null });
  h.publish({ type: "RESET" });
  h.publish({ type: "NOT_PERMITTED", retryAfterMs: null });
  assertEquals(h.recent().map((e) => e.seq), [3, 4, 5, 6]);
  assertEquals(h.recent({ type: "RESET" }).map((e) => e.seq), [3, 5]);
  assertEquals(h.recent({ limit: 2 }).map((e) => e.seq), [5, 6]);
  assertEquals(h.recent({ type: "NOT_PERMITTED", limit: 1 }).map((e) => e.seq), [6]);
  assertEquals(h.recent({ limit: 0 }), []);
  assertEquals(h.recent({ type: "NO_SUCH_TYPE" }), []);
  assertThrows(() => h.recent({ limit: -1 }), RangeError);
});

Deno.test("a flood of call outcomes does not push state changes out of the history", () => {
  const { h } = hub(3);
  h.publish({ type: "RESET" });
  for (let i = 0; i < 50; i++) h.publish({ type: "NOT_PERMITTED", retryAfterMs: 10 });
  assertEquals(h.recent({ type: "RESET" }).map((e) => e.seq), [1]);
  assertEquals(h.recent().map((e) => e.seq), [1, 49, 50, 51]);
  assertEquals(h.recent({ type: "NOT_PERMITTED" }).length, 3);
});

Deno.test("subscribe refuses a non-function", () => {
  const { h } = hub();
  assertThrows(() => h.subscribe("nope" as never), TypeError);
});

Deno.test("call outcomes recorded with nobody listening read back as the events a listener gets", () => {
  // Two hubs fed the same outcomes: one with a listener (events built at once), one without
  // (history kept as columns, events built when read). Both histories must match the listener's.
  const quiet = hub(3);
  const heard = hub(3);
  const received: BreakerEvent[] = [];
  heard.h.subscribe((e) => received.push(e));
  const feed = (x: ReturnType<typeof hub>) => {
    x.h.publishCall("SUCCESS", 2_000, 12.5, false, true, "", null);
    x.setState("HALF_OPEN");
    x.h.publishCall("ERROR", 2_001, 3, true, false, "boom", null);
    x.h.publishCall("IGNORED_ERROR", 2_002, 4, false, false, "ignored", null);
    x.setState("OPEN");
    x.h.publishCall("NOT_PERMITTED", 2_003, 0, false, false, "", 1500);
    x.h.publishCall("NOT_PERMITTED", 2_004, 0, false, false, "", null);
  };
  feed(quiet);
  feed(heard);
  assertEquals(received.length, 5);
  assertEquals(received[0], {
    type: "SUCCESS",
    breakerName: "b",
    at: 2_000,
    state: "CLOSED",
    seq: 1,
    durationMs: 12.5,
    late: false,
    slow: true,
  });
  assertEquals(received[2], {
    type: "IGNORED_ERROR",
    breakerName: "b",
    at: 2_002,
    state: "HALF_OPEN",
    seq: 3,
    durationMs: 4,
    late: false,
    errorMessage: "ignored",
  });
  assertEquals(received[3], {
    type: "NOT_PERMITTED",
    breakerName: "b",
    at: 2_003,
    state: "OPEN",
    seq: 4,
    retryAfterMs: 1500,
  });
  // Bounded to the newest three, oldest first, same objects field for field, frozen.
  assertEquals(quiet.h.recent(), received.slice(2));
  assertEquals(heard.h.recent(), received.slice(2));
  assert(quiet.h.recent().every((e) => Object.isFrozen(e)));
  assertEquals(quiet.h.recent({ type: "ERROR" }), []);
  const [notPermittedNull] = quiet.h.recent({ limit: 1 });
  assertEquals(notPermittedNull?.type === "NOT_PERMITTED" && notPermittedNull.retryAfterMs, null);
});

Deno.test("publish() and publishCall() share one numbering and one history", () => {
  const { h } = hub(5);
  h.publish({ type: "SUCCESS", durationMs: 1, late: false, slow: false });
  h.publishCall("ERROR", 1_000, 2, false, false, "x", null);
  h.publish({ type: "RESET" });
  assertEquals(h.recent().map((e) => `${e.seq}:${e.type}`), ["1:SUCCESS", "2:ERROR", "3:RESET"]);
});

Deno.test("a listener's rejected promise is reported like a throw, and never left unhandled", async () => {
  const reported: string[] = [];
  const { h } = hub(10, (e, ev) => reported.push(`${(e as Error).message}@${ev.seq}`));
  h.subscribe(() => Promise.reject(new Error("async boom")));
  h.subscribe(async () => {
    await null;
    throw new Error("later boom");
  });
  h.publish({ type: "RESET" });
  h.publishCall("SUCCESS", 1_000, 1, false, false, "", null);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(reported.sort(), ["async boom@1", "async boom@2", "later boom@1", "later boom@2"]);
});

Deno.test("events published while held are delivered at release, in seq order", () => {
  const { h } = hub();
  const seen: number[] = [];
  h.subscribe((e) => seen.push(e.seq));
  h.hold();
  h.publish({ type: "RESET" });
  h.hold();
  h.publishCall("SUCCESS", 1_000, 1, false, false, "", null);
  h.release();
  assertEquals(seen, [], "nothing is delivered until the outermost release");
  h.release();
  assertEquals(seen, [1, 2]);
  h.publish({ type: "RESET" });
  assertEquals(seen, [1, 2, 3]);
});
