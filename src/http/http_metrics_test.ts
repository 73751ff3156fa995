import { assertEquals } from "@std/assert";
import { Hono } from "hono";
import { httpMetrics } from "./http_metrics.ts";
import { recordingMetrics } from "../testing/http_fakes.ts";

function app() {
  const metrics = recordingMetrics();
  const a = new Hono();
  a.use(httpMetrics(metrics));
  const items = new Hono();
  items.get("/:id", (c) => c.text(c.req.param("id")));
  items.post("/", (c) => c.text("made", 201));
  a.route("/items", items);
  return { app: a, metrics };
}

Deno.test("http metrics: a request is labelled by its route template, not its path", async () => {
  const { app: a, metrics } = app();
  await a.request("/items/42");
  await a.request("/items/43");
  await a.request("/items", { method: "POST" });
  assertEquals(metrics.http, [
    { method: "GET", route: "/items/:id", status: 200 },
    { method: "GET", route: "/items/:id", status: 200 },
    { method: "POST", route: "/items", status: 201 },
  ]);
});

Deno.test("http metrics: a request no route matched is labelled unmatched", async () => {
  const { app: a, metrics } = app();
  const res = await a.request("/nowhere");
  assertEquals(res.status, 404);
  await a.request("/items", { method: "DELETE" });
  assertEquals(metrics.http.map((h) => `${h.route} ${h.status}`), [
    "unmatched 404",
    "unmatched 404",
  ]);
});
