import { assertEquals } from "@std/assert";
import { Hono } from "hono";
import { problemHandler, unmatchedRoute } from "./error_handler.ts";
import { HttpProblem } from "./problem.ts";
import { recordingLogger } from "../testing/http_fakes.ts";

function app() {
  const logger = recordingLogger();
  const a = new Hono();
  a.onError(problemHandler(logger));
  a.notFound(unmatchedRoute(() => a.routes));
  a.get("/busy", () => {
    throw new HttpProblem(503, "Outbox unavailable", "retry later", {
      extra: { eventId: "e-1" },
      headers: { "Retry-After": "2" },
    });
  });
  a.get("/bug", () => {
    throw new TypeError("secret internals");
  });
  return { app: a, logger };
}

Deno.test("error handler: an HttpProblem is answered as problem+json with its status and headers", async () => {
  const { app: a, logger } = app();
  const res = await a.request("/busy");
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals(res.headers.get("retry-after"), "2");
  assertEquals(await res.json(), {
    type: "https://payment-ingest.dev/problems/outbox-unavailable",
    title: "Outbox unavailable",
    status: 503,
    detail: "retry later",
    instance: "/busy",
    eventId: "e-1",
  });
  assertEquals(logger.records, [], "an expected problem is not an error to log");
});

Deno.test("error handler: anything else is a 500 that does not echo the error, and is logged", async () => {
  const { app: a, logger } = app();
  const res = await a.request("/bug");
  assertEquals(res.status, 500);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals(body.title, "Internal error");
  assertEquals(body.detail, "the request could not be completed; nothing was acknowledged");
  assertEquals(JSON.stringify(body).includes("secret"), false);
  assertEquals(logger.records, [{
    level: "error",
    msg: "unhandled error",
    fields: { path: "/bug", error: "secret internals" },
  }]);
});

Deno.test("error handler: an unknown route is a 404 problem naming method and path", async () => {
  const { app: a } = app();
  const res = await a.request("/nowhere?x=1", { method: "DELETE" });
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals(await res.json(), {
    type: "https://payment-ingest.dev/problems/not-found",
    title: "Not found",
    status: 404,
    detail: "no route for DELETE /nowhere",
    instance: "/nowhere",
  });
});

Deno.test("error handler: a wrong method on a known path is a 405 problem with Allow", async () => {
  const { app: a } = app();
  a.post("/items/:id", (c) => c.text("ok"));
  const put = await a.request("/busy", { method: "PUT" });
  assertEquals(put.status, 405);
  assertEquals(put.headers.get("allow"), "GET, HEAD");
  assertEquals(put.headers.get("content-type"), "application/problem+json");
  assertEquals(await put.json(), {
    type: "https://payment-ingest.dev/problems/method-not-allowed",
    title: "Method not allowed",
    status: 405,
    detail: "/busy answers GET, HEAD, not PUT",
    instance: "/busy",
    allowed: ["GET", "HEAD"],
  });
  const get = await a.request("/items/7");
  assertEquals(get.status, 405);
  assertEquals(get.headers.get("allow"), "POST");
  assertEquals((await a.request("/items/7/more", { method: "POST" })).status, 404);
});
