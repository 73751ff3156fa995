import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { BREAKER_STATES } from "../breaker/states.ts";
import { OPERATOR_PAGE_POLL_MS, operatorPageHtml } from "./operator_page.ts";

const html = operatorPageHtml();

function inlineScripts(page: string): string[] {
  return [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => {
    assertEquals(m[1]!.trim(), "", "scripts are inline, without attributes");
    return m[2]!;
  });
}

Deno.test("operator page is one complete HTML document with a viewport meta for phones", () => {
  assert(html.startsWith("<!doctype html>"));
  assertMatch(html, /<html lang="en">/);
  assertMatch(html, /<meta charset="utf-8">/);
  assertMatch(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert(html.trimEnd().endsWith("</html>"));
});

Deno.test("operator page loads nothing from the internet: no http(s) URL, no external asset", () => {
  assertEquals(html.match(/https?:\/\//gi), null);
  assertEquals(html.match(/\/\/[a-z0-9.-]+\.[a-z]{2,}\//gi), null, "no protocol-relative URLs");
  assertEquals(html.match(/<link\b(?![^>]*href="data:)[^>]*>/gi), null, "no linked stylesheets");
  assertEquals(html.match(/<(script|img|iframe)\b[^>]*\bsrc=/gi), null, "no src= assets");
  assertEquals(html.match(/@import|url\(/gi), null, "no CSS imports or url()");
  // The browser enforces it too: only same-origin fetches, inline code, no remote anything.
  assertMatch(html, /Content-Security-Policy" content="default-src 'none';[^"]*connect-src 'self'/);
});

Deno.test("operator page has exactly one inactive tile per breaker state, in order", () => {
  const tiles = [...html.matchAll(/<li class="tile" data-state="([A-Z_]+)" data-active="(\w+)"/g)];
  assertEquals(tiles.map((m) => m[1]), [...BREAKER_STATES]);
  assertEquals(tiles.length, 7);
  assert(tiles.every((m) => m[2] === "false"), "the first poll marks the active one");
});

Deno.test("operator page has the five operator transition buttons and a status message area", () => {
  const targets = [...html.matchAll(/<button [^>]*data-target="([A-Z_]+)"/g)].map((m) => m[1]);
  assertEquals(targets, ["FORCED_OPEN", "FORCED_HALF_OPEN", "DISABLED", "METRICS_ONLY", "CLOSED"]);
  assertMatch(html, /<input id="token" name="token" type="password"/);
  assertMatch(html, /id="message" role="status" aria-live="polite"/);
});

Deno.test("operator page script inserts server text with textContent only and keeps the token in sessionStorage", () => {
  const scripts = inlineScripts(html);
  assertEquals(scripts.length, 1);
  const js = scripts[0]!;
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]) {
    assert(!js.includes(sink), `script must not use ${sink}`);
  }
  assert(!js.includes("localStorage"), "the token is never persisted beyond the tab");
  assert(js.includes("sessionStorage.setItem(TOKEN_KEY"));
  assert(js.includes('authorization: "Bearer " + token'));
  assert(js.includes('reason: "operator page"'));
  // Syntax check without running it: a broken inline script would only show in a browser.
  new Function(js);
});

Deno.test("operator page polls the breaker, its events and the outbox no more than once a second", () => {
  assert(OPERATOR_PAGE_POLL_MS >= 1000);
  assertMatch(html, new RegExp(`data-poll-ms="${OPERATOR_PAGE_POLL_MS}"`));
  const js = inlineScripts(html)[0]!;
  assert(js.includes("Math.max(1000,"), "the script clamps the period to at least 1 s");
  assert(js.includes('"/events?limit=20"'));
  assert(js.includes('getJson("outbox")'));
});

Deno.test("operator page defaults to kafka-publisher and takes the breaker name as an option", () => {
  assertMatch(html, /<body data-breaker="kafka-publisher"/);
  assertMatch(html, /<code id="breaker-name">kafka-publisher<\/code>/);
  const other = operatorPageHtml({ breakerName: "ledger-writer" });
  assertMatch(other, /<body data-breaker="ledger-writer"/);
  assertMatch(other, /<title>ledger-writer · payment-ingest operator<\/title>/);
});

Deno.test("operator page escapes the breaker name everywhere it appears", () => {
  const page = operatorPageHtml({ breakerName: `x"><script>alert('1')</script>&` });
  assertEquals(inlineScripts(page).length, 1, "no injected script element");
  assert(!page.includes("<script>alert"));
  assertMatch(
    page,
    /data-breaker="x&quot;&gt;&lt;script&gt;alert\(&#39;1&#39;\)&lt;\/script&gt;&amp;"/,
  );
});

Deno.test("operator page refuses an empty breaker name", () => {
  assertThrows(() => operatorPageHtml({ breakerName: " " }), TypeError, "breakerName");
});
