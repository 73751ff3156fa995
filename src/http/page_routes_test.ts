import { assert, assertEquals, assertMatch } from "@std/assert";
import { pageRoutes } from "./page_routes.ts";

const app = pageRoutes();

/** The asset URLs the page itself names, as absolute paths. */
async function assetPaths(): Promise<string[]> {
  const html = await (await app.request("/")).text();
  return [...html.matchAll(/\b(?:src|href)="(page\/[^"]+)"/g)].map((m) => `/${m[1]}`);
}

Deno.test("GET / answers the page as UTF-8 HTML that is revalidated on every visit", async () => {
  const res = await app.request("/");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(res.headers.get("cache-control"), "no-cache");
  assertMatch(res.headers.get("etag") ?? "", /^"[0-9a-f]{32}"$/);
  assertEquals(res.headers.get("x-content-type-options"), "nosniff");
  assertMatch(await res.text(), /^<!doctype html>/);
});

Deno.test("GET / answers 304 without a body when the browser's copy is current", async () => {
  const etag = (await app.request("/")).headers.get("etag")!;
  const res = await app.request("/", { headers: { "if-none-match": `"other", ${etag}` } });
  assertEquals(res.status, 304);
  assertEquals(await res.text(), "");
  assertEquals(res.headers.get("etag"), etag);
  assertEquals((await app.request("/", { headers: { "if-none-match": '"x"' } })).status, 200);
});

Deno.test("every asset the page names is served with its content type, immutable", async () => {
  const paths = await assetPaths();
  assert(paths.length >= 4, `only ${paths.length} assets named`);
  const version = paths[0]!.split("/")[2]!;
  assertMatch(version, /^[0-9a-f]{12}$/);
  for (const path of paths) {
    assertEquals(path.split("/")[2], version, "one version for every asset");
    const res = await app.request(path);
    assertEquals(res.status, 200, path);
    const type = path.endsWith(".js")
      ? "text/javascript; charset=utf-8"
      : "text/css; charset=utf-8";
    assertEquals(res.headers.get("content-type"), type, path);
    assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable", path);
    assertMatch(res.headers.get("etag") ?? "", /^"[0-9a-f]{32}"$/);
    assert((await res.text()).length > 0, path);
  }
});

Deno.test("the page's modules import only modules the routes serve", async () => {
  const paths = await assetPaths();
  const base = paths.find((p) => p.endsWith("/page.js"))!;
  const seen = new Set<string>();
  const queue = [base];
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const res = await app.request(path);
    assertEquals(res.status, 200, `${path} is imported but not served`);
    const js = await res.text();
    for (const m of js.matchAll(/^import .* from "(\.\/[^"]+)";$/gm)) {
      queue.push(new URL(m[1]!, `http://x${path}`).pathname);
    }
  }
  assert(seen.size >= 5, `only ${seen.size} modules reached`);
});

Deno.test("an asset asked for under another version is served but not cached", async () => {
  const path = (await assetPaths()).find((p) => p.endsWith("/page.js"))!;
  const stale = path.replace(/\/page\/[0-9a-f]{12}\//, "/page/000000000000/");
  const res = await app.request(stale);
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("cache-control"), "no-cache");
  assertEquals(await res.text(), await (await app.request(path)).text());
});

Deno.test("unknown assets are 404 and no path reaches a file outside the table", async () => {
  const version = (await assetPaths())[0]!.split("/")[2]!;
  for (
    const path of [
      `/page/${version}/nope.js`,
      `/page/${version}/page.ts`,
      `/page/${version}/index.html`,
      `/page/${version}/../deno.json`,
      `/page/${version}/%2e%2e/%2e%2e/%2e%2e/deno.json`,
      `/page/${version}/..%2f..%2f..%2fdeno.json`,
      "/page/../deno.json",
      "/page/%2e%2e/deno.json",
      "/page/..%2fdeno.json",
      "/page/page.js",
      "/deno.json",
      "/page/",
    ]
  ) {
    const res = await app.request(path);
    assertEquals(res.status, 404, path);
    const text = await res.text();
    assert(!text.includes('"compilerOptions"'), `${path} served deno.json`);
  }
});

Deno.test("the breaker name option reaches the page", async () => {
  const html = await (await pageRoutes({ breakerName: "ledger-writer" }).request("/")).text();
  assertMatch(html, /<body data-breaker="ledger-writer"/);
});
