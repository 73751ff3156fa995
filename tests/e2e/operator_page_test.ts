/**
 * The operator page in a real headless Chromium against the real service (real Postgres, real
 * Kafka): live tiles, token handling, forced transitions, outbox backlog, escaping, poll rate.
 *
 * Needs Debian's `chromium` (apt-get install chromium) or CHROMIUM_PATH, Postgres and the local
 * Kafka (`deno task kafka start`). Run: deno test -A tests/e2e/
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  ADMIN_TOKEN,
  getJson,
  paymentEvent,
  postPayment,
  REAL_IO,
  startTestService,
} from "../integration/helpers.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const BREAKER = "kafka-publisher";
/** The page polls once a second; a change must show within one period plus request time. */
const WITHIN_POLL_MS = 2_500;
const DOCS = new URL("../../docs/", import.meta.url);

/** Wraps the page's fetch to note the start of every snapshot poll (performance.now()). */
const POLL_RECORDER = `(() => {
  const polls = (globalThis.__snapshotPolls = []);
  const fetch = globalThis.fetch;
  globalThis.fetch = function (input, init) {
    const path = new URL(String(input), location.href).pathname;
    if (path === "/circuit-breaker/${BREAKER}") polls.push(performance.now());
    return fetch.call(this, input, init);
  };
})();`;

const tile = (state: string, active: boolean) =>
  `.tile[data-state="${state}"][data-active="${active}"]`;

/** Launches headless Chromium the way CI can: no sandbox (root), no background traffic. */
function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-gpu",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

async function apiState(base: string): Promise<string> {
  return (await getJson(base, `/circuit-breaker/${BREAKER}`)).state as string;
}

/**
 * The DOM as far as the page-side predicates below need it (Deno's types have no DOM). The
 * predicates are functions, not strings: the page's CSP forbids eval, which string forms need.
 */
type PageGlobal = {
  document: {
    getElementById(id: string): { textContent: string | null; dataset: { kind?: string } } | null;
  };
};

/**
 * The status message once it is of `kind` and mentions `expected`: matching the text, not only
 * the kind, so an earlier message of the same kind cannot satisfy the wait.
 */
async function messageOf(page: Page, kind: "ok" | "error", expected: string): Promise<string> {
  await page.waitForFunction(
    ({ kind, expected }) => {
      const box = (globalThis as unknown as PageGlobal).document.getElementById("message");
      return box?.dataset.kind === kind && (box.textContent ?? "").includes(expected);
    },
    { kind, expected },
    { timeout: 5_000 },
  );
  return (await page.textContent("#message")) ?? "";
}

/** The number shown in a stats cell, once it satisfies `min <= n <= max` (bounded wait). */
async function waitForNumber(
  page: Page,
  id: string,
  range: { min?: number; max?: number },
  timeout: number,
): Promise<number> {
  await page.waitForFunction(
    ({ id, min, max }) => {
      const el = (globalThis as unknown as PageGlobal).document.getElementById(id);
      const n = parseFloat((el?.textContent ?? "").replaceAll(",", ""));
      return Number.isFinite(n) && n >= min && n <= max;
    },
    { id, min: range.min ?? -Infinity, max: range.max ?? Infinity },
    { timeout },
  );
  return parseFloat(((await page.textContent(`#${id}`)) ?? "").replaceAll(",", ""));
}

/** Waits until the element's text contains `text` (bounded wait). */
async function waitForText(page: Page, id: string, text: string, timeout: number): Promise<void> {
  await page.waitForFunction(
    ({ id, text }) =>
      ((globalThis as unknown as PageGlobal).document.getElementById(id)?.textContent ?? "")
        .includes(text),
    { id, text },
    { timeout },
  );
}

Deno.test({
  name: "operator page in headless Chromium shows the live breaker and drives forced transitions",
  ...REAL_IO,
  async fn(t) {
    const svc = await startTestService();
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
        assertEquals(await page.textContent("#failure-rate"), "not enough calls");
        assertMatch((await page.textContent("#failure-threshold")) ?? "", /threshold 50\.0 %/);
        await waitForNumber(page, "outbox-pending", { min: 0 }, WITHIN_POLL_MS);
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

      await t.step("published payments show up as calls and events", async () => {
        for (let i = 0; i < 5; i++) {
          const r = await postPayment(svc.base, paymentEvent());
          assert(r.status === 201 || r.status === 202, `payment answered ${r.status}`);
        }
        await waitForNumber(page, "buffered", { min: 5 }, 10_000);
        await page.waitForSelector("#events .chip", { timeout: WITHIN_POLL_MS });
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
          await page.waitForTimeout(1_200);
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
          await waitForText(page, "events", "CLOSED → FORCED_OPEN · operator page", WITHIN_POLL_MS);
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
          assert((await page.textContent("#outbox-oldest")) !== "none");
        },
      );

      await t.step("screenshots: desktop and phone", async () => {
        await Deno.mkdir(DOCS, { recursive: true });
        await page.waitForTimeout(1_100); // let the events table and ages settle on one poll
        await page.screenshot({
          path: new URL("operator-page.png", DOCS).pathname,
          fullPage: true,
        });

        const phone = await browser.newContext({
          viewport: { width: 390, height: 844 },
          deviceScaleFactor: 2,
          isMobile: true,
          hasTouch: true,
        });
        const mobile = await phone.newPage();
        mobile.on("pageerror", (e) => pageErrors.push(String(e)));
        await mobile.goto(`${base}/`);
        await mobile.waitForSelector(tile("FORCED_OPEN", true), { timeout: WITHIN_POLL_MS });
        await waitForNumber(mobile, "outbox-pending", { min: 3 }, WITHIN_POLL_MS);
        await mobile.waitForSelector("#events .chip", { timeout: WITHIN_POLL_MS });
        // Readable on a phone: nothing wider than the screen.
        assert(
          (await mobile.evaluate("document.documentElement.scrollWidth")) as number <= 390,
          "the page scrolls sideways on a 390 px screen",
        );
        await mobile.screenshot({
          path: new URL("operator-page-mobile.png", DOCS).pathname,
          fullPage: true,
        });
        await phone.close();
      });

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
        },
      );

      await t.step("the page polls the breaker at most once a second", async () => {
        const starts = (await page.evaluate("globalThis.__snapshotPolls")) as number[];
        assert(starts.length >= 5, `only ${starts.length} polls seen`);
        const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
        assert(Math.min(...gaps) >= 995, `polls ${Math.round(Math.min(...gaps))} ms apart`);
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
