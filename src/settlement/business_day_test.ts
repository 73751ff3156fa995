import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { addDays, type BusinessCalendar, businessDayOf, dayBounds, isDay } from "./business_day.ts";
import { isTimeZone, parseCutoff } from "../settings/settlement.ts";

const seoul: BusinessCalendar = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };
const at = (iso: string) => Date.parse(iso);

Deno.test("businessDayOf: Asia/Seoul with cut-off 00:00 turns the day at 15:00 UTC", () => {
  assertEquals(businessDayOf(at("2026-12-03T14:59:59.999Z"), seoul), "2026-12-03");
  assertEquals(businessDayOf(at("2026-12-03T15:00:00Z"), seoul), "2026-12-04");
  assertEquals(businessDayOf(at("2026-12-02T15:00:00Z"), seoul), "2026-12-03");
});

Deno.test("businessDayOf: a 22:00 cut-off starts day D at 22:00 local on D", () => {
  const cal = { timeZone: "Asia/Seoul", cutoffMinutes: 22 * 60 };
  // 22:00 KST on 2026-12-03 is 13:00 UTC.
  assertEquals(businessDayOf(at("2026-12-03T12:59:59Z"), cal), "2026-12-02");
  assertEquals(businessDayOf(at("2026-12-03T13:00:00Z"), cal), "2026-12-03");
  assertEquals(businessDayOf(at("2026-12-04T12:59:59Z"), cal), "2026-12-03");
  assertEquals(dayBounds("2026-12-03", cal), {
    start: at("2026-12-03T13:00:00Z"),
    end: at("2026-12-04T13:00:00Z"),
  });
});

Deno.test("businessDayOf: America/New_York follows the offset across the March and November transitions", () => {
  const ny = { timeZone: "America/New_York", cutoffMinutes: 0 };
  // 2026-03-08: EST (-5) becomes EDT (-4) at 07:00 UTC.
  assertEquals(businessDayOf(at("2026-03-08T04:59:59Z"), ny), "2026-03-07");
  assertEquals(businessDayOf(at("2026-03-08T05:00:00Z"), ny), "2026-03-08");
  assertEquals(businessDayOf(at("2026-03-09T03:59:59Z"), ny), "2026-03-08");
  assertEquals(businessDayOf(at("2026-03-09T04:00:00Z"), ny), "2026-03-09");
  // The spring day has 23 hours, the autumn day (2026-11-01) 25.
  const spring = dayBounds("2026-03-08", ny);
  assertEquals(spring, { start: at("2026-03-08T05:00:00Z"), end: at("2026-03-09T04:00:00Z") });
  assertEquals((spring.end - spring.start) / 3_600_000, 23);
  const autumn = dayBounds("2026-11-01", ny);
  assertEquals(autumn, { start: at("2026-11-01T04:00:00Z"), end: at("2026-11-02T05:00:00Z") });
  assertEquals((autumn.end - autumn.start) / 3_600_000, 25);
});

Deno.test("dayBounds: a cut-off the clock skips (DST gap) starts the day when the clock jumps past it", () => {
  const cases: [BusinessCalendar, string, string][] = [
    // America/Santiago jumps from 00:00 (-4) to 01:00 (-3) at 04:00 UTC on 2026-09-06.
    [{ timeZone: "America/Santiago", cutoffMinutes: 0 }, "2026-09-06", "2026-09-06T04:00:00Z"],
    // America/Havana jumps from 00:00 (-5) to 01:00 (-4) at 05:00 UTC on 2026-03-08.
    [{ timeZone: "America/Havana", cutoffMinutes: 0 }, "2026-03-08", "2026-03-08T05:00:00Z"],
    // Africa/Cairo jumps from 00:00 (+2) to 01:00 (+3) at 22:00 UTC on 2026-04-23.
    [{ timeZone: "Africa/Cairo", cutoffMinutes: 30 }, "2026-04-24", "2026-04-23T22:00:00Z"],
    // New York skips 02:00-03:00 on 2026-03-08; a 02:30 cut-off is reached at 07:00 UTC.
    [{ timeZone: "America/New_York", cutoffMinutes: 150 }, "2026-03-08", "2026-03-08T07:00:00Z"],
  ];
  for (const [cal, day, start] of cases) {
    const b = dayBounds(day, cal);
    assertEquals(new Date(b.start).toISOString(), new Date(at(start)).toISOString(), cal.timeZone);
    assertEquals(businessDayOf(b.start, cal), day, `${cal.timeZone}: first instant of ${day}`);
    assertEquals(businessDayOf(b.start - 1, cal), addDays(day, -1), `${cal.timeZone}: before`);
    assertEquals(dayBounds(addDays(day, -1), cal).end, b.start, `${cal.timeZone}: contiguous`);
  }
});

