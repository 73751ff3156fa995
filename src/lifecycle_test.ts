import { assertEquals } from "@std/assert";
import FakeTimers from "@sinonjs/fake-timers";
import { joinWithRetry } from "./lifecycle.ts";
import { createLogger } from "./log.ts";

Deno.test("joinWithRetry: retries a refused join with doubling waits up to the cap, then stops", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    const lines: string[] = [];
    const logger = createLogger("warn", (l) => lines.push(l));
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
    assertEquals(lines.filter((l) => l.includes("kafka refused the test member")).length, 3);
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
