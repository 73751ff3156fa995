import { assertEquals } from "@std/assert";
import type { OutboxStats } from "./repository.ts";
import { cachedOutboxStats } from "./stats_cache.ts";

const figures = (pending: number): OutboxStats => ({
  pending,
  oldestPendingAgeSeconds: null,
  deadLettered: 0,
  publishedApprox: 0,
});

Deno.test("a reading is reused for costFactor times its duration, then read again", async () => {
  let t = 0;
  let reads = 0;
  const stats = cachedOutboxStats(() => {
    reads++;
    t += 300; // each reading takes 300 ms
    return Promise.resolve(figures(reads));
  }, { now: () => t, costFactor: 20 });
  assertEquals((await stats()).pending, 1);
  t += 5_999;
  assertEquals((await stats()).pending, 1, "reused within 20 x 300 ms");
  t += 1;
  assertEquals((await stats()).pending, 2, "read again after 6 s");
});

Deno.test("a cheap reading is hardly cached; maxAgeMs bounds a dear one", async () => {
  let t = 0;
  let reads = 0;
  let cost = 1;
  const stats = cachedOutboxStats(() => {
    reads++;
    t += cost;
    return Promise.resolve(figures(reads));
  }, { now: () => t, maxAgeMs: 10_000 });
  await stats();
  t += 20;
  assertEquals((await stats()).pending, 2, "a 1 ms reading is stale after 20 ms");
  cost = 5_000;
  t += 1_000;
  await stats();
  t += 10_000;
  assertEquals((await stats()).pending, 4, "never older than maxAgeMs");
});

Deno.test("concurrent askers share one reading; a failure is not cached", async () => {
  let reads = 0;
  let fail = true;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const stats = cachedOutboxStats(async () => {
    reads++;
    await gate;
    if (fail) throw new Error("postgres down");
    return figures(7);
  });
  const both = Promise.allSettled([stats(), stats()]);
  release();
  const settled = await both;
  assertEquals(reads, 1);
  assertEquals(settled.map((s) => s.status), ["rejected", "rejected"]);
  fail = false;
  assertEquals((await stats()).pending, 7);
  assertEquals(reads, 2);
});
