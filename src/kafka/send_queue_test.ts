import { assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import FakeTimers from "@sinonjs/fake-timers";
import { PublishTimeoutError } from "./errors.ts";
import { createSendQueue } from "./send_queue.ts";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function fakeTime() {
  return FakeTimers.withGlobal(globalThis).install({ toFake: ["setTimeout", "clearTimeout"] });
}

Deno.test("sends run one at a time, in submission order, results and errors passed through", async () => {
  const q = createSendQueue(1000);
  const log: string[] = [];
  const gates = [deferred(), deferred(), deferred()];
  const runs = gates.map((g, i) =>
    q.run(async () => {
      log.push(`start ${i}`);
      await g.promise;
      log.push(`end ${i}`);
      if (i === 1) throw new Error("refused");
      return i;
    })
  );
  await Promise.resolve();
  gates[2]!.resolve();
  gates[1]!.resolve();
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(log, ["start 0"], "the later sends wait although their work could finish");
  gates[0]!.resolve();
  assertEquals(await runs[0], 0);
  await assertRejects(() => runs[1]!, Error, "refused");
  assertEquals(await runs[2], 2);
  assertEquals(log, ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
});

Deno.test("a send that outlives its deadline is abandoned and no longer holds the line", async () => {
  const clock = fakeTime();
  try {
    const q = createSendQueue(1000);
    const hung = deferred();
    const started: string[] = [];
    const first = q.run(() => {
      started.push("first");
      return hung.promise;
    });
    first.catch(() => {});
    await clock.tickAsync(500);
    const second = q.run(() => {
      started.push("second");
      return Promise.resolve("ok");
    });
    await clock.tickAsync(499);
    assertEquals(started, ["first"]);
    await clock.tickAsync(1);
    assertInstanceOf(await first.catch((e) => e), PublishTimeoutError);
    assertEquals(await second, "ok");
    assertEquals(started, ["first", "second"]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("a send whose deadline passes while it waits never starts; `started` says so", async () => {
  const clock = fakeTime();
  try {
    const q = createSendQueue(1000);
    const hung = deferred();
    const first = q.run(() => hung.promise);
    first.catch(() => {});
    await clock.tickAsync(100);
    let called = false;
    const flag = { value: false };
    const waiting = q.run(() => {
      called = true;
      return Promise.resolve();
    }, flag);
    waiting.catch(() => {});
    await clock.tickAsync(900); // first abandoned; the waiting one is due at 1100
    await clock.tickAsync(0);
    assertEquals([called, flag.value], [true, true], "its turn came before its deadline");

    const stuck = deferred();
    const a = q.run(() => stuck.promise);
    a.catch(() => {});
    const lateFlag = { value: false };
    let lateCalled = false;
    const late = q.run(() => {
      lateCalled = true;
      return Promise.resolve();
    }, lateFlag);
    late.catch(() => {});
    clock.tick(1000); // both deadlines pass at once, before `late` could get its turn
    assertInstanceOf(await late.catch((e) => e), PublishTimeoutError);
    stuck.resolve();
    await clock.tickAsync(0);
    assertEquals([lateCalled, lateFlag.value], [false, false]);
  } finally {
    clock.uninstall();
  }
});

Deno.test("the deadline must be positive", () => {
  assertThrows(() => createSendQueue(0), RangeError, "got 0");
});
