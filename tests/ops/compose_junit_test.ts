import { assertEquals, assertMatch } from "@std/assert";
import { junitXml } from "../compose/junit.ts";

Deno.test("junitXml counts failures and escapes names and messages", () => {
  const xml = junitXml("compose", [
    { name: "a <b>", seconds: 1.5 },
    { name: "c", seconds: 2, error: 'lost "3" & more' },
  ]);
  assertMatch(xml, /<testsuite name="compose" tests="2" failures="1" time="3.500">/);
  assertMatch(xml, /name="a &lt;b&gt;" time="1.500"\/>/);
  assertMatch(xml, /<failure message="lost &quot;3&quot; &amp; more">/);
  assertEquals(xml.match(/<testcase /g)?.length, 2);
});
