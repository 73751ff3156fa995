import { assertEquals, assertThrows } from "@std/assert";
import { parseDuration, parseInstant, parseTimeRange, TimeArgumentError } from "./time_range.ts";

const NOW = new Date("2026-03-01T12:00:00.000Z");

Deno.test("durations combine units and read as milliseconds", () => {
  assertEquals(parseDuration("90s"), 90_000);
  assertEquals(parseDuration("15m"), 900_000);
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("2d"), 172_800_000);
  assertEquals(parseDuration("1w"), 604_800_000);
  assertEquals(parseDuration("250ms"), 250);
  assertEquals(parseDuration(" 1H "), 3_600_000);
});

Deno.test("text that is not a duration is not read as one", () => {
  for (const s of ["", "1", "h", "1x", "-1h", "1.5h", "1h 30m", "1hour", "P1D"]) {
    assertEquals(parseDuration(s), null, s);
  }
});

Deno.test("a duration is counted back from now", () => {
  assertEquals(parseInstant("--since", "1h", NOW).toISOString(), "2026-03-01T11:00:00.000Z");
});

Deno.test("ISO instants are read with their offset; a bare date is midnight UTC", () => {
  assertEquals(
    parseInstant("--since", "2026-02-28T10:00:00+02:00", NOW).toISOString(),
    "2026-02-28T08:00:00.000Z",
  );
  assertEquals(
    parseInstant("--since", "2026-02-28", NOW).toISOString(),
    "2026-02-28T00:00:00.000Z",
  );
  assertEquals(
    parseInstant("--since", "2026-02-28T10:00:00.123Z", NOW).toISOString(),
    "2026-02-28T10:00:00.123Z",
  );
});

Deno.test("a bad time names the argument and the value", () => {
  const e = assertThrows(() => parseInstant("--since", "yesterday", NOW), TimeArgumentError);
  assertEquals(e.argument, "--since");
  assertEquals(e.value, "yesterday");
  assertEquals(e.message.includes('"yesterday"'), true);
  assertEquals(e.message.startsWith("--since:"), true);
  assertThrows(() => parseInstant("--until", "2026-13-45T99:00:00Z", NOW), TimeArgumentError);
  assertThrows(() => parseInstant("--since", "   ", NOW), TimeArgumentError, "required");
});

Deno.test("a range must not be empty; until defaults to now", () => {
  const r = parseTimeRange("2h", undefined, NOW);
  assertEquals(r.until.toISOString(), NOW.toISOString());
  assertEquals(r.since.toISOString(), "2026-03-01T10:00:00.000Z");
  assertThrows(
    () => parseTimeRange("1h", "2h", NOW, { since: "--since", until: "--until" }),
    TimeArgumentError,
    "--since: must be before --until",
  );
});
