/**
 * The operator page in a real headless Chromium against the real service (real Postgres, real
 * Kafka): live tiles, rates and what they cover, token handling, forced transitions, outbox
 * backlog, the rolling charts, escaping, poll rate. Layout and screenshots:
 * operator_page_layout_test.ts; the kept history: operator_page_history_test.ts; admin disabled:
 * operator_page_admin_test.ts.
 *
 * Needs Debian's `chromium` (apt-get install chromium) or CHROMIUM_PATH, Postgres and the local
 * Kafka (`deno task kafka start`). Run: deno task test:e2e
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { CircuitBreaker } from "../../src/breaker/circuit_breaker.ts";
import { createTestClock } from "../../src/testing/test_clock.ts";
import {
  ADMIN_TOKEN,
  getJson,
  paymentEvent,
  postPayment,
  REAL_IO,
  startTestService,
} from "../integration/helpers.ts";
import {
  apiState,
  BREAKER,
  launchChromium,
  messageOf,
  POLL_RECORDER,
  tile,
  waitForChart,
  waitForNextPoll,
  waitForNumber,
  waitForText,
} from "./page_helpers.ts";
import { layoutProblems } from "./layout_checks.ts";

/** The page polls once a second; a change must show within one period plus request time. */
const WITHIN_POLL_MS = 2_500;
/** Thresholds other than the defaults (50 % both), so the charts must draw the configured ones. */
const FAILURE_THRESHOLD = 40;
const SLOW_THRESHOLD = 70;
const CHARTS = ["throughput", "failure", "slow", "backlog", "state"].map((c) => `chart-${c}`);

