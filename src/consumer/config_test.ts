import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import { loadConfig } from "../config.ts";
import { ConfigError } from "../env_reader.ts";
import { CONSUMER_SETTINGS } from "../settings/consumer.ts";
import { loadConsumerConfig } from "./config.ts";

const DEFAULT_DEDUPE_WINDOW = CONSUMER_SETTINGS.dedupeWindow.default;
const DEFAULT_LAG_REFRESH_MS = CONSUMER_SETTINGS.lagRefreshMs.default;

Deno.test("consumer config: defaults, with the service's Kafka defaults", () => {
  const c = loadConsumerConfig({});
  const service = loadConfig({});
  assertEquals(c.port, 8081);
  assertEquals(c.kafka.brokers, service.kafka.brokers);
  assertEquals(c.kafka.topic, service.kafka.topic);
  assertEquals(c.kafka.groupId, "payment-events-reference");
  assertEquals(c.kafka.fromBeginning, true);
  assertEquals(c.dedupeWindow, DEFAULT_DEDUPE_WINDOW);
  assertEquals(c.lagRefreshMs, DEFAULT_LAG_REFRESH_MS);
  assertEquals(c.logLevel, "info");
});

Deno.test("consumer config: the same KAFKA_* variables as the service, CONSUMER_* of its own", () => {
  const env = {
    PORT: "9100",
    KAFKA_BROKERS: "kafka:19092, k2:9092",
    KAFKA_TOPIC: "payments-x",
    CONSUMER_GROUP: "settlement.v2",
    CONSUMER_DEDUPE_WINDOW: "500",
    CONSUMER_LAG_REFRESH_MS: "1000",
    CONSUMER_FROM_BEGINNING: "false",
    LOG_LEVEL: "DEBUG",
  };
  const c = loadConsumerConfig(env);
  assertEquals(c.port, 9100);
  assertEquals(c.kafka.brokers, ["kafka:19092", "k2:9092"]);
  assertEquals(c.kafka.brokers, loadConfig(env).kafka.brokers);
  assertEquals(c.kafka.topic, "payments-x");
  assertEquals(c.kafka.groupId, "settlement.v2");
  assertEquals(c.dedupeWindow, 500);
  assertEquals(c.lagRefreshMs, 1000);
  assertEquals(c.kafka.fromBeginning, false);
  assertEquals(c.logLevel, "debug");
});

Deno.test("consumer config: every bad variable is named with its value in one error", () => {
  const err = assertThrows(
    () =>
      loadConsumerConfig({
        PORT: "eighty",
        KAFKA_BROKERS: "nohost",
        CONSUMER_GROUP: "bad group!",
        CONSUMER_DEDUPE_WINDOW: "0",
        CONSUMER_LAG_REFRESH_MS: "150.5",
        CONSUMER_FROM_BEGINNING: "maybe",
        CONSUMER_SESSION_TIMEOUT_MS: "1000",
      }),
    ConfigError,
  );
  const text = err.message;
  assertMatch(text, /PORT must be a number, got "eighty"/);
  assertMatch(text, /KAFKA_BROKERS .* got "nohost"/);
  assertMatch(text, /CONSUMER_GROUP .* got "bad group!"/);
  assertMatch(text, /CONSUMER_DEDUPE_WINDOW must be in \[1, 10000000\], got 0/);
  assertMatch(text, /CONSUMER_LAG_REFRESH_MS must be an integer, got "150.5"/);
  assertMatch(text, /CONSUMER_FROM_BEGINNING must be true or false, got "maybe"/);
  assertMatch(text, /CONSUMER_SESSION_TIMEOUT_MS must be in \[6000, 1800000\], got 1000/);
  assertEquals(err.problems.length, 7);
});
