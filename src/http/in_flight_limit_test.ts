import { assertEquals } from "@std/assert";
import { Hono } from "hono";
import { inFlightLimit } from "./in_flight_limit.ts";
import { problemHandler } from "./error_handler.ts";
import { recordingLogger } from "../testing/http_fakes.ts";

/** A route behind the limit whose handler waits until the test lets it finish. */
function app(max: number) {
  const gates: (() => void)[] = [];
  const a = new Hono();
  a.onError(problemHandler(recordingLogger()));
  a.post("/slow", inFlightLimit({ max, retryAfter: "7" }), async (c) => {
    await new Promise<void>((r) => gates.push(r));
    return c.text("done");
  });
  a.post("/fail", inFlightLimit({ max, retryAfter: "7" }), () => {
    throw new Error("handler failed");
  });
  return { app: a, gates };
}

async function untilWaiting(gates: unknown[], n: number) {
  while (gates.length < n) await new Promise((r) => setTimeout(r, 0));
}

Deno.test("in-flight limit: past the cap the next request is 503 with Retry-After", async () => {
  const { app: a, gates } = app(2);
  const first = a.request("/slow", { method: "POST" });
  const second = a.request("/slow", { method: "POST" });
  await untilWaiting(gates, 2);
  const third = await a.request("/slow", { method: "POST" });
  assertEquals(third.status, 503);
  assertEquals(third.headers.get("retry-after"), "7");
  const body = await third.json();
  assertEquals([body.title, body.detail], [
    "Too many requests in flight",
    "2 events are being handled already; nothing was stored; retry later",
  ]);
  assertEquals(gates.length, 2, "the refused request never reached the handler");
  gates.forEach((open) => open());
  assertEquals((await first).status, 200);
  assertEquals((await second).status, 200);
});

Deno.test("in-flight limit: a finished request frees its place, even when its handler threw", async () => {
  const { app: a, gates } = app(1);
  assertEquals((await a.request("/fail", { method: "POST" })).status, 500);
  const next = a.request("/slow", { method: "POST" });
  await untilWaiting(gates, 1);
  gates[0]!();
  assertEquals((await next).status, 200);
  const again = a.request("/slow", { method: "POST" });
  await untilWaiting(gates, 2);
  gates[1]!();
  assertEquals((await again).status, 200);
});