Deno.test("dayBounds: a cut-off the clock reads twice (DST overlap) starts the day at its first reading", () => {
  // Europe/Berlin reads 02:00 at 00:00 UTC (CEST) and again at 01:00 UTC (CET) on 2026-10-25.
  const berlin = { timeZone: "Europe/Berlin", cutoffMinutes: 120 };
  assertEquals(dayBounds("2026-10-25", berlin).start, at("2026-10-25T00:00:00Z"));
  assertEquals(businessDayOf(at("2026-10-24T23:59:59Z"), berlin), "2026-10-24");
  assertEquals(businessDayOf(at("2026-10-25T00:30:00Z"), berlin), "2026-10-25");
  assertEquals(businessDayOf(at("2026-10-25T01:30:00Z"), berlin), "2026-10-25");
  // New York reads 01:00 at 05:00 UTC (EDT) and again at 06:00 UTC (EST) on 2026-11-01.
  const ny = { timeZone: "America/New_York", cutoffMinutes: 60 };
  assertEquals(dayBounds("2026-11-01", ny).start, at("2026-11-01T05:00:00Z"));
  assertEquals(dayBounds("2026-10-31", ny).end, at("2026-11-01T05:00:00Z"));
});

// Zones and cut-offs whose cut-off is never inside a repeated (autumn) hour: there the local
// clock reads the cut-off twice and the business day is ambiguous (see the report).
const ZONE_CUTOFFS: [string, number[]][] = [
  ["Asia/Seoul", [0, 1, 22 * 60, 23 * 60 + 59]],
  ["America/New_York", [0, 60, 120, 150, 22 * 60]],
  ["Europe/Berlin", [0, 60, 120, 180, 150 - 60, 22 * 60]],
  ["Australia/Lord_Howe", [0, 120, 22 * 60]],
  ["America/Santiago", [0, 30, 23 * 60]],
  ["Asia/Kathmandu", [0, 45, 12 * 60 + 15]],
];

/** Names the UTC offset of `timeZone` at an instant ("GMT+09:00"), independently of the module. */
function offsetNamer(timeZone: string): (ms: number) => string {
  const f = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
  return (ms) => f.formatToParts(ms).find((p) => p.type === "timeZoneName")!.value;
}

const ALL_DAYS = Array.from({ length: 2557 }, (_, n) => addDays("2024-01-01", n));

/** Days (with their neighbours) in which `timeZone` changes its offset, 2024 to 2030. */
function transitionDays(timeZone: string): string[] {
  const name = offsetNamer(timeZone);
  const out = new Set<string>();
  for (const day of ALL_DAYS) {
    const ms = Date.parse(`${day}T00:00:00Z`);
    if (name(ms) !== name(ms + 86_400_000)) {
      for (const n of [-1, 0, 1, 2]) out.add(addDays(day, n));
    }
  }
  return [...out];
}

/** A calendar and a random day, or (as often) a day around one of the zone's offset changes. */
function calendarDayArb(): fc.Arbitrary<[BusinessCalendar, string]> {
  const zones = ZONE_CUTOFFS.map(([timeZone, cutoffs]) => {
    const near = transitionDays(timeZone);
    return fc.tuple(
      fc.constantFrom(...cutoffs).map((cutoffMinutes): BusinessCalendar => ({
        timeZone,
        cutoffMinutes,
      })),
      near.length > 0
        ? fc.oneof(fc.constantFrom(...ALL_DAYS), fc.constantFrom(...near))
        : fc.constantFrom(...ALL_DAYS),
    );
  });
  return fc.oneof(...zones);
}

