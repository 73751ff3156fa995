import { assert, assertEquals } from "@std/assert";
import { outboxRoutes, type OutboxRoutesDeps } from "./outbox_routes.ts";
import {
  ADMIN_TOKEN,
  cleanReport,
  FAKE_RELAY_STATUS,
  fakeDb,
  fakeRelay,
  jsonRequest,
  mounted,
  recordingLogger,
  storedRow,
} from "../testing/http_fakes.ts";

const ID = "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f";

function setup(over: Partial<OutboxRoutesDeps> = {}) {
  const db = fakeDb();
  const relay = fakeRelay();
  const logger = recordingLogger();
  const app = mounted(
    "/outbox",
    outboxRoutes({ db, relay, logger, adminToken: ADMIN_TOKEN, retryAfter: "2", ...over }),
    logger,
  );
  const post = (path: string, body: unknown = "", token: string | null = ADMIN_TOKEN) =>
    app.request(path, jsonRequest("POST", body, token ?? undefined));
  return { app, db, relay, logger, post };
}

Deno.test("outbox routes: GET /outbox joins the counts with the relay's status", async () => {
  const { app, db } = setup();
  db.answer = () => [{ pending: "3", oldest: 12.5, dead: "1", total: 10 }];
  const res = await app.request("/outbox");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    pending: 3,
    oldestPendingAgeSeconds: 12.5,
    deadLettered: 1,
    publishedApprox: 6,
    relay: FAKE_RELAY_STATUS,
  });
});

Deno.test("outbox routes: reads while Postgres is down are 503 with Retry-After", async () => {
  const { app, db, logger } = setup();
  db.down = true;
  for (const path of ["/outbox", "/outbox/dead-lettered"]) {
    const res = await app.request(path);
    assertEquals(res.status, 503, path);
    assertEquals(res.headers.get("retry-after"), "2");
  }
  assertEquals(logger.records.map((r) => r.msg), ["outbox read failed", "outbox read failed"]);
});

Deno.test("outbox routes: dead-lettered rows are listed in the API's view", async () => {
  const { app, db } = setup();
  db.answer = () => [storedRow({ status: "DEAD_LETTERED", last_error: "too large" })];
  const { events } = await (await app.request("/outbox/dead-lettered")).json();
  assertEquals(events.map((e: Record<string, unknown>) => [e.eventId, e.status, e.lastError]), [
    [ID, "DEAD_LETTERED", "too large"],
  ]);
});

Deno.test("outbox routes: a retry requeues the given ids (or all) and wakes the relay", async () => {
  const { db, relay, post } = setup();
  db.answer = () => [{ seq: "1" }, { seq: "2" }];
  const some = await post("/outbox/dead-lettered/retry", { eventIds: [ID] });
  assertEquals(await some.json(), { requeued: 2 });
  const all = await post("/outbox/dead-lettered/retry");
  assertEquals(all.status, 200);
  assertEquals(db.queries.map((q) => q.params), [[[ID]], [null]]);
  assertEquals(relay.wakes, 2);
});

Deno.test("outbox routes: a retry needs the token and valid ids; nothing is requeued otherwise", async () => {
  const { db, relay, post } = setup();
  assertEquals((await post("/outbox/dead-lettered/retry", {}, null)).status, 401);
  assertEquals((await post("/outbox/dead-lettered/retry", "{")).status, 400);
  const bad = await post("/outbox/dead-lettered/retry", { eventIds: ["nope"] });
  assertEquals([bad.status, (await bad.json()).title], [422, "Invalid eventIds"]);
  assertEquals(db.queries.length, 0);
  assertEquals(relay.wakes, 0);
});

Deno.test("outbox routes: reconcile without a reader is 501", async () => {
  const { post } = setup();
  const res = await post("/outbox/reconcile", { since: "1h" });
  assertEquals(res.status, 501);
  assertEquals((await res.json()).title, "Reconciliation not configured");
});

Deno.test("outbox routes: reconcile checks the range, then runs once at a time", async () => {
  const calls: [Date, Date][] = [];
  let release: () => void = () => {};
  const { post } = setup({
    reconcile: async (since, until) => {
      calls.push([since, until]);
      await new Promise<void>((r) => (release = r));
      return cleanReport(since, until);
    },
  });
  const missing = await post("/outbox/reconcile", {});
  assertEquals(missing.status, 422);
  assertEquals((await missing.json()).errors, [{ field: "since", message: "got null" }]);
  const bad = await post("/outbox/reconcile", { since: "last tuesday" });
  assertEquals(bad.status, 422);
  assertEquals((await bad.json()).errors[0].field, "since");
  assertEquals((await post("/outbox/reconcile", "{")).status, 400);
  const typo = await post("/outbox/reconcile?snice=1h", {});
  assertEquals(typo.status, 400);
  assertEquals((await typo.json()).errors, [
    { field: "snice", message: "unknown parameter; this route takes since, until" },
  ]);
  assertEquals(calls.length, 0);

  const first = post("/outbox/reconcile?since=2h");
  while (calls.length === 0) await new Promise((r) => setTimeout(r, 0));
  const busy = await post("/outbox/reconcile", { since: "1h" });
  assertEquals(busy.status, 409);
  assertEquals(busy.headers.get("retry-after"), "5");
  release();
  const done = await first;
  assertEquals(done.status, 200);
  const [since, until] = calls[0]!;
  assertEquals((await done.json()).since, since.toISOString());
  const hours = (until.getTime() - since.getTime()) / 3_600_000;
  assert(Math.abs(hours - 2) < 0.01, `the query's since=2h was used, got ${hours} h`);
  assertEquals(calls.length, 1);
});

Deno.test("outbox routes: a failed reconciliation is 503 with Retry-After, and the next may run", async () => {
  let fail = true;
  const { post, logger } = setup({
    reconcile: (since, until) =>
      fail ? Promise.reject(new Error("broker gone")) : Promise.resolve(cleanReport(since, until)),
  });
  const res = await post("/outbox/reconcile", { since: "1h" });
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("retry-after"), "2");
  assertEquals(
    (await res.json()).detail,
    "the outbox could not be compared with the topic: broker gone",
  );
  assertEquals(logger.records.map((r) => r.msg), ["reconciliation failed"]);
  fail = false;
  assertEquals((await post("/outbox/reconcile", { since: "1h" })).status, 200);
});
