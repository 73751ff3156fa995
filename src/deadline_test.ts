import { assertEquals, assertRejects } from "@std/assert";
import { withDeadline } from "./deadline.ts";

Deno.test("withDeadline: work that settles first wins, and onTimeout never runs", async () => {
  let called = 0;
  const value = await withDeadline(Promise.resolve(7), 10_000, () => {
    called++;
    return "late";
  });
  assertEquals(value, 7);
  await assertRejects(
    () => withDeadline(Promise.reject(new Error("boom")), 10_000, () => called++),
    Error,
    "boom",
  );
  assertEquals(called, 0);
});

Deno.test("withDeadline: after ms, onTimeout's value resolves and its throw rejects", async () => {
  const never = new Promise<number>(() => {});
  assertEquals(await withDeadline(never, 1, () => "timeout" as const), "timeout");
  await assertRejects(
    () =>
      withDeadline(never, 1, () => {
        throw new RangeError("too slow");
      }),
    RangeError,
    "too slow",
  );
});
