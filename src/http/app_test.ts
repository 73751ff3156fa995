import { assertEquals } from "@std/assert";
import { createApp } from "./app.ts";
import { ADMIN_TOKEN, fakeApp, jsonRequest, paymentEventBody } from "../testing/http_fakes.ts";

const ID = "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f";

Deno.test("app: mounted route modules keep their full route templates as metric labels", async () => {
  const t = fakeApp();
  const app = createApp(t.deps);
  const requests: [string, string, unknown?][] = [
    ["POST", "/payments", paymentEventBody()],
    ["GET", `/payments/${ID}`],
    ["GET", "/circuit-breaker"],
    ["GET", "/circuit-breaker/kafka-publisher"],
    ["GET", "/circuit-breaker/kafka-publisher/events"],
    ["POST", "/circuit-breaker/kafka-publisher/state", { state: "FORCED_OPEN" }],
    ["GET", "/outbox"],
    ["GET", "/outbox/dead-lettered"],
    ["POST", "/outbox/dead-lettered/retry", ""],
    ["POST", "/outbox/reconcile", { since: "1h" }],
    ["GET", "/"],
    ["GET", "/settlement/summary"],
    ["GET", "/health/live"],
    ["GET", "/health/ready"],
    ["GET", "/metrics"],
    ["GET", "/openapi.json"],
    ["GET", "/nowhere"],
    ["POST", "/payments/", paymentEventBody()],
  ];
  for (const [method, path, body] of requests) {
    const init = body === undefined ? { method } : jsonRequest(method, body, ADMIN_TOKEN);
    await (await app.request(path, init)).arrayBuffer();
  }
  assertEquals(t.metrics.http.map((h) => `${h.method} ${h.route} ${h.status}`), [
    "POST /payments 202",
    "GET /payments/:eventId 404",
    "GET /circuit-breaker 200",
    "GET /circuit-breaker/:name 200",
    "GET /circuit-breaker/:name/events 200",
    "POST /circuit-breaker/:name/state 200",
    "GET /outbox 200",
    "GET /outbox/dead-lettered 200",
    "POST /outbox/dead-lettered/retry 200",
    "POST /outbox/reconcile 501",
    "GET / 200",
    "GET /settlement/summary 404",
    "GET /health/live 200",
    "GET /health/ready 503",
    "GET /metrics 200",
    "GET /openapi.json 200",
    "GET unmatched 404",
    "POST unmatched 404",
  ]);
});

Deno.test("app: a problem thrown inside a mounted module reaches the one error handler", async () => {
  const t = fakeApp({ retryAfterSeconds: 9 });
  t.ingest.next = new Error("pool exhausted");
  const app = createApp(t.deps);
  const res = await app.request("/payments", jsonRequest("POST", paymentEventBody()));
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals(res.headers.get("retry-after"), "9");
  assertEquals((await res.json()).instance, "/payments");
  t.db.down = true;
  const outbox = await app.request("/outbox");
  assertEquals([outbox.status, outbox.headers.get("retry-after")], [503, "9"]);
});

Deno.test("app: an unknown route is a 404 problem", async () => {
  const app = createApp(fakeApp().deps);
  const res = await app.request("/payments/x/y");
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals((await res.json()).detail, "no route for GET /payments/x/y");
});

Deno.test("app: the body limit defaults to 64 KiB and can be set", async () => {
  // Valid JSON either way: the whitespace only makes the body long.
  const big = JSON.stringify(paymentEventBody()) + " ".repeat(70 * 1024);
  const byDefault = createApp(fakeApp().deps);
  assertEquals((await byDefault.request("/payments", jsonRequest("POST", big))).status, 413);
  const small = paymentEventBody({ metadata: { a: "x".repeat(1000), b: "y".repeat(1000) } });
  assertEquals((await byDefault.request("/payments", jsonRequest("POST", small))).status, 202);
  const strict = createApp(fakeApp({ bodyLimitBytes: 1024 }).deps);
  assertEquals((await strict.request("/payments", jsonRequest("POST", small))).status, 413);
});

Deno.test("app: a wrong method on a known path answers 405 with Allow, an unknown path 404", async () => {
  const app = createApp(fakeApp().deps);
  const cases: [string, string, number, string | null][] = [
    ["PUT", "/payments", 405, "POST"],
    ["DELETE", `/payments/${ID}`, 405, "GET, HEAD"],
    ["POST", "/circuit-breaker/kafka-publisher", 405, "GET, HEAD"],
    ["GET", "/circuit-breaker/kafka-publisher/state", 405, "POST"],
    ["DELETE", "/metrics", 405, "GET, HEAD"],
    ["PUT", "/nowhere", 404, null],
  ];
  for (const [method, path, status, allow] of cases) {
    const res = await app.request(path, { method });
    const body = await res.json();
    assertEquals([res.status, res.headers.get("allow")], [status, allow], `${method} ${path}`);
    assertEquals(res.headers.get("content-type"), "application/problem+json");
    assertEquals(body.status, status);
  }
});

Deno.test("app: every documented path answers 405 to an undocumented method, Allow naming exactly the documented ones", async () => {
  const chartHistory = { view: () => ({ intervalMs: 1000, capacity: 1, now: 0, samples: [] }) };
  const app = createApp({ ...fakeApp().deps, chartHistory });
  const doc = await (await app.request("/openapi.json")).json();
  assertEquals(Object.keys(doc.components.responses.MethodNotAllowed.headers), ["Allow"]);
  for (const [template, ops] of Object.entries(doc.paths as Record<string, object>)) {
    const path = template.replace(/\{[^}]+\}/g, ID);
    const documented = Object.keys(ops).map((m) => m.toUpperCase());
    if (documented.includes("GET")) documented.push("HEAD");
    const res = await app.request(path, { method: "PATCH" });
    await res.body?.cancel();
    assertEquals(res.status, 405, template);
    assertEquals(res.headers.get("allow")?.split(", ").sort(), documented.sort(), template);
  }
});
