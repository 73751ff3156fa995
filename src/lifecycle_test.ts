import { assert, assertEquals } from "@std/assert";
import FakeTimers from "@sinonjs/fake-timers";
import { drainable, joinWithRetry, orderlyStop } from "./lifecycle.ts";
import { createLogger } from "./log.ts";

Deno.test("joinWithRetry: retries a refused join with doubling waits up to the cap, then stops", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "Date"],
  });
  try {
    const lines: string[] = [];
    const logger = createLogger("info", (l) => lines.push(JSON.parse(l).msg));
    const calls: number[] = [];
    const joining = joinWithRetry(() => {
      calls.push(clock.now);
      return calls.length < 4 ? Promise.reject(new Error("refused")) : Promise.resolve();
    }, { what: "test member", logger, firstWaitMs: 100, maxWaitMs: 150 });
    await joining.settled();
    await clock.tickAsync(100); // second attempt after 100 ms
    await clock.tickAsync(150); // third after 200 ms, capped at 150
    await clock.tickAsync(150); // fourth succeeds
    await joining.settled();
    await clock.tickAsync(10_000);
    assertEquals(calls, [0, 100, 250, 400]);
    // Three refusals in 0.4 s: the start of a broker, not a failure worth a warning.
    assertEquals(lines, ["test member start: failing, retrying", "test member start: works again"]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("joinWithRetry: refusals that last warnAfterMs are a warning, not each one", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "Date"],
  });
  try {
    const warnings: string[] = [];
    const logger = createLogger("warn", (l) => warnings.push(JSON.parse(l).msg));
    let calls = 0;
    const joining = joinWithRetry(() => {
      calls++;
      return Promise.reject(new Error("This server does not host this topic-partition"));
    }, { what: "consumer", logger, firstWaitMs: 1_000, maxWaitMs: 5_000, warnAfterMs: 60_000 });
    await clock.tickAsync(59_000);
    assertEquals(warnings, [], `${calls} refusals within 59 s`);
    await clock.tickAsync(10_000);
    // Attempts at 0, 1, 3, 7, 12, 17, ... 57, 62 s: the first past 60 s warns.
    assertEquals(warnings, ["consumer start: still failing after 62 s"]);
    joining.cancel();
  } finally {
    clock.uninstall();
  }
});

Deno.test("joinWithRetry: cancel stops the retries of a member that keeps being refused", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    let calls = 0;
    const joining = joinWithRetry(() => {
      calls++;
      return Promise.reject(new Error("refused"));
    }, { what: "member", logger: createLogger("error", () => {}), firstWaitMs: 10, maxWaitMs: 10 });
    await joining.settled();
    await clock.tickAsync(10);
    joining.cancel();
    await clock.tickAsync(1000);
    assertEquals(calls, 2);
  } finally {
    clock.uninstall();
  }
});

const info = {} as Deno.ServeHandlerInfo<Deno.NetAddr>;
const get = () => new Request("http://service/payments");

Deno.test("drainable: answers close their connection once draining, including immutable ones", async () => {
  const h = drainable((req) =>
    new URL(req.url).pathname === "/moved"
      ? Response.redirect("http://service/new", 308) // immutable headers
      : new Response("ok")
  );
  assertEquals((await h.fetch(get(), info)).headers.get("connection"), null);
  assertEquals(h.draining(), false);
  const drained = h.drain(10_000, 1);
  assertEquals(h.draining(), true);
  assertEquals((await h.fetch(get(), info)).headers.get("connection"), "close");
  const moved = await h.fetch(new Request("http://service/moved"), info);
  assertEquals([moved.status, moved.headers.get("connection")], [308, "close"]);
  assertEquals(moved.headers.get("location"), "http://service/new");
  await drained;
});

Deno.test("drainable: drain waits for requests in flight and for quiet, and never past its bound", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "Date"],
  });
  try {
    let release = () => {};
    const h = drainable(() =>
      new Promise<Response>((r) => (release = () => r(new Response("late"))))
    );
    const inFlight = h.fetch(get(), info);
    let done = false;
    const drained = h.drain(5_000, 500).then(() => (done = true));
    await clock.tickAsync(2_000); // quiet for longer than 500 ms, but a request is in flight
    assertEquals(done, false);
    release();
    assertEquals((await inFlight).headers.get("connection"), "close");
    await clock.tickAsync(499);
    assertEquals(done, false, "quiet for 499 ms after the last answer");
    await clock.tickAsync(60);
    assert(done, "quiet for 500 ms: drained");
    await drained;

    // A request that never ends holds the drain only up to its bound.
    const stuck = drainable(() => new Promise<Response>(() => {}));
    stuck.fetch(get(), info);
    let bounded = false;
    const capped = stuck.drain(1_000, 100).then(() => (bounded = true));
    await clock.tickAsync(999);
    assertEquals(bounded, false);
    await clock.tickAsync(60);
    assert(bounded, "drained at its bound");
    await capped;
  } finally {
    clock.uninstall();
  }
});

Deno.test("orderlyStop: steps in order once, a failing or overrunning step logged and passed by", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "Date"],
  });
  try {
    const lines: { msg: string; step?: string; result?: string }[] = [];
    const logger = createLogger("info", (l) => lines.push(JSON.parse(l)));
    const ran: string[] = [];
    const given: number[] = [];
    const stop = orderlyStop({ timeoutMs: 1_000, logger, stopped: "test stopped" }, [
      ["first", () => ran.push("first")],
      ["broken", () => {
        ran.push("broken");
        throw new Error("boom");
      }],
      ["stuck", () => (ran.push("stuck"), new Promise(() => {}))],
      ["last", (left) => (ran.push("last"), given.push(left()))],
    ]);
    const once = stop();
    assertEquals(stop(), once, "a second call gets the same stop");
    await clock.tickAsync(1_000);
    await once;
    assertEquals(ran, ["first", "broken", "stuck", "last"]);
    // The stuck step used the whole deadline; the last still gets the 100 ms floor.
    assertEquals(given, [100]);
    assertEquals(lines.map((l) => [l.msg, l.step, l.result]), [
      ["shutdown step did not finish cleanly", "broken", "boom"],
      ["shutdown step did not finish cleanly", "stuck", "timeout"],
      ["test stopped", undefined, undefined],
    ]);
  } finally {
    clock.uninstall();
  }
});
