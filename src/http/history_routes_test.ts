import { assertEquals, assertMatch } from "@std/assert";
import { createChartHistory } from "../metrics/chart_history.ts";
import { createApp } from "./app.ts";
import { historyRoutes } from "./history_routes.ts";
import { openApiDocument } from "./openapi.ts";
import { fakeApp, mounted, recordingMetrics, testBreaker } from "../testing/http_fakes.ts";

const T0 = 1_700_000_000_000;

/** A history of capacity 2 whose clock moves one second per reading. */
function setup() {
  const { breaker } = testBreaker();
  let wall = T0;
  const history = createChartHistory({
    breaker,
    metrics: recordingMetrics(),
    capacity: 2,
    now: () => (wall += 1_000),
  });
  return { breaker, history };
}

Deno.test("history route: GET /operator/history answers the kept samples, oldest first, uncached", async () => {
  const { breaker, history } = setup();
  await history.sample();
  breaker.transitionTo("FORCED_OPEN", { reason: "test" });
  await history.sample();
  await history.sample();
  const app = mounted("/operator/history", historyRoutes({ history }));
  const res = await app.request("/operator/history");
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type") ?? "", /^application\/json/);
  assertEquals(res.headers.get("cache-control"), "no-store");
  const body = await res.json();
  assertEquals([body.intervalMs, body.capacity, body.now], [2_000, 2, T0 + 4_000]);
  assertEquals(
    body.samples.map((s: { at: number; breaker: { state: string } }) => [s.at, s.breaker.state]),
    [[T0 + 2_000, "FORCED_OPEN"], [T0 + 3_000, "FORCED_OPEN"]],
  );
  breaker.dispose();
});

Deno.test("history route: the app serves it when given a history, and 404 without one", async () => {
  const { breaker, history } = setup();
  await history.sample();
  const withHistory = createApp(fakeApp({ chartHistory: history }).deps);
  const res = await withHistory.request("/operator/history");
  assertEquals(res.status, 200);
  assertEquals((await res.json()).samples.length, 1);
  const without = await createApp(fakeApp().deps).request("/operator/history");
  assertEquals(without.status, 404);
  assertEquals((await without.json()).title, "No chart history");
  breaker.dispose();
});

Deno.test("history route: the OpenAPI document describes it", () => {
  const paths = openApiDocument().paths as Record<string, { get?: { summary?: string } }>;
  assertMatch(paths["/operator/history"]?.get?.summary ?? "", /every 2 s, the last 480 samples/);
});
