import { assertEquals, assertMatch } from "@std/assert";
import { metaRoutes } from "./meta_routes.ts";
import { mounted, recordingMetrics } from "../testing/http_fakes.ts";

Deno.test("meta routes: /metrics serves the rendered exposition with the registry's content type", async () => {
  const metrics = recordingMetrics();
  metrics.rendered = "payments_accepted_total 3\n";
  const app = mounted("/", metaRoutes({ metrics }));
  const res = await app.request("/metrics");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), metrics.registry.contentType);
  assertMatch(res.headers.get("content-type") ?? "", /^text\/plain/);
  assertEquals(await res.text(), "payments_accepted_total 3\n");
});

Deno.test("meta routes: /openapi.json describes the routes this service serves", async () => {
  const app = mounted("/", metaRoutes({ metrics: recordingMetrics() }));
  const res = await app.request("/openapi.json");
  assertEquals(res.status, 200);
  const doc = await res.json();
  assertMatch(doc.openapi, /^3\.1\./);
  for (const path of ["/payments", "/circuit-breaker/{name}/state", "/outbox", "/health/ready"]) {
    assertEquals(path in doc.paths, true, path);
  }
});
