/** The benchmark's measuring tools: CPU time from /proc and the stage breakdown of a profile. */
import { assert, assertEquals } from "@std/assert";
import { readStat, treeCpuMs } from "../../scripts/bench/cpu.ts";
import { type CpuProfile, stageTimes } from "../../scripts/bench/profile.ts";
import { createNaiveTable, insertNaive } from "../../scripts/bench/bench_routes.ts";
import { migrate } from "../../src/outbox/migrations.ts";
import { createPgliteDb } from "../../src/outbox/pglite_db.ts";

Deno.test("bench cpu: a process tree's CPU includes the children it has reaped", async () => {
  const own = readStat(Deno.pid);
  assert(own !== null && own.every(Number.isFinite), "own /proc stat readable");
  const before = treeCpuMs(Deno.pid);
  // A child that spins for 300 ms of CPU, then exits and is reaped by this process.
  const out = await new Deno.Command("timeout", {
    args: ["0.3", "bash", "-c", "while :; do :; done"],
  }).output();
  assertEquals(out.code, 124, "the child ran until timeout stopped it");
  const grew = treeCpuMs(Deno.pid) - before;
  assert(grew >= 150, `the child's CPU is counted (grew by ${grew} ms)`);
  assert(grew < 5000, `and not wildly more (grew by ${grew} ms)`);
  assertEquals(readStat(2 ** 22 + 12345), null, "a process that does not exist reads as null");
});

Deno.test("bench profile: samples go to the innermost code of ours, else to the library", () => {
  const src = "file:///app/src";
  const npm = "file:///cache/npm/registry.npmjs.org";
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "" }, children: [2, 3, 5, 8, 9] },
      { id: 2, callFrame: { functionName: "(idle)", url: "" } },
      {
        id: 3,
        callFrame: { functionName: "readPaymentEvent", url: `${src}/http/payment_request.ts` },
        children: [4],
      },
      { id: 4, callFrame: { functionName: "safeParse", url: `${npm}/zod/4.6.7/v4/core.js` } },
      {
        id: 5,
        callFrame: { functionName: "data", url: `${npm}/postgres/3.4.9/src/connection.js` },
        children: [6],
      },
      {
        id: 6,
        callFrame: { functionName: "_write", url: "ext:deno_node/internal/streams.mjs" },
        children: [7],
      },
      { id: 7, callFrame: { functionName: "writeBuffer", url: "" } },
      { id: 8, callFrame: { functionName: "(garbage collector)", url: "" } },
      { id: 9, callFrame: { functionName: "publishClaimed", url: `${src}/outbox/ingest.ts` } },
    ],
    samples: [2, 3, 4, 7, 7, 8, 9],
    timeDeltas: [1000, 10, 20, 30, 40, 5, 7],
  };
  const t = stageTimes(profile);
  assertEquals(t.get("body read and JSON parse"), 10);
  assertEquals(t.get("validation (zod)"), 20, "zod under our reader is validation");
  assertEquals(
    t.get("outbox statements (group commit, marks; Postgres driver)"),
    70,
    "a socket write in node compat under the driver's frames is the driver's",
  );
  assertEquals(t.get("garbage collection"), 5);
  assertEquals(t.get("inline publish (breaker, kafkajs)"), 7);
  const total = [...t.values()].reduce((a, b) => a + b, 0);
  assertEquals(total, 112, "idle time is left out");
});

Deno.test("bench routes: the naive table is created once and takes rows the outbox does not see", async () => {
  const db = await createPgliteDb(null);
  try {
    await migrate(db);
    await createNaiveTable(db);
    await createNaiveTable(db);
    const event = {
      id: crypto.randomUUID(),
      aggregateid: "pay-0",
      type: "PAYMENT_CREATED",
      payload: '{"n":0}',
    };
    await insertNaive(db, event);
    const count = (table: string) =>
      db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`).then((r) => r[0]?.n);
    assertEquals(await count("outbox_naive"), "1");
    assertEquals(await count("outbox"), "0");
  } finally {
    await db.close();
  }
});
