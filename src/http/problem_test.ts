import { assertEquals } from "@std/assert";
import { HttpProblem, problemBody } from "./problem.ts";

Deno.test("http problem: without options it carries no extension members and no headers", () => {
  const p = new HttpProblem(404, "Unknown event", "no event with id x");
  assertEquals(p.extra, {});
  assertEquals(p.headers, {});
  assertEquals(p.message, "no event with id x");
});

Deno.test("http problem: extra members join the body, headers stay out of it", () => {
  const p = new HttpProblem(409, "Event id already used", "use a new eventId", {
    extra: { eventId: "e-1" },
    headers: { "Retry-After": "2" },
  });
  assertEquals(p.headers, { "Retry-After": "2" });
  assertEquals(problemBody(p, "/payments"), {
    type: "https://payment-ingest.dev/problems/event-id-already-used",
    title: "Event id already used",
    status: 409,
    detail: "use a new eventId",
    instance: "/payments",
    eventId: "e-1",
  });
});
