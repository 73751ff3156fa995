/**
 * The operator page on an instance without ADMIN_TOKEN, in headless Chromium on a phone screen:
 * the transition buttons are disabled with the reason, and the page says how to enable them.
 * (With a token they are enabled: operator_page_test.ts.)
 *
 * Needs Chromium, Postgres and the local Kafka, as operator_page_test.ts. Run: deno task test:e2e
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { getJson, REAL_IO, startTestService } from "../integration/helpers.ts";
import { layoutProblems } from "./layout_checks.ts";
import { launchChromium, tile, waitForNextPoll } from "./page_helpers.ts";
import { VIEWPORTS } from "./page_scene.ts";

const ENABLE = "set ADMIN_TOKEN (16+ characters) and restart to enable them";

Deno.test({
  name:
    "operator page without ADMIN_TOKEN shows the transitions disabled, why, and how to enable them",
  ...REAL_IO,
  async fn() {
    const svc = await startTestService({ ADMIN_TOKEN: "" });
    const browser = await launchChromium();
    try {
      // The page learns it from the service, which says so in GET /circuit-breaker.
      assertEquals((await getJson(svc.base, "/circuit-breaker")).admin, {
        enabled: false,
        howToEnable: ENABLE,
      });
      const context = await browser.newContext({ ...VIEWPORTS.phone });
      const page = await context.newPage();
      const posts: string[] = [];
      page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));
      await page.goto(`${svc.base}/`);
      await page.waitForSelector("#admin-off", { state: "visible", timeout: 5_000 });
      assertEquals(
        await page.textContent("#admin-off"),
        `Operator actions are disabled on this instance (no admin token): ${ENABLE}.`,
      );
      assertEquals(await page.getAttribute("#actions", "data-admin"), "off");
      assertEquals(await page.isDisabled("#token"), true);
      const buttons = await page.locator("[data-target]").all();
      assertEquals(buttons.length, 5);
      for (const b of buttons) {
        assertEquals(await b.isDisabled(), true);
        assertStringIncludes((await b.getAttribute("title")) ?? "", "ADMIN_TOKEN");
        assertEquals(await b.getAttribute("aria-describedby"), "admin-off");
      }
      // A click on a disabled button sends nothing.
      await page.locator('[data-target="FORCED_OPEN"]').click({ force: true });
      // Polls go on and leave the buttons disabled.
      await page.waitForSelector(tile("CLOSED", true), { timeout: 5_000 });
      await waitForNextPoll(page);
      for (const b of buttons) assertEquals(await b.isDisabled(), true);
      assertEquals(posts, []);
      assertEquals((await getJson(svc.base, "/circuit-breaker/kafka-publisher")).state, "CLOSED");
      // The notice fits the phone's screen like the rest.
      assertEquals(await layoutProblems(page), []);
      await context.close();
    } finally {
      await browser.close().catch(() => {});
      await svc.stop();
    }
  },
});
