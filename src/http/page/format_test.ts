import { assertEquals } from "@std/assert";
import { duration, isoOf, num, pct } from "./format.js";

Deno.test("format: durations pick the two largest units", () => {
  assertEquals(duration(4.24), "4.2 s");
  assertEquals(duration(12.4), "12 s");
  assertEquals(duration(185), "3 m 05 s");
  assertEquals(duration(2 * 3600 + 7 * 60), "2 h 07 m");
  assertEquals(duration(3 * 86400 + 4 * 3600), "3 d 4 h");
  assertEquals(duration(-3), "0.0 s");
  assertEquals(duration(null), "—");
  assertEquals(duration(Number.NaN), "—");
});

Deno.test("format: counts, percentages and ISO times", () => {
  assertEquals(num(1234567), "1,234,567");
  assertEquals(num(undefined), "—");
  assertEquals(num(Infinity), "—");
  assertEquals(pct(12.345), "12.3 %");
  assertEquals(pct(50), "50.0 %");
  assertEquals(isoOf(0), "1970-01-01T00:00:00.000Z");
  assertEquals(isoOf(Number.NaN), "");
});
