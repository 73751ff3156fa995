import { assertEquals } from "@std/assert";
import { MIGRATIONS } from "../outbox/migrations.ts";
import { healthRoutes } from "./health_routes.ts";
import { fakeDb, mounted, recordingLogger, testBreaker } from "../testing/http_fakes.ts";

function setup() {
  const db = fakeDb(() => [{ n: String(MIGRATIONS.length) }]);
  const { breaker } = testBreaker();
  const logger = recordingLogger();
  const app = mounted("/health", healthRoutes({ db, breakers: [breaker], logger }));
  return { app, db, breaker, logger };
}

Deno.test("health routes: live is UP without asking anything", async () => {
  const { app, db } = setup();
  const res = await app.request("/health/live");
  assertEquals([res.status, await res.json()], [200, { status: "UP" }]);
  assertEquals(db.queries.length, 0);
});

Deno.test("health routes: ready is UP with every migration; Kafka's state is only reported", async () => {
  const { app, breaker } = setup();
  breaker.transitionTo("FORCED_OPEN");
  const res = await app.request("/health/ready");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    status: "UP",
    checks: { postgres: "UP", migrations: "UP", kafka: { "kafka-publisher": "FORCED_OPEN" } },
  });
});

Deno.test("health routes: ready is 503 when a migration is missing", async () => {
  const { app, db } = setup();
  db.answer = () => [{ n: String(MIGRATIONS.length - 1) }];
  const res = await app.request("/health/ready");
  assertEquals(res.status, 503);
  const body = await res.json();
  assertEquals([body.status, body.checks.postgres, body.checks.migrations], ["DOWN", "UP", "DOWN"]);
});

Deno.test("health routes: ready is 503 when Postgres is unreachable, and says so in the log", async () => {
  const { app, db, logger } = setup();
  db.down = true;
  const res = await app.request("/health/ready");
  assertEquals(res.status, 503);
  const body = await res.json();
  assertEquals([body.checks.postgres, body.checks.migrations], ["DOWN", "UNKNOWN"]);
  assertEquals(logger.records.map((r) => [r.level, r.msg]), [
    ["warn", "readiness: postgres unreachable"],
  ]);
});

Deno.test("health routes: ready is 503 while a graceful shutdown drains, live stays UP", async () => {
  const db = fakeDb(() => [{ n: String(MIGRATIONS.length) }]);
  const { breaker } = testBreaker();
  let draining = false;
  const app = mounted(
    "/health",
    healthRoutes({ db, breakers: [breaker], logger: recordingLogger(), draining: () => draining }),
  );
  assertEquals((await app.request("/health/ready")).status, 200);
  draining = true;
  const res = await app.request("/health/ready");
  assertEquals(res.status, 503);
  assertEquals((await res.json()).checks.shutdown, "DRAINING");
  assertEquals((await app.request("/health/live")).status, 200);
});
