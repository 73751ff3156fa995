import { assert, assertEquals, assertMatch } from "@std/assert";
import { createApp } from "./app.ts";
import { settlementRoutes, type SettlementRoutesDeps } from "./settlement_routes.ts";
import { fakeApp, mounted, recordingLogger } from "../testing/http_fakes.ts";

/** A summary as the settlement process serves it; one amount is above 2^53. */
const SUMMARY = {
  today: "2026-12-04",
  statements: [{
    day: "2026-12-04",
    merchantId: "m1",
    currency: "KRW",
    minorDigits: 0,
    authorized: { count: 3, amount: "3000" },
    captured: { count: 2, amount: "9007199254740993" },
    refunded: { count: 0, amount: "0" },
    chargedBack: { count: 0, amount: "0" },
    fees: "0",
    adjustments: [],
    adjustmentsNet: "0",
    netPayable: "9007199254740993",
    journal: [],
  }],
  lastClose: {
    day: "2026-12-03",
    closedAt: "2026-12-04T01:00:00.000Z",
    reconciled: true,
    differences: 0,
  },
  exceptionsToday: 1,
};

function setup(settlementUrl: string | null, over: Partial<SettlementRoutesDeps> = {}) {
  const logger = recordingLogger();
  const app = mounted(
    "/settlement",
    settlementRoutes({ settlementUrl, logger, retryAfter: "2", ...over }),
    logger,
  );
  return { app, logger };
}

/** Runs `fn` against a stand-in settlement process on a free port of this machine. */
async function withSettlement(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("settlement routes: the summary is the settlement process's JSON, amounts untouched", async () => {
  const asked: { path: string; accept: string | null }[] = [];
  await withSettlement((req) => {
    asked.push({ path: new URL(req.url).pathname, accept: req.headers.get("accept") });
    return Response.json(SUMMARY);
  }, async (url) => {
    const { app } = setup(url);
    const res = await app.request("/settlement/summary");
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("cache-control"), "no-store");
    const text = await res.text();
    assert(text.includes('"amount":"9007199254740993"'), text);
    assertEquals(JSON.parse(text), SUMMARY);
  });
  assertEquals(asked, [{ path: "/settlements/summary", accept: "application/json" }]);
});

Deno.test("settlement routes: a SETTLEMENT_URL with a path prefix is kept", async () => {
  const paths: string[] = [];
  await withSettlement((req) => {
    paths.push(new URL(req.url).pathname);
    return Response.json(SUMMARY);
  }, async (url) => {
    const res = await setup(`${url}/settle`).app.request("/settlement/summary");
    assertEquals(res.status, 200);
    await res.body?.cancel();
  });
  assertEquals(paths, ["/settle/settlements/summary"]);
});

Deno.test("settlement routes: without SETTLEMENT_URL the summary is a 404 problem saying what to set", async () => {
  // Through createApp, as the service mounts it: fakeApp's deps name no settlement process.
  const res = await createApp(fakeApp().deps).request("/settlement/summary");
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals(body.title, "Settlement not configured");
  assertEquals(body.detail, "settlement not configured; set SETTLEMENT_URL");
  assertEquals(body.instance, "/settlement/summary");
});

Deno.test("settlement routes: an unreachable settlement process is a 503 problem, logged once per outage", async () => {
  const { app, logger } = setup(`http://127.0.0.1:${closedPort()}`);
  for (let i = 0; i < 3; i++) {
    const res = await app.request("/settlement/summary");
    assertEquals(res.status, 503);
    assertEquals(res.headers.get("content-type"), "application/problem+json");
    assertEquals(res.headers.get("retry-after"), "2");
    const body = await res.json();
    assertEquals(body.title, "Settlement unavailable");
    assertEquals(body.detail, "the settlement process could not be reached");
  }
  assertEquals(logger.records.map((r) => `${r.level} ${r.msg}`), [
    "warn settlement summary unavailable",
  ]);
});

Deno.test("settlement routes: a settlement process that does not answer in time is a 503", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await withSettlement(async () => {
    await released;
    return Response.json(SUMMARY);
  }, async (url) => {
    const { app } = setup(url, { timeoutMs: 100 });
    const started = performance.now();
    const res = await app.request("/settlement/summary");
    release();
    assertEquals(res.status, 503);
    assertEquals((await res.json()).detail, "the settlement process did not answer within 0.1 s");
    assert(performance.now() - started < 2_000, "the timeout did not apply");
  });
});

Deno.test("settlement routes: an error answer is a 502 with its detail; recovery is logged", async () => {
  let down = true;
  await withSettlement(
    () =>
      down
        ? Response.json({ title: "Internal error", status: 500, detail: "db gone" }, {
          status: 500,
        })
        : Response.json(SUMMARY),
    async (url) => {
      const { app, logger } = setup(url);
      const bad = await app.request("/settlement/summary");
      assertEquals(bad.status, 502);
      assertMatch((await bad.json()).detail, /^the settlement process answered 500: db gone$/);
      down = false;
      const good = await app.request("/settlement/summary");
      assertEquals(good.status, 200);
      await good.body?.cancel();
      assertEquals(logger.records.map((r) => `${r.level} ${r.msg}`), [
        "warn settlement summary unavailable",
        "info settlement summary available again",
      ]);
    },
  );
});

Deno.test("settlement routes: a 2xx answer that is no summary is a 502", async () => {
  await withSettlement(() => new Response("<html>proxy login</html>"), async (url) => {
    const res = await setup(url).app.request("/settlement/summary");
    assertEquals(res.status, 502);
    assertEquals((await res.json()).detail, "the settlement process answered no summary");
  });
});
