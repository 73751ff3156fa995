import { assertEquals } from "@std/assert";
import { closingLines } from "../../scripts/test.ts";

const OPS = {
  suite: "ops (monitoring configs, live Prometheus)",
  install: "Prometheus tools (apt-get install prometheus prometheus-alertmanager)",
};

Deno.test("deno task test: a skipped suite gets a last line of its own, after the count", () => {
  assertEquals(closingLines(12, 0, [], false), ["12 passed, 0 failed", null]);
  assertEquals(closingLines(12, 0, [OPS], false), [
    "12 passed, 0 failed",
    '1 skipped, NOT RUN: install Prometheus tools (apt-get install prometheus prometheus-alertmanager) for "ops (monitoring configs, live Prometheus)"',
  ]);
  // With CI=true the skip is already a failure in the count; the line says so.
  assertEquals(
    closingLines(12, 1, [OPS], true)[1]?.startsWith(
      "1 skipped (counted as failed: CI=true), NOT RUN:",
    ),
    true,
  );
});
