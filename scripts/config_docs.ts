/**
 * `deno task docs:config [--check]`: rewrites README.md's configuration tables (between their
 * `<!-- config:NAME:start ... -->` and `<!-- config:NAME:end -->` markers) from the settings
 * tables in src/settings/. `--check` writes nothing and exits 1 when the README is stale.
 */
import { parseArgs } from "@std/cli/parse-args";
import { withConfigTables } from "../src/settings/docs.ts";

const args = parseArgs(Deno.args, { boolean: ["check", "help"], alias: { h: "help" } });
if (args.help) {
  console.log("usage: deno task docs:config [--check]");
  Deno.exit(0);
}
const path = new URL("../README.md", import.meta.url).pathname;
const readme = await Deno.readTextFile(path);
const wanted = withConfigTables(readme);
if (wanted === readme) {
  console.log("README.md: the configuration tables are up to date");
} else if (args.check) {
  console.error("README.md: the configuration tables are stale; run deno task docs:config");
  Deno.exit(1);
} else {
  await Deno.writeTextFile(path, wanted);
  console.log("README.md: configuration tables rewritten from src/settings/");
}
