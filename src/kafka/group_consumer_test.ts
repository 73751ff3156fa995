import { assertEquals } from "@std/assert";
import { createLogger } from "../log.ts";
import { logCreatorFor } from "./client.ts";

Deno.test("logCreatorFor: kafkajs lines are debug while quiet (not joined yet), warnings after", () => {
  const lines: string[] = [];
  const logger = createLogger("debug", (l) => {
    const { level, msg } = JSON.parse(l);
    lines.push(`${level} ${msg}`);
  });
  let joined = false;
  const log = logCreatorFor(logger, () => !joined)();
  const entry = (message: string) => ({
    namespace: "Connection",
    level: 1,
    label: "ERROR",
    log: { message, timestamp: "t", broker: "kafka:19092" },
  });
  log(entry("Connection error: connect ECONNREFUSED"));
  joined = true;
  log(entry("The group coordinator is not available"));
  assertEquals(lines, [
    "debug kafkajs: Connection error: connect ECONNREFUSED",
    "warn kafkajs: The group coordinator is not available",
  ]);
});
