/**
 * The OpenAPI document against the app: the app serves exactly the documented routes, every
 * example passes its schema, and what the routes answer is what their entries document.
 */
import { assert, assertEquals } from "@std/assert";
import { API_ROUTES, type ApiRoute } from "./api_routes.ts";
import { createApp } from "./app.ts";
import { openApiDocument } from "./openapi.ts";
import { ADMIN_TOKEN, fakeApp, jsonRequest, paymentEventBody } from "../testing/http_fakes.ts";

const ID = "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f";

/** `value`, or a failure naming what is missing. */
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing: ${what}`);
  return value;
}

/** The operator page's files: static, versioned URLs, not part of the API. */
const UNDOCUMENTED = /^\/page\/:version\//;

/** "GET /payments/{eventId}" for a Hono route "/payments/:eventId". */
function served(): Set<string> {
  const app = createApp(fakeApp().deps);
  return new Set(
    app.routes
      .filter((r) => r.method !== "ALL" && !UNDOCUMENTED.test(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`),
  );
}

function documented(): Set<string> {
  const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
  return new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)
    ),
  );
}

Deno.test("openapi contract: every served route is documented, every documented route served", () => {
  const app = served();
  const doc = documented();
  assertEquals([...app].filter((r) => !doc.has(r)), [], "served but not documented");
  assertEquals([...doc].filter((r) => !app.has(r)), [], "documented but not served");
  assert(app.size >= 17, `only ${app.size} routes`);
});

Deno.test("openapi contract: the table has one entry per method and path", () => {
  const keys = API_ROUTES.map((r) => `${r.method} ${r.path}`);
  assertEquals(keys.length, new Set(keys).size);
});

Deno.test("openapi contract: every documented example passes its zod schema", () => {
  let checked = 0;
  for (const route of API_ROUTES) {
    const where = `${route.method.toUpperCase()} ${route.path}`;
    if (route.body) {
      const r = route.body.schema.safeParse(route.body.example);
      assert(r.success, `${where} body example: ${r.error?.message}`);
      checked++;
    }
    for (const [status, res] of Object.entries(route.responses)) {
      if (res.example === undefined) continue;
      const schema = must(res.schema, `${where} ${status}: an example without a schema`);
      const r = schema.safeParse(res.example);
      assert(r.success, `${where} ${status} example: ${r.error?.message}`);
      checked++;
    }
  }
  assert(checked >= 20, `only ${checked} examples`);
});

Deno.test("openapi contract: a schema refusing a wrong example is caught (the check can fail)", () => {
  const route = API_ROUTES.find((r) => r.path === "/payments" && r.method === "post")!;
  assertEquals(route.body!.schema.safeParse({ ...paymentEventBody(), amount: 1.5 }).success, false);
  const created = route.responses["201"]!;
  assertEquals(created.schema!.safeParse({ eventId: ID, status: "DONE" }).success, false);
});

/** Requests whose answers are checked against their route's entry: [method, path, template, body]. */
const CALLS: [string, string, string, unknown?][] = [
  ["POST", "/payments", "/payments", paymentEventBody()],
  ["POST", "/payments", "/payments", { ...paymentEventBody(), amount: -1 }],
  ["POST", "/payments", "/payments", "{"],
  ["GET", `/payments/${ID}`, "/payments/{eventId}"],
  ["GET", "/payments/nope", "/payments/{eventId}"],
  ["GET", "/circuit-breaker", "/circuit-breaker"],
  ["GET", "/circuit-breaker/kafka-publisher", "/circuit-breaker/{name}"],
  ["GET", "/circuit-breaker/nope", "/circuit-breaker/{name}"],
  ["GET", "/circuit-breaker/kafka-publisher/events?limit=5", "/circuit-breaker/{name}/events"],
  ["GET", "/circuit-breaker/kafka-publisher/events?limit=0", "/circuit-breaker/{name}/events"],
  ["POST", "/circuit-breaker/kafka-publisher/state", "/circuit-breaker/{name}/state", {
    state: "forced_open",
  }],
  ["POST", "/circuit-breaker/kafka-publisher/state", "/circuit-breaker/{name}/state", "{"],
  ["GET", "/outbox", "/outbox"],
  ["GET", "/outbox/dead-lettered", "/outbox/dead-lettered"],
  ["POST", "/outbox/dead-lettered/retry", "/outbox/dead-lettered/retry", { eventIds: [ID] }],
  ["POST", "/outbox/dead-lettered/retry", "/outbox/dead-lettered/retry", { eventIds: [1] }],
  ["POST", "/outbox/reconcile", "/outbox/reconcile", { since: "1h" }],
  ["GET", "/settlement/summary", "/settlement/summary"],
  ["GET", "/operator/history", "/operator/history"],
  ["GET", "/health/live", "/health/live"],
  ["GET", "/health/ready", "/health/ready"],
  ["GET", "/openapi.json", "/openapi.json"],
];

Deno.test("openapi contract: each answer's status is documented and its body passes the schema", async () => {
  const t = fakeApp();
  const app = createApp(t.deps);
  const byKey = new Map<string, ApiRoute>(API_ROUTES.map((r) => [`${r.method} ${r.path}`, r]));
  for (const [method, path, template, body] of CALLS) {
    const route = must(byKey.get(`${method.toLowerCase()} ${template}`), `${method} ${template}`);
    const init = body === undefined ? { method } : jsonRequest(method, body, ADMIN_TOKEN);
    const res = await app.request(path, init);
    const entry = must(route.responses[String(res.status)], `${method} ${path}: ${res.status}`);
    const type = res.headers.get("content-type") ?? "";
    assert(type.startsWith(entry.mediaType ?? "application/json"), `${method} ${path}: ${type}`);
    const answer = await res.json();
    const r = must(entry.schema, `${method} ${path}: no schema`).safeParse(answer);
    assert(r.success, `${method} ${path} ${res.status}: ${r.error?.message}`);
  }
});
