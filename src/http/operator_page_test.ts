import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { BREAKER_STATES } from "../breaker/states.ts";
import { OPERATOR_PAGE_POLL_MS, operatorPageHtml } from "./operator_page.ts";

const html = operatorPageHtml({ assets: "page/v1" });

Deno.test("operator page is one complete HTML document with a viewport meta for phones", () => {
  assert(html.startsWith("<!doctype html>"));
  assertMatch(html, /<html lang="en">/);
  assertMatch(html, /<meta charset="utf-8">/);
  assertMatch(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert(html.trimEnd().endsWith("</html>"));
});

Deno.test("operator page fills every placeholder", () => {
  assertEquals(html.match(/\{\{|\}\}/g), null);
});

Deno.test("operator page loads only its own files, by relative URL, and no inline code", () => {
  assertEquals(html.match(/https?:\/\//gi), null);
  assertEquals(html.match(/\/\/[a-z0-9.-]+\.[a-z]{2,}\//gi), null, "no protocol-relative URLs");
  const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  const own = urls.filter((u) => u.startsWith("page/v1/"));
  assert(own.some((u) => u.endsWith(".js")) && own.some((u) => u.endsWith(".css")));
  for (const u of urls) {
    assert(
      u.startsWith("page/v1/") || u === "data:," || /^[a-z.]+$/.test(u),
      `unexpected URL ${u}`,
    );
  }
  assertEquals(html.match(/<script\b(?![^>]*\bsrc=)[^>]*>/gi), null, "no inline scripts");
  assertEquals(html.match(/<style\b|\sstyle=|\son[a-z]+=/gi), null, "no inline styles or handlers");
  // The browser enforces it too: same-origin files and fetches only, nothing inline.
  assertMatch(
    html,
    /Content-Security-Policy"\s+content="default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self';/,
  );
});

Deno.test("operator page has exactly one inactive tile per breaker state, in order", () => {
  const tiles = [
    ...html.matchAll(/<li\s+class="tile"\s+data-state="([A-Z_]+)"\s+data-active="(\w+)"/g),
  ];
  assertEquals(tiles.map((m) => m[1]), [...BREAKER_STATES]);
  assert(tiles.every((m) => m[2] === "false"), "the first poll marks the active one");
  // A long name may break only after an underscore (<wbr>), never inside a word.
  const names = [...html.matchAll(/<span class="tile-name">((?:[A-Z]|_(?:<wbr>)?)+)<\/span>/g)]
    .map((m) => m[1]!.replaceAll("<wbr>", ""));
  assertEquals(names, [...BREAKER_STATES]);
});

Deno.test("operator page has the five operator transition buttons and a status message area", () => {
  const targets = [...html.matchAll(/<button [^>]*data-target="([A-Z_]+)"/g)].map((m) => m[1]);
  assertEquals(targets, ["FORCED_OPEN", "FORCED_HALF_OPEN", "DISABLED", "METRICS_ONLY", "CLOSED"]);
  assert(targets.every((t) => BREAKER_STATES.includes(t as never)));
  assertMatch(html, /<input\s+id="token"\s+name="token"\s+type="password"/);
  assertMatch(html, /id="message"\s+role="status"\s+aria-live="polite"/);
});

Deno.test("operator page tells the script its poll period, at least a second", () => {
  assert(OPERATOR_PAGE_POLL_MS >= 1000);
  assertMatch(html, new RegExp(`data-poll-ms="${OPERATOR_PAGE_POLL_MS}"`));
  assertMatch(html, new RegExp(`Refreshes every ${OPERATOR_PAGE_POLL_MS / 1000} s while visible`));
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
  assert(!page.includes("<script>alert"));
  assertEquals(page.match(/<script\b/g)?.length, html.match(/<script\b/g)?.length);
  const escaped = "x&quot;&gt;&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;";
  assert(page.includes(`data-breaker="${escaped}"`));
  assert(page.includes(`<title>${escaped} · payment-ingest operator</title>`));
  assert(page.includes(`<code id="breaker-name">${escaped}</code>`));
});

Deno.test("operator page refuses an empty breaker name and an asset path that climbs", () => {
  assertThrows(() => operatorPageHtml({ breakerName: " " }), TypeError, "breakerName");
  assertThrows(() => operatorPageHtml({ assets: "../x" }), TypeError, "assets");
  assertThrows(() => operatorPageHtml({ assets: "/abs" }), TypeError, "assets");
  assertThrows(() => operatorPageHtml({ assets: 'a"b' }), TypeError, "assets");
});
