/**
 * The README's examples for a local service (`localhost:8080`), run as written against a service
 * started as the README says (ADMIN_TOKEN set), with only the port swapped for the test's own.
 */
import { assert, assertEquals } from "@std/assert";
import { type ServiceProc, spawnService } from "../../scripts/lib/service_process.ts";
import { examplesFor, runExamples } from "../ops/readme_examples.ts";
import { DATABASE_URL, KAFKA_BROKERS, REAL_IO, uniqueName } from "./helpers.ts";
import { createPostgresDb } from "../../src/outbox/db.ts";

const ADMIN_TOKEN = "readme-examples-admin-token";

Deno.test({
  name: "README: every example addressed to localhost:8080 runs as written against a local service",
  ...REAL_IO,
  async fn() {
    const examples = await examplesFor([8080]);
    assert(examples.length >= 8, `README examples for :8080: ${examples.length}`);
    assert(examples.some((c) => c.includes("deno task smoke")), "no smoke command for :8080");
    const schema = uniqueName("readme");
    let svc: ServiceProc | null = null;
    try {
      svc = await spawnService({
        name: "readme",
        env: {
          PORT: "0",
          DATABASE_URL,
          DATABASE_SCHEMA: schema,
          KAFKA_BROKERS,
          KAFKA_TOPIC: uniqueName("readme"),
          ADMIN_TOKEN,
        },
      });
      const runs = await runExamples(examples, { 8080: svc.port }, {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        ADMIN_TOKEN,
      });
      const failed = runs.filter((r) => r.code !== 0);
      assertEquals(failed, [], "README examples that failed");
      assertEquals(runs.length, examples.length);
    } finally {
      await svc?.stop(15_000);
      const db = createPostgresDb(DATABASE_URL, { poolSize: 1 });
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    }
  },
});
