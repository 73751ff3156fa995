import { assertEquals } from "@std/assert";
import { duration, isoOf, minorUnits, num, pct, utcTime } from "./format.js";

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

Deno.test("format: amounts in minor units take the currency's digits, as text", () => {
  // KRW has no minor unit, EUR two, BHD three.
  assertEquals(minorUnits("3000", 0), "3,000");
  assertEquals(minorUnits("123456", 2), "1,234.56");
  assertEquals(minorUnits("1234567", 3), "1,234.567");
  assertEquals(minorUnits("5", 2), "0.05");
  assertEquals(minorUnits("5", 3), "0.005");
  assertEquals(minorUnits("0", 2), "0.00");
  assertEquals(minorUnits("0", 0), "0");
  assertEquals(minorUnits("-250", 2), "-2.50");
  assertEquals(minorUnits("-0", 2), "0.00");
  assertEquals(minorUnits("00120", 2), "1.20");
});

Deno.test("format: amounts beyond 2^53 keep every digit", () => {
  // 2^53 + 1: as a number it would print ...992.
  assertEquals(minorUnits("9007199254740993", 0), "9,007,199,254,740,993");
  assertEquals(minorUnits("9007199254740993", 2), "90,071,992,547,409.93");
  assertEquals(
    minorUnits("-123456789012345678901234567", 3),
    "-123,456,789,012,345,678,901,234.567",
  );
});

Deno.test("format: what is not an amount or a digit count shows as a dash", () => {
  assertEquals(minorUnits(1000, 2), "—");
  assertEquals(minorUnits("1e5", 2), "—");
  assertEquals(minorUnits("12.50", 2), "—");
  assertEquals(minorUnits("", 2), "—");
  assertEquals(minorUnits(undefined, 2), "—");
  assertEquals(minorUnits("100", -1), "—");
  assertEquals(minorUnits("100", 1.5), "—");
  assertEquals(minorUnits("100", undefined), "—");
});

Deno.test("format: close times in UTC", () => {
  assertEquals(utcTime("2026-12-04T01:00:00.000Z"), "2026-12-04 01:00:00 UTC");
  assertEquals(utcTime("yesterday"), "—");
  assertEquals(utcTime(null), "—");
});
