import { assert, assertEquals } from "@std/assert";
import { MAX_TIMER_MS, realClock, steady } from "./clock.ts";

Deno.test("realClock.now is monotonic time (performance.now), wallNow the wall clock", () => {
  // A wall-clock step (NTP, VM resume) must not reach durations or deadlines.
  const before = performance.now();
  const now = realClock.now();
  assert(now >= before && now <= performance.now(), `now ${now} is not performance.now()`);
  const wallBefore = Date.now();
  const wall = realClock.wallNow!();
  assert(wall >= wallBefore && wall <= Date.now());
});

Deno.test("realClock timers can be cleared before they fire and do not leak", () => {
  let fired = false;
  const handle = realClock.setTimeout(() => {
    fired = true;
  }, 60_000);
  assert(handle !== null && handle !== undefined);
  realClock.clearTimeout(handle);
  // Clearing twice or clearing a foreign handle must be harmless.
  realClock.clearTimeout(handle);
  realClock.clearTimeout({ not: "a timer" });
  assertEquals(fired, false);
});

Deno.test("realClock timers fire", async () => {
  // realClock's timers are unref'd, so a ref'd guard keeps the test's event loop alive meanwhile.
  const guard = setTimeout(() => {}, 1_000);
  try {
    const fired = await new Promise<boolean>((resolve) => {
      realClock.setTimeout(() => resolve(true), 0);
    });
    assert(fired);
  } finally {
    clearTimeout(guard);
  }
});

Deno.test("realClock timers do not keep the process alive", async () => {
  const script = `
    import { realClock } from ${JSON.stringify(new URL("./clock.ts", import.meta.url).href)};
    realClock.setTimeout(() => console.log("fired"), 60_000);
    console.log("done");
  `;
  const started = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "done");
  assert(Date.now() - started < 30_000, "the process waited for the unref'd timer");
});

Deno.test("MAX_TIMER_MS is the signed 32-bit limit of setTimeout", () => {
  assertEquals(MAX_TIMER_MS, 2 ** 31 - 1);
});

Deno.test("steady() never goes back and keeps the source's pace after a backward step", () => {
  let raw = 10_000;
  const now = steady(() => raw);
  assertEquals(now(), 10_000);
  raw = 4_000; // six seconds back
  assertEquals(now(), 10_000);
  raw = 4_500;
  assertEquals(now(), 10_500);
  raw = 20_000; // forward steps pass through: a monotonic source does not make them
  assertEquals(now(), 26_000);
});
