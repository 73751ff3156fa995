import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { ConfigError, type Env } from "../env_reader.ts";
import { SETTLEMENT_SETTINGS } from "../settings/settlement.ts";
import { loadSettlementConfig } from "./config.ts";

const DEFAULT_SETTLEMENT_PORT = SETTLEMENT_SETTINGS.port.default;
const DEFAULT_SETTLEMENT_GROUP = SETTLEMENT_SETTINGS.groupId.default;

const BASE: Env = { DATABASE_URL: "postgres://settle@127.0.0.1:5432/payments" };

/** The ConfigError of `env`, failing the test when the config loads. */
function problemsOf(env: Env): ConfigError {
  return assertThrows(() => loadSettlementConfig({ ...BASE, ...env }), ConfigError);
}

Deno.test("loadSettlementConfig: defaults are Seoul, cut-off 00:00, port 8082, group payment-settlement", () => {
  const c = loadSettlementConfig(BASE);
  assertEquals(c.calendar, { timeZone: "Asia/Seoul", cutoffMinutes: 0 });
  assertEquals([c.port, DEFAULT_SETTLEMENT_PORT], [8082, 8082]);
  assertEquals([c.kafka.groupId, DEFAULT_SETTLEMENT_GROUP], [
    "payment-settlement",
    "payment-settlement",
  ]);
  assertEquals(c.kafka.topic, "payment-events");
  assertEquals(c.kafka.brokers, ["127.0.0.1:9092"]);
  assertEquals(c.databaseUrl, BASE.DATABASE_URL);
  assertEquals([c.databaseSchema, c.adminToken, c.scheduleClose], ["public", null, true]);
  assertEquals([c.holdLimitMs, c.closeGraceMs, c.catchUpMs], [86_400_000, 3_600_000, 30_000]);
});

Deno.test("loadSettlementConfig: reads every SETTLEMENT_* value it is given", () => {
  const c = loadSettlementConfig({
    ...BASE,
    SETTLEMENT_TIMEZONE: "America/New_York",
    SETTLEMENT_CUTOFF: "22:00",
    SETTLEMENT_GROUP: "settle-2",
    PORT: "9090",
    ADMIN_TOKEN: "0123456789abcdef",
    SETTLEMENT_SCHEDULE_CLOSE: "false",
    SETTLEMENT_HOLD_LIMIT_MS: "60000",
  });
  assertEquals(c.calendar, { timeZone: "America/New_York", cutoffMinutes: 1320 });
  assertEquals([c.kafka.groupId, c.port, c.adminToken], ["settle-2", 9090, "0123456789abcdef"]);
  assertEquals([c.scheduleClose, c.holdLimitMs], [false, 60_000]);
});

Deno.test("loadSettlementConfig: without DATABASE_URL the ledger is the embedded store", () => {
  const c = loadSettlementConfig({});
  assertEquals(c.databaseUrl, null);
  assertEquals(typeof c.dataDir, "string");
  assertEquals(loadSettlementConfig({ SETTLEMENT_DATA_DIR: "/tmp/ledger" }).dataDir, "/tmp/ledger");
});

Deno.test("loadSettlementConfig: an unknown time zone names SETTLEMENT_TIMEZONE and the value", () => {
  const e = problemsOf({ SETTLEMENT_TIMEZONE: "Mars/Base" });
  assertEquals(e.problems.length, 1);
  assertStringIncludes(e.message, "SETTLEMENT_TIMEZONE");
  assertStringIncludes(e.message, '"Mars/Base"');
});

Deno.test("loadSettlementConfig: a cut-off past 23:59 names SETTLEMENT_CUTOFF and the value", () => {
  for (const bad of ["25:00", "24:00", "7pm", "12:60"]) {
    const e = problemsOf({ SETTLEMENT_CUTOFF: bad });
    assertStringIncludes(e.message, "SETTLEMENT_CUTOFF");
    assertStringIncludes(e.message, `"${bad}"`);
  }
});

Deno.test("loadSettlementConfig: a DATABASE_URL that is not postgres:// is refused by name, not echoed", () => {
  const e = problemsOf({ DATABASE_URL: "mysql://root:secret@db/payments" });
  assertStringIncludes(e.message, "DATABASE_URL");
  assertStringIncludes(e.message, "postgres://");
  assertEquals(e.message.includes("secret"), false, "the password is not shown");
});

Deno.test("loadSettlementConfig: each other bad value names its variable and value", () => {
  const cases: [Env, string, string][] = [
    [{ SETTLEMENT_GROUP: "bad group!" }, "SETTLEMENT_GROUP", "bad group!"],
    [{ DATABASE_SCHEMA: "Public-1" }, "DATABASE_SCHEMA", "Public-1"],
    [{ PORT: "70000" }, "PORT", "70000"],
    [{ SETTLEMENT_HOLD_LIMIT_MS: "5" }, "SETTLEMENT_HOLD_LIMIT_MS", "5"],
    [{ SETTLEMENT_SCHEDULE_CLOSE: "maybe" }, "SETTLEMENT_SCHEDULE_CLOSE", "maybe"],
    [{ KAFKA_BROKERS: "no-port" }, "KAFKA_BROKERS", "no-port"],
  ];
  for (const [env, name, value] of cases) {
    const e = problemsOf(env);
    assertStringIncludes(e.message, name);
    assertStringIncludes(e.message, value);
  }
  // The token's length is named, never the token.
  const short = problemsOf({ ADMIN_TOKEN: "short-secret" });
  assertStringIncludes(short.message, "ADMIN_TOKEN");
  assertEquals(short.message.includes("short-secret"), false);
});

Deno.test("loadSettlementConfig: every bad variable is listed in one error", () => {
  const e = problemsOf({ SETTLEMENT_TIMEZONE: "Mars/Base", SETTLEMENT_CUTOFF: "25:00", PORT: "x" });
  assertEquals(e.problems.length, 3);
  assertEquals(e.problems.map((p) => p.split(" ")[0]).sort(), [
    "PORT",
    "SETTLEMENT_CUTOFF",
    "SETTLEMENT_TIMEZONE",
  ]);
});
