import { assertEquals, assertMatch } from "@std/assert";
import { pageRoutes } from "./page_routes.ts";
import { mounted } from "./test_fakes.ts";

Deno.test("page routes: GET / serves the operator page as HTML", async () => {
  const res = await mounted("/", pageRoutes()).request("/");
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type") ?? "", /^text\/html/);
  assertMatch(await res.text(), /<html/i);
});
