/**
 * Browser-side helpers of the operator page's Chromium test: launching Chromium, recording the
 * page's polls, and bounded waits on what the page shows.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { getJson } from "../integration/helpers.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
/** The breaker the page shows. */
import { PUBLISH_BREAKER } from "../../src/kafka/publisher.ts";

/** The breaker under test: the service's publish breaker. */
export const BREAKER = PUBLISH_BREAKER;

/** Wraps the page's fetch to note the start of every snapshot poll (performance.now()). */
export const POLL_RECORDER = `(() => {
  const polls = (globalThis.__snapshotPolls = []);
  const fetch = globalThis.fetch;
  globalThis.fetch = function (input, init) {
    const path = new URL(String(input), location.href).pathname;
    if (path === "/circuit-breaker/${BREAKER}") polls.push(performance.now());
    return fetch.call(this, input, init);
  };
})();`;

/** The selector of a state tile that is (or is not) the active one. */
export const tile = (state: string, active: boolean) =>
  `.tile[data-state="${state}"][data-active="${active}"]`;

/** Launches headless Chromium the way CI can: no sandbox (root), no background traffic. */
export function launchChromium(): Promise<Browser> {
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

/** The breaker state the API reports. */
export async function apiState(base: string): Promise<string> {
  return (await getJson(base, `/circuit-breaker/${BREAKER}`)).state as string;
}

/**
 * The DOM as far as the page-side predicates below need it (Deno's types have no DOM). The
 * predicates are functions, not strings: the page's CSP forbids eval, which string forms need.
 */
type PageGlobal = {
  document: {
    getElementById(id: string): {
      textContent: string | null;
      dataset: { kind?: string };
      getAttribute(name: string): string | null;
    } | null;
  };
};

/**
 * The status message once it is of `kind` and mentions `expected`: matching the text, not only
 * the kind, so an earlier message of the same kind cannot satisfy the wait.
 */
export async function messageOf(
  page: Page,
  kind: "ok" | "error",
  expected: string,
): Promise<string> {
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
export async function waitForNumber(
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
export async function waitForText(
  page: Page,
  id: string,
  text: string,
  timeout: number,
): Promise<void> {
  await page.waitForFunction(
    ({ id, text }) =>
      ((globalThis as unknown as PageGlobal).document.getElementById(id)?.textContent ?? "")
        .includes(text),
    { id, text },
    { timeout },
  );
}

/**
 * A chart's data attribute once it passes: `min` for numbers (points, peak), `equals` for text
 * (the runs of the state timeline). Returns the attribute's final value.
 */
export async function waitForChart(
  page: Page,
  id: string,
  attr: string,
  want: { min?: number; equals?: string },
  timeout: number,
): Promise<string> {
  await page.waitForFunction(
    ({ id, attr, min, equals }) => {
      const el = (globalThis as unknown as PageGlobal).document.getElementById(id);
      const v = el?.getAttribute(attr) ?? "";
      return equals !== null ? v === equals : v !== "" && Number(v) >= min;
    },
    { id, attr, min: want.min ?? -Infinity, equals: want.equals ?? null },
    { timeout },
  ).catch(async (e) => {
    const v = await page.getAttribute(`#${id}`, attr);
    throw new Error(`#${id} ${attr}="${v}", wanted ${JSON.stringify(want)}: ${e}`);
  });
  return (await page.getAttribute(`#${id}`, attr)) ?? "";
}

/** Waits until the page finished one more poll round (its "updated" time changed). */
export async function waitForNextPoll(page: Page, timeout = 5_000): Promise<void> {
  const before = await page.textContent("#updated");
  await page.waitForFunction(
    (before) =>
      (globalThis as unknown as PageGlobal).document.getElementById("updated")?.textContent !==
        before,
    before,
    { timeout },
  );
}
