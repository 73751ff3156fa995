import { assertEquals, assertMatch } from "@std/assert";
import { ConfigError, EnvReader } from "./env_reader.ts";

Deno.test("EnvReader: values, fallbacks for unset and blank, one problem per bad value", () => {
  const problems: string[] = [];
  const read = new EnvReader({
    A: " x ",
    BLANK: "  ",
    N: "42",
    F: "1.5",
    BIG: "99",
    B: "off",
    BAD_B: "sometimes",
    LEVEL: "WARN",
    BAD_LEVEL: "loud",
    BROKERS: "a:1, b.example:9092,,",
    BAD_BROKERS: "a:1,nohost",
    NO_BROKERS: " , ",
  }, problems);
  assertEquals(read.str("A", "d"), "x");
  assertEquals(read.str("BLANK", "d"), "d");
  assertEquals(read.str("UNSET", "d"), "d");
  assertEquals(read.int("N", 0), 42);
  assertEquals(read.int("F", 7), 7);
  assertEquals(read.num("F", 0), 1.5);
  assertEquals(read.int("BIG", 3, { max: 10 }), 3);
  assertEquals(read.bool("B", true), false);
  assertEquals(read.bool("BAD_B", true), true);
  assertEquals(read.oneOf("LEVEL", "info", ["debug", "info", "warn"]), "warn");
  assertEquals(read.oneOf("BAD_LEVEL", "info", ["debug", "info"]), "info");
  assertEquals(read.brokerList("BROKERS", "d:1"), ["a:1", "b.example:9092"]);
  assertEquals(read.brokerList("UNSET", "d:1"), ["d:1"]);
  read.brokerList("BAD_BROKERS", "d:1");
  read.brokerList("NO_BROKERS", "d:1");
  assertEquals(problems, [
    'F must be an integer, got "1.5"',
    "BIG must be in [-inf, 10], got 99",
    'BAD_B must be true or false, got "sometimes"',
    'BAD_LEVEL must be one of debug, info, got "loud"',
    'BAD_BROKERS must be a comma-separated list of host:port, got "nohost"',
    "NO_BROKERS must name at least one broker",
  ]);
  assertMatch(new ConfigError(problems).message, /^invalid configuration:\n {2}- F must/);
});
