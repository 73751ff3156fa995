/**
 * The operator page opened in the middle of an outage draws what the service kept
 * (`GET /operator/history`) at first paint: the breaker's CLOSED period and then the outage, the
 * backlog and the thresholds, before and without any poll of its own.
 *
 * Needs Chromium, Postgres and the local Kafka, as operator_page_test.ts. Run: deno task test:e2e
 */
import { assert, assertEquals } from "@std/assert";
import {
  ADMIN_TOKEN,
  getJson,
  paymentEvent,
  postPayment,
  REAL_IO,
  startTestService,
  waitFor,
} from "../integration/helpers.ts";
import type { ChartHistoryView } from "../../src/metrics/chart_history.ts";
import { BREAKER, launchChromium, waitForChart } from "./page_helpers.ts";

/** The service's samples in each state so far. */
async function sampled(base: string): Promise<Record<string, number>> {
  const view = (await getJson(base, "/operator/history")) as unknown as ChartHistoryView;
  const out: Record<string, number> = {};
  for (const s of view.samples) {
    out[s.breaker?.state ?? "?"] = (out[s.breaker?.state ?? "?"] ?? 0) + 1;
  }
  return out;
}

Deno.test({
  name: "operator page opened mid-outage draws the service's kept history at first paint",
  ...REAL_IO,
  async fn() {
    const svc = await startTestService({ BREAKER_FAILURE_RATE_THRESHOLD: "40" });
    const browser = await launchChromium();
    try {
      assert(await waitFor(async () => ((await sampled(svc.base)).CLOSED ?? 0) >= 2, 10_000));
      // The outage: an operator holds the breaker open and payments wait in the outbox.
      const res = await fetch(`${svc.base}/circuit-breaker/${BREAKER}/state`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ state: "FORCED_OPEN", reason: "outage" }),
      });
      assertEquals(res.status, 200);
      await res.body?.cancel();
      for (let i = 0; i < 3; i++) {
        assertEquals((await postPayment(svc.base, paymentEvent())).status, 202);
      }
      assert(await waitFor(async () => ((await sampled(svc.base)).FORCED_OPEN ?? 0) >= 2, 10_000));
      const kept = await sampled(svc.base);

      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      // No poll of the page gets an answer: whatever the charts show came from the history.
      const asked: string[] = [];
      await page.route(/\/(circuit-breaker|outbox|metrics|settlement)(\/|\?|$)/, (route) => {
        asked.push(new URL(route.request().url()).pathname);
        return route.abort();
      });
      await page.goto(`${svc.base}/`);
      await waitForChart(page, "chart-state", "data-runs", { equals: "CLOSED,FORCED_OPEN" }, 5_000);
      const points = Number(await page.getAttribute("#chart-backlog", "data-points"));
      assert(
        points >= kept.CLOSED! + kept.FORCED_OPEN!,
        `${points} backlog points for ${JSON.stringify(kept)}`,
      );
      assert(Number(await page.getAttribute("#chart-backlog", "data-peak")) >= 3);
      assertEquals(await page.getAttribute("#chart-failure", "data-threshold"), "40");
      const polled = () => Promise.resolve(asked.includes(`/circuit-breaker/${BREAKER}`));
      assert(await waitFor(polled, 5_000), "the page did not poll");
      assertEquals(await page.locator('.tile[data-active="true"]').count(), 0, "a poll answered");
      await context.close();
    } finally {
      await browser.close().catch(() => {});
      await svc.stop();
    }
  },
});