Deno.test("dayBounds: every instant in [start, end) maps back to the day, and days tile time", () => {
  fc.assert(
    fc.property(calendarDayArb(), fc.double({ min: 0, max: 1, noNaN: true }), ([cal, day], f) => {
      const { start, end } = dayBounds(day, cal);
      const inside = start + Math.min(end - start - 1, Math.floor(f * (end - start)));
      assertEquals(businessDayOf(start, cal), day);
      assertEquals(businessDayOf(inside, cal), day);
      assertEquals(businessDayOf(end - 1, cal), day);
      assertEquals(businessDayOf(end, cal), addDays(day, 1));
      assertEquals(businessDayOf(start - 1, cal), addDays(day, -1));
      assertEquals(dayBounds(addDays(day, 1), cal).start, end);
      const hours = (end - start) / 3_600_000;
      assertEquals(hours >= 22 && hours <= 26, true, `day of ${hours} h`);
    }),
    { numRuns: 600 },
  );
});

Deno.test("businessDayOf: an instant lies inside the bounds of the day it maps to", () => {
  // An instant within a day and a half of the start of a (possibly transition) day.
  const instantArb = fc.tuple(calendarDayArb(), fc.integer({ min: -129_600_000, max: 129_600_000 }))
    .map(([[cal, day], delta]) => [cal, Date.parse(`${day}T12:00:00Z`) + delta] as const);
  fc.assert(
    fc.property(instantArb, ([cal, ms]) => {
      const day = businessDayOf(ms, cal);
      const { start, end } = dayBounds(day, cal);
      assertEquals(start <= ms && ms < end, true, `${ms} outside ${day} [${start}, ${end})`);
    }),
    { numRuns: 600 },
  );
});

Deno.test("parseCutoff: reads HH:MM from 00:00 to 23:59 and refuses anything else", () => {
  assertEquals(parseCutoff("00:00"), 0);
  assertEquals(parseCutoff("22:00"), 1320);
  assertEquals(parseCutoff(" 23:59 "), 1439);
  assertEquals(parseCutoff("09:05"), 545);
  for (const bad of ["24:00", "25:00", "9:00", "12:60", "12:5", "1200", "", "ab:cd", "-1:00"]) {
    assertEquals(parseCutoff(bad), null, bad);
  }
});

Deno.test("isDay: accepts real YYYY-MM-DD dates only", () => {
  for (const good of ["2026-12-03", "2024-02-29", "2000-02-29", "1999-12-31"]) {
    assertEquals(isDay(good), true, good);
  }
  for (
    const bad of [
      "2026-02-29",
      "1900-02-29",
      "2026-13-01",
      "2026-00-10",
      "2026-04-31",
      "2026-1-01",
      "20261203",
      "2026-12-03T00:00:00Z",
      "",
      "bad",
    ]
  ) {
    assertEquals(isDay(bad), false, bad);
  }
});

Deno.test("isTimeZone: knows IANA zones and refuses made-up ones", () => {
  for (const good of ["Asia/Seoul", "America/New_York", "UTC", "Europe/Berlin"]) {
    assertEquals(isTimeZone(good), true, good);
  }
  for (const bad of ["Mars/Base", "Asia/Nowhere", "", "+25:00"]) {
    assertEquals(isTimeZone(bad), false, bad);
  }
});

Deno.test("dayBounds: refuses a string that is not a day", () => {
  assertThrows(() => dayBounds("2026-02-30", seoul), RangeError, "not a day");
  assertThrows(() => dayBounds("yesterday", seoul), RangeError, "yesterday");
});

Deno.test("addDays: steps across month and year ends", () => {
  assertEquals(addDays("2026-12-31", 1), "2027-01-01");
  assertEquals(addDays("2024-03-01", -1), "2024-02-29");
  assertEquals(addDays("2026-12-03", 0), "2026-12-03");
});
