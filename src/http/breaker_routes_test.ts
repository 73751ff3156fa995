import { assertEquals } from "@std/assert";
import { breakerRoutes } from "./breaker_routes.ts";
import {
  ADMIN_TOKEN,
  jsonRequest,
  mounted,
  recordingLogger,
  testBreaker,
} from "../testing/http_fakes.ts";

function setup(adminToken: string | null = ADMIN_TOKEN) {
  const { breaker } = testBreaker();
  const logger = recordingLogger();
  const app = mounted(
    "/circuit-breaker",
    breakerRoutes({ breakers: [breaker], logger, adminToken }),
  );
  const setState = (body: unknown, token: string | null = ADMIN_TOKEN) =>
    app.request(
      "/circuit-breaker/kafka-publisher/state",
      jsonRequest("POST", body, token ?? undefined),
    );
  return { app, breaker, logger, setState };
}

Deno.test("breaker routes: the list and one breaker show their snapshots", async () => {
  const { app, breaker } = setup();
  const list = await app.request("/circuit-breaker");
  assertEquals(list.status, 200);
  const { circuitBreakers } = await list.json();
  assertEquals(circuitBreakers.map((b: { name: string; state: string }) => [b.name, b.state]), [
    ["kafka-publisher", "CLOSED"],
  ]);
  const one = await app.request("/circuit-breaker/kafka-publisher");
  assertEquals(await one.json(), JSON.parse(JSON.stringify(breaker.snapshot())));
});

Deno.test("breaker routes: an unknown name is a 404 problem listing the known ones", async () => {
  const { app } = setup();
  const res = await app.request("/circuit-breaker/nope/events");
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals([body.title, body.known], ["Unknown circuit breaker", ["kafka-publisher"]]);
});

Deno.test("breaker routes: events are filtered by type and bounded by a checked limit", async () => {
  const { app, setState } = setup();
  assertEquals((await setState({ state: "FORCED_OPEN" })).status, 200);
  const res = await app.request("/circuit-breaker/kafka-publisher/events?type=state_transition");
  const body = await res.json();
  assertEquals(body.name, "kafka-publisher");
  assertEquals(body.events.map((e: { type: string; to: string }) => [e.type, e.to]), [
    ["STATE_TRANSITION", "FORCED_OPEN"],
  ]);
  for (const limit of ["0", "1001", "2.5", "x"]) {
    const bad = await app.request(`/circuit-breaker/kafka-publisher/events?limit=${limit}`);
    assertEquals(bad.status, 400, `limit=${limit}`);
    assertEquals(
      (await bad.json()).detail,
      `limit: must be an integer in [1, 1000]; got ${JSON.stringify(limit)}`,
    );
  }
});

Deno.test("breaker routes: an unknown event type or query parameter is a 400 naming it and what is allowed", async () => {
  const { app } = setup();
  const bogus = await app.request("/circuit-breaker/kafka-publisher/events?type=BOGUS");
  assertEquals(bogus.status, 400);
  assertEquals(bogus.headers.get("content-type"), "application/problem+json");
  const body = await bogus.json();
  assertEquals(body.title, "Invalid query");
  assertEquals(body.errors, [{
    field: "type",
    message:
      'must be one of STATE_TRANSITION, SUCCESS, ERROR, IGNORED_ERROR, NOT_PERMITTED, FAILURE_RATE_EXCEEDED, SLOW_CALL_RATE_EXCEEDED, RESET; got "BOGUS"',
  }]);
  const typo = await app.request("/circuit-breaker/kafka-publisher/events?tpye=ERROR");
  assertEquals(typo.status, 400);
  assertEquals((await typo.json()).errors, [
    { field: "tpye", message: "unknown parameter; this route takes type, limit" },
  ]);
});

Deno.test("breaker routes: an operator moves the state; the change is logged with the reason", async () => {
  const { breaker, logger, setState } = setup();
  const res = await setState({ state: "forced_open", reason: "broker upgrade", ttlSeconds: 60 });
  assertEquals(res.status, 200);
  assertEquals((await res.json()).state, "FORCED_OPEN");
  assertEquals(breaker.state, "FORCED_OPEN");
  assertEquals(logger.records, [{
    level: "warn",
    msg: "circuit breaker state set by operator",
    fields: {
      breaker: "kafka-publisher",
      from: "CLOSED",
      to: "FORCED_OPEN",
      reason: "broker upgrade",
      ttlSeconds: 60,
    },
  }]);
});

Deno.test("breaker routes: a state change needs the token (403 disabled, 401 missing, 403 wrong)", async () => {
  const disabled = setup(null);
  assertEquals((await disabled.setState({ state: "FORCED_OPEN" })).status, 403);
  const { breaker, setState } = setup();
  const missing = await setState({ state: "FORCED_OPEN" }, null);
  assertEquals(missing.status, 401);
  assertEquals(missing.headers.get("www-authenticate"), 'Bearer realm="payment-ingest"');
  assertEquals((await setState({ state: "FORCED_OPEN" }, "wrong-token-wrong-token")).status, 403);
  assertEquals(breaker.state, "CLOSED");
});

Deno.test("breaker routes: bad bodies are 400 or 422 naming what is wrong, state unchanged", async () => {
  const { breaker, setState } = setup();
  const malformed = await setState("{");
  assertEquals(malformed.status, 400);
  const state = await setState({ state: "AJAR" });
  assertEquals(state.status, 422);
  assertEquals((await state.json()).errors, [{ field: "state", message: 'unknown state "AJAR"' }]);
  const reason = await setState({ state: "FORCED_OPEN", reason: "x".repeat(501) });
  assertEquals([reason.status, (await reason.json()).title], [422, "Invalid reason"]);
  const ttl = await setState({ state: "FORCED_OPEN", ttlSeconds: 0 });
  assertEquals([ttl.status, (await ttl.json()).title], [422, "Invalid ttlSeconds"]);
  assertEquals(breaker.state, "CLOSED");
});

Deno.test("breaker routes: an illegal transition is 409 with the allowed targets", async () => {
  const { setState } = setup();
  const res = await setState({ state: "HALF_OPEN" });
  assertEquals(res.status, 409);
  const body = await res.json();
  assertEquals([body.title, body.from, body.to], ["Illegal transition", "CLOSED", "HALF_OPEN"]);
  assertEquals(body.allowed.includes("HALF_OPEN"), false);
  assertEquals(body.allowed.includes("FORCED_OPEN"), true);
});

Deno.test("breaker routes: the list says whether transitions are enabled, and how to enable them", async () => {
  const on = await (await setup(ADMIN_TOKEN).app.request("/circuit-breaker")).json();
  assertEquals(on.admin, { enabled: true });
  const { app, setState } = setup(null);
  const off = await (await app.request("/circuit-breaker")).json();
  assertEquals(off.admin, {
    enabled: false,
    howToEnable: "set ADMIN_TOKEN (16+ characters) and restart to enable them",
  });
  // The refusal of a transition says the same.
  const refused = await (await setState({ state: "FORCED_OPEN" })).json();
  assertEquals(
    refused.detail,
    `admin mutations are disabled on this instance; ${off.admin.howToEnable}`,
  );
});
