import { assertEquals } from "@std/assert";
import { createLogger } from "./log.ts";
import { createOutageLog } from "./outage_log.ts";

function recorder() {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger("debug", (l) => {
    const { level, msg } = JSON.parse(l);
    lines.push({ level, msg });
  });
  return { lines, logger };
}

Deno.test("outage log: an info line when failures begin, no warning before they have lasted", () => {
  const { lines, logger } = recorder();
  let t = 0;
  const log = createOutageLog(logger, "lag refresh", { warnAfterMs: 60_000, now: () => t });
  // A failure every 5 s for 55 s, as a refresh against a broker that is still starting.
  for (; t < 60_000; t += 5_000) log.failed(new Error("connect ECONNREFUSED"));
  assertEquals(log.failing(), true);
  log.ok();
  assertEquals(log.failing(), false);
  assertEquals(lines, [
    { level: "info", msg: "lag refresh: failing, retrying" },
    { level: "info", msg: "lag refresh: works again" },
  ]);
});

Deno.test("outage log: failures that last are a warning, at most one per warnAfterMs", () => {
  const { lines, logger } = recorder();
  let t = 0;
  const log = createOutageLog(logger, "consumer start", { warnAfterMs: 60_000, now: () => t });
  for (; t <= 150_000; t += 5_000) log.failed(new Error("refused"));
  log.ok();
  assertEquals(lines.map((l) => `${l.level} ${l.msg}`), [
    "info consumer start: failing, retrying",
    "warn consumer start: still failing after 60 s",
    "warn consumer start: still failing after 120 s",
    "info consumer start: works again",
  ]);
  // A new outage starts quiet again.
  log.failed(new Error("refused"));
  assertEquals(lines.at(-1), { level: "info", msg: "consumer start: failing, retrying" });
});

Deno.test("outage log: success without an outage logs nothing", () => {
  const { lines, logger } = recorder();
  const log = createOutageLog(logger, "x");
  log.ok();
  log.ok();
  assertEquals(lines, []);
});