Deno.test({
  name: "operator page in headless Chromium shows the live breaker and drives forced transitions",
  ...REAL_IO,
  async fn(t) {
    const svc = await startTestService({
      BREAKER_FAILURE_RATE_THRESHOLD: String(FAILURE_THRESHOLD),
      BREAKER_SLOW_CALL_RATE_THRESHOLD: String(SLOW_THRESHOLD),
    });
    const base = svc.base;
    const browser = await launchChromium();
    const foreign: string[] = [];
    const pageErrors: string[] = [];
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      // Records when the page's own code asks for the snapshot (network timings lag behind it).
      // Init scripts are injected over CDP, so the page's CSP does not apply to them.
      await context.addInitScript({ content: POLL_RECORDER });
      const page = await context.newPage();
      page.on("request", (r) => {
        const url = r.url();
        if (!url.startsWith(`${base}/`) && !url.startsWith("data:")) foreign.push(url);
      });
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      const assets: { path: string; status: number; type: string; cache: string }[] = [];
      page.on("response", (r) => {
        const path = new URL(r.url()).pathname;
        if (!path.startsWith("/page/")) return;
        const h = r.headers();
        assets.push({
          path,
          status: r.status(),
          type: h["content-type"] ?? "",
          cache: h["cache-control"] ?? "",
        });
      });
      page.on("console", (m) => {
        // Chromium logs every non-2xx fetch; the 401/403/409 answers below are expected.
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
          pageErrors.push(m.text());
        }
      });

      await t.step("the page loads and the CLOSED tile is the only active one", async () => {
        const res = await page.goto(`${base}/`);
        assertEquals(res?.status(), 200);
        assertEquals(res?.headers()["content-type"], "text/html; charset=utf-8");
        assertEquals(res?.headers()["cache-control"], "no-cache");
        await page.waitForSelector(tile("CLOSED", true), { timeout: WITHIN_POLL_MS });
        assertEquals(await page.locator('.tile[data-active="true"]').count(), 1);
        assertEquals(await page.locator(".tile").count(), 7);
        assertEquals(await page.textContent("#state-badge"), "CLOSED");
        // No call yet: no rate, no bar, and the count it waits for.
        assertEquals(await page.textContent("#failure-rate"), "not evaluated yet (0 of 5 calls)");
        assertEquals(await page.textContent("#failure-threshold"), "threshold 40.0 %");
        assertEquals(await page.isVisible("#rate-failure .bar"), false);
        assertEquals(await page.textContent("#window-meta"), "window: last 10 calls");
        assertEquals(await layoutProblems(page), [], "the long 'not evaluated' texts fit");
        // ADMIN_TOKEN is set: the transitions are enabled and nothing says otherwise.
        assertEquals(await page.getAttribute("#actions", "data-admin"), "on");
        assertEquals(await page.isVisible("#admin-off"), false);
        for (const b of await page.locator("[data-target]").all()) {
          assertEquals(await b.isEnabled(), true);
        }
        await waitForNumber(page, "outbox-pending", { min: 0 }, WITHIN_POLL_MS);
        // No SETTLEMENT_URL here: the panel says so and the page still counts as live.
        await waitForText(page, "settlement-status", "Settlement not configured", WITHIN_POLL_MS);
        assertEquals(await page.getAttribute("#conn", "data-live"), "true");
        // The styles and every module arrived from the service, typed and cached for good.
        assert(assets.some((a) => a.path.endsWith("/page.js")), "page.js was not loaded");
        assert(assets.some((a) => a.path.endsWith(".css")), "no stylesheet was loaded");
        for (const a of assets) {
          assertEquals(a.status, 200, a.path);
          const type = a.path.endsWith(".js") ? "text/javascript" : "text/css";
          assertEquals(a.type, `${type}; charset=utf-8`, a.path);
          assertEquals(a.cache, "public, max-age=31536000, immutable", a.path);
        }
        assertEquals(
          await page.evaluate("getComputedStyle(document.querySelector('.top')).display"),
          "flex",
          "layout.css applies",
        );
      });

      await t.step(
        "the charts draw, fill from the polls and show the configured thresholds",
        async () => {
          for (const id of CHARTS) {
            const box = await page.locator(`#${id} canvas`).boundingBox();
            assert(
              box && box.width > 100 && box.height > 20,
              `#${id} canvas is ${JSON.stringify(box)}`,
            );
          }
          // Three polls after the first: every chart holds three samples or more.
          await waitForChart(page, "chart-state", "data-points", { min: 3 }, 4 * WITHIN_POLL_MS);
          assert(Number(await page.getAttribute("#chart-backlog", "data-points")) >= 3);
          // Rates need two polls; the throughput chart has one point fewer than the others.
          await waitForChart(page, "chart-throughput", "data-points", { min: 2 }, WITHIN_POLL_MS);
          const config = (await getJson(base, `/circuit-breaker/${BREAKER}`)).config as Record<
            string,
            number
          >;
          assertEquals(config.failureRateThreshold, FAILURE_THRESHOLD);
          assertEquals(config.slowCallRateThreshold, SLOW_THRESHOLD);
          assertEquals(await page.getAttribute("#chart-failure", "data-threshold"), "40");
          assertEquals(await page.getAttribute("#chart-slow", "data-threshold"), "70");
          assertEquals(await page.getAttribute("#chart-state", "data-runs"), "CLOSED");
          assertEquals(await page.textContent("#now-state"), "CLOSED");
        },
      );

      await t.step("published payments show up as calls and events", async () => {
        // No call yet, so no failure rate to draw (the threshold line is drawn all the same).
        assertEquals(await page.getAttribute("#chart-failure", "data-points"), "0");
        for (let i = 0; i < 5; i++) {
          const r = await postPayment(svc.base, paymentEvent());
          assert(r.status === 201 || r.status === 202, `payment answered ${r.status}`);
        }
        await waitForNumber(page, "buffered", { min: 5 }, 10_000);
        // The minimum reached: the rate, its bar, and what it counts agree.
        await waitForText(page, "failure-threshold", "calls failed", WITHIN_POLL_MS);
        const foot = (await page.textContent("#failure-threshold")) ?? "";
        const [, failed, calls] = /^threshold 40\.0 % · (\d+) of (\d+) calls failed$/.exec(foot) ??
          [];
        assert(Number(calls) >= 5, foot);
        assertEquals(
          await page.textContent("#failure-rate"),
          `${(Math.round((1000 * Number(failed)) / Number(calls)) / 10).toFixed(1)} %`,
        );
        assertEquals(await page.isVisible("#rate-failure .bar"), true);
        await page.waitForSelector("#events .chip", { timeout: WITHIN_POLL_MS });
        // The accepted rate comes from /metrics counters between two polls.
        await waitForChart(page, "chart-throughput", "data-peak", { min: 0.5 }, WITHIN_POLL_MS);
        // Five calls reach the minimum number of calls: from then on a failure rate is drawn.
        await waitForChart(page, "chart-failure", "data-points", { min: 1 }, WITHIN_POLL_MS);
      });

      await t.step("without a token the page asks for one and sends nothing", async () => {
        await page.fill("#token", "");
        await page.click('button[data-target="FORCED_OPEN"]');
        assertMatch(
          await messageOf(page, "error", "Enter the admin token"),
          /Enter the admin token first/,
        );
        assertEquals(await page.getAttribute("#token", "aria-invalid"), "true");
        assertEquals(await apiState(svc.base), "CLOSED");
      });

      await t.step(
        "a wrong token shows 403, a malformed one 401; the state stays CLOSED",
        async () => {
          await page.fill("#token", "not-the-admin-token");
          await page.click('button[data-target="FORCED_OPEN"]');
          assertMatch(
            await messageOf(page, "error", "403"),
            /403 Forbidden: the admin token is not valid/,
          );
          await page.fill("#token", "two words");
          await page.click('button[data-target="FORCED_OPEN"]');
          await waitForText(page, "message", "401 Unauthorized", 5_000);
          assertEquals(await apiState(svc.base), "CLOSED");
          // One more poll round, then the page must still show CLOSED.
          await waitForNextPoll(page);
          assertEquals(await page.getAttribute(tile("CLOSED", true), "data-state"), "CLOSED");
          assertEquals(await page.locator(tile("FORCED_OPEN", true)).count(), 0);
        },
      );

      await t.step(
        "with the admin token, force open turns the FORCED_OPEN tile green",
        async () => {
          await page.fill("#token", ADMIN_TOKEN);
          await page.click('button[data-target="FORCED_OPEN"]');
          await page.waitForSelector(tile("FORCED_OPEN", true), { timeout: WITHIN_POLL_MS });
          assertEquals(await page.getAttribute(tile("CLOSED", false), "data-state"), "CLOSED");
          assertMatch(
            await messageOf(page, "ok", "FORCED_OPEN"),
            /kafka-publisher is now FORCED_OPEN/,
          );
          assertEquals(await apiState(svc.base), "FORCED_OPEN");
          // FORCED_OPEN records no window: no rate, and no call count asked for.
          assertEquals(await page.textContent("#failure-rate"), "not recorded");
          assertEquals(await page.textContent("#window-meta"), "no window in FORCED_OPEN");
          assertEquals(await page.isVisible("#rate-failure .bar"), false);
          await waitForText(page, "events", "CLOSED → FORCED_OPEN · operator page", WITHIN_POLL_MS);
          await waitForChart(
            page,
            "chart-state",
            "data-runs",
            { equals: "CLOSED,FORCED_OPEN" },
            WITHIN_POLL_MS,
          );
          assertEquals(await page.textContent("#now-state"), "FORCED_OPEN");
          // The token lives in this tab's session storage and nowhere else.
          assertEquals(
            await page.evaluate(`sessionStorage.getItem("payment-ingest.operator.adminToken")`),
            ADMIN_TOKEN,
          );
          assertEquals(await page.evaluate("localStorage.length"), 0);
        },
      );

      await t.step(
        "while forced open, new payments wait in the outbox and the page shows the backlog",
        async () => {
          for (let i = 0; i < 3; i++) {
            const r = await postPayment(svc.base, paymentEvent());
            assertEquals(r.status, 202);
            assertEquals(r.body.status, "PENDING");
          }
          await waitForNumber(page, "outbox-pending", { min: 3 }, 5_000);
          await waitForNumber(page, "not-permitted", { min: 3 }, WITHIN_POLL_MS);
          await waitForChart(page, "chart-backlog", "data-peak", { min: 3 }, WITHIN_POLL_MS);
          assert((await page.textContent("#outbox-oldest")) !== "none");
        },
      );

      await t.step(
        "a change made through the API appears by polling, with server text escaped",
        async () => {
          const hostile = `<img src=x onerror="window.__xss=1"> investigating`;
          const res = await fetch(`${svc.base}/circuit-breaker/${BREAKER}/state`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${ADMIN_TOKEN}`,
            },
            body: JSON.stringify({ state: "FORCED_HALF_OPEN", reason: hostile }),
          });
          assertEquals(res.status, 200);
          await res.body?.cancel();
          await page.waitForSelector(tile("FORCED_HALF_OPEN", true), { timeout: WITHIN_POLL_MS });
          await waitForText(page, "events", hostile, WITHIN_POLL_MS);
          assertEquals(await page.locator("#events img").count(), 0);
          assertEquals(await page.evaluate("typeof window.__xss"), "undefined");
        },
      );

      await t.step(
        "a 409 answer lists the allowed targets (answer stubbed in the browser)",
        async () => {
          // None of the page's five targets is illegal from any state the service can be in, so
          // the browser gets the service's 409 body shape from a stub instead.
          const pattern = `**/circuit-breaker/${BREAKER}/state`;
          await page.route(pattern, (route) =>
            route.fulfill({
              status: 409,
              contentType: "application/problem+json",
              body: JSON.stringify({
                title: "Illegal transition",
                status: 409,
                detail: "METRICS_ONLY -> OPEN is not a legal transition",
                from: "METRICS_ONLY",
                to: "OPEN",
                allowed: ["CLOSED", "DISABLED", "FORCED_OPEN", "FORCED_HALF_OPEN"],
              }),
            }));
          await page.click('button[data-target="DISABLED"]');
          const text = await messageOf(page, "error", "409");
          assertMatch(
            text,
            /409 Illegal transition: METRICS_ONLY -> OPEN is not a legal transition/,
          );
          assertMatch(
            text,
            /Allowed targets from METRICS_ONLY: CLOSED, DISABLED, FORCED_OPEN, FORCED_HALF_OPEN/,
          );
          await page.unroute(pattern);
          assertEquals(await apiState(svc.base), "FORCED_HALF_OPEN");
        },
      );

      await t.step(
        "close brings the CLOSED tile back and the backlog drains when this relay leads",
        async () => {
          await page.click('button[data-target="CLOSED"]');
          await page.waitForSelector(tile("CLOSED", true), { timeout: WITHIN_POLL_MS });
          assertMatch(
            await messageOf(page, "ok", "is now CLOSED"),
            /kafka-publisher is now CLOSED/,
          );
          assertEquals(await apiState(svc.base), "CLOSED");
          // The relay of this outbox (its own schema) leads and drains the backlog.
          await waitForNumber(page, "outbox-pending", { max: 0 }, 30_000);
          await waitForChart(
            page,
            "chart-state",
            "data-runs",
            { equals: "CLOSED,FORCED_OPEN,FORCED_HALF_OPEN,CLOSED" },
            WITHIN_POLL_MS,
          );
        },
      );

      await t.step(
        "OPEN after failed half-open trials: 100 % of the 2 trial calls, not 'needs 5 calls'",
        async () => {
          // A real breaker's snapshot in that state (Kafka down for the trials), served to the page.
          const clock = createTestClock(Date.now());
          const cb = new CircuitBreaker(BREAKER, {
            failureRateThreshold: FAILURE_THRESHOLD,
            slowCallRateThreshold: SLOW_THRESHOLD,
          }, { clock });
          const fail = () => cb.execute(() => Promise.reject(new Error("down"))).catch(() => {});
          for (let i = 0; i < 5; i++) await fail();
          clock.advance(30_000);
          for (let i = 0; i < 2; i++) await fail();
          const snapshot = JSON.stringify(cb.snapshot());
          cb.dispose();
          const pattern = `**/circuit-breaker/${BREAKER}`;
          await page.route(
            pattern,
            (route) =>
              route.fulfill({ status: 200, contentType: "application/json", body: snapshot }),
          );
          await page.waitForSelector(tile("OPEN", true), { timeout: WITHIN_POLL_MS });
          assertEquals(await page.textContent("#failure-rate"), "100.0 %");
          assertEquals(
            await page.textContent("#failure-threshold"),
            "threshold 40.0 % · 2 of 2 trial calls failed",
          );
          assertEquals(
            await page.textContent("#window-meta"),
            "window: the 2 trial calls before opening",
          );
          assertEquals(await page.textContent("#buffered"), "2 / 3");
          assertEquals(await page.isVisible("#rate-failure .bar"), true);
          await page.unroute(pattern);
          await page.waitForSelector(tile("CLOSED", true), { timeout: WITHIN_POLL_MS });
        },
      );

      await t.step("the page polls the breaker at most once a second", async () => {
        const starts = (await page.evaluate("globalThis.__snapshotPolls")) as number[];
        assert(starts.length >= 5, `only ${starts.length} polls seen`);
        const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
        // The page starts rounds at least 1000 ms apart; the recorder notes each round's first
        // fetch, a little after the round's start (its own sync work, now and then a GC pause:
        // CI once saw 985 ms). A page polling faster than once a second still fails.
        assert(Math.min(...gaps) >= 950, `polls ${Math.round(Math.min(...gaps))} ms apart`);
        const mean = (starts.at(-1)! - starts[0]!) / gaps.length;
        assert(mean >= 990, `polls ${Math.round(mean)} ms apart on average`);
      });

      await t.step("nothing left the service's origin and the page logged no errors", () => {
        assertEquals(foreign, []);
        assertEquals(pageErrors, []);
      });
    } finally {
      await browser.close().catch(() => {});
      await svc.stop();
    }
  },
});
