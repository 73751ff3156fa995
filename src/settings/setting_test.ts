import { assertEquals, assertThrows } from "@std/assert";
import { int, parsed, SettingsReader, text, variant } from "./setting.ts";
import { CONSUMER_SETTINGS } from "./consumer.ts";
import { SERVICE_SETTINGS } from "./service.ts";
import { SETTLEMENT_SETTINGS } from "./settlement.ts";

const RULED = text("RULED", "abc", {
  rule: { test: (v) => /^[a-z]+$/.test(v), must: "be lower-case letters", show: "value" },
  doc: "ruled",
});
const SECRET = text("SECRET", null, {
  raw: true,
  rule: { test: (v) => v.length >= 4, must: "be at least 4 characters long", show: "length" },
  doc: "secret",
});
const URLISH = text("URLISH", null, {
  rule: { test: (v) => v.startsWith("x://"), must: "start with x://", show: "nothing" },
  doc: "url",
});
const DERIVED = int("DERIVED", undefined, { min: 1, defaultText: "from another", doc: "derived" });
const PARSED = parsed("PARSED", null, {
  parse: (v) => (/^\d+$/.test(v) ? Number(v) : null),
  must: "be digits",
  allowed: "digits",
  doc: "parsed",
});

Deno.test("SettingsReader: a rule's problem shows the value, its length or nothing", () => {
  const problems: string[] = [];
  const read = new SettingsReader(
    { RULED: " Abc ", SECRET: "s3c", URLISH: "y://user:pw@h", PARSED: "4x" },
    problems,
  );
  assertEquals(read.text(RULED), "Abc");
  assertEquals(read.text(SECRET), "s3c");
  assertEquals(read.text(URLISH), "y://user:pw@h");
  assertEquals(read.parsed(PARSED), null);
  assertEquals(problems, [
    'RULED must be lower-case letters, got "Abc"',
    "SECRET must be at least 4 characters long (got 3)",
    "URLISH must start with x://",
    'PARSED must be digits, got "4x"',
  ]);
});

Deno.test("SettingsReader: optional settings read null when unset; raw text is not trimmed", () => {
  const problems: string[] = [];
  const read = new SettingsReader({ SECRET: " s3cret ", URLISH: "  " }, problems);
  assertEquals(read.text(SECRET), " s3cret ");
  assertEquals(read.text(URLISH), null);
  assertEquals(read.parsed(PARSED), null);
  assertEquals(read.text(RULED), "abc");
  assertEquals(problems, []);
});

Deno.test("SettingsReader: a derived default comes from the caller, and is required", () => {
  const read = new SettingsReader({}, []);
  assertEquals(read.int(DERIVED, 42), 42);
  assertEquals(new SettingsReader({ DERIVED: "7" }, []).int(DERIVED, 42), 7);
  assertThrows(() => read.int(DERIVED as never), TypeError, "DERIVED has no default");
});

Deno.test("variant: another default or doc, the same variable and range", () => {
  const port = variant(SERVICE_SETTINGS.port, { default: 9 });
  assertEquals([port.env, port.default, port.max], ["PORT", 9, 65535]);
  assertEquals(SERVICE_SETTINGS.port.default, 8080, "the original is untouched");
});

Deno.test("settings tables: each variable once per program; shared settings are the same objects", () => {
  for (const table of [SERVICE_SETTINGS, CONSUMER_SETTINGS, SETTLEMENT_SETTINGS]) {
    const names = Object.values(table).map((s) => s.env);
    assertEquals(names.length, new Set(names).size, names.join(","));
  }
  assertEquals(CONSUMER_SETTINGS.kafkaTopic === SETTLEMENT_SETTINGS.kafkaTopic, true);
  assertEquals(SETTLEMENT_SETTINGS.logLevel === SERVICE_SETTINGS.logLevel, true);
  assertEquals(SETTLEMENT_SETTINGS.requestTimeoutMs === CONSUMER_SETTINGS.requestTimeoutMs, true);
});
