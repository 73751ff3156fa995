/**
 * The scene of the operator page's screenshots, shared by the layout test (which writes them to a
 * temporary folder) and `deno task docs:screenshots` (which writes docs/): published payments, the
 * breaker forced open by an operator, a backlog waiting in the outbox.
 */
import { assert, assertEquals } from "@std/assert";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ADMIN_TOKEN, getJson, paymentEvent, postPayment } from "../integration/helpers.ts";
import { BREAKER, tile, waitForChart, waitForNextPoll, waitForNumber } from "./page_helpers.ts";

/** The two screens the page is made for, as the screenshots show them. */
export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 },
  phone: {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  },
} as const;

/** The files under docs/ (README shows them), by viewport. */
export const DOC_FILES = { desktop: "operator-page.png", phone: "operator-page-mobile.png" };

/** Five published payments, then FORCED_OPEN by an operator and three payments left pending. */
export async function stageScene(base: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await postPayment(base, paymentEvent());
    assert(r.status === 201 || r.status === 202, `payment answered ${r.status}`);
  }
  const res = await fetch(`${base}/circuit-breaker/${BREAKER}/state`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ state: "FORCED_OPEN", reason: "Kafka maintenance" }),
  });
  assertEquals(res.status, 200);
  await res.body?.cancel();
  for (let i = 0; i < 3; i++) assertEquals((await postPayment(base, paymentEvent())).status, 202);
  assertEquals((await getJson(base, `/circuit-breaker/${BREAKER}`)).state, "FORCED_OPEN");
}

/** What the page shows once it has the scene: the tile, the backlog, events, charts. */
async function sceneShown(page: Page): Promise<void> {
  await page.waitForSelector(tile("FORCED_OPEN", true), { timeout: 5_000 });
  await waitForNumber(page, "outbox-pending", { min: 3 }, 5_000);
  await page.waitForSelector("#events .chip", { timeout: 5_000 });
  await waitForChart(page, "chart-state", "data-runs", { equals: "CLOSED,FORCED_OPEN" }, 5_000);
  // One more poll round, so ages and the events table show one moment.
  await waitForNextPoll(page);
}

/**
 * Opens the page at one of VIEWPORTS, waits until it shows the scene and writes a full-page
 * screenshot to `path`; the caller closes the context.
 */
export async function shoot(
  browser: Browser,
  base: string,
  screen: keyof typeof VIEWPORTS,
  path: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ...VIEWPORTS[screen] });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await sceneShown(page);
  await page.screenshot({ path, fullPage: true });
  return { context, page };
}
