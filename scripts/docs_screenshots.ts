/**
 * `deno task docs:screenshots [--out <dir>]`: regenerates the operator page's images that README
 * shows, docs/operator-page.png (1280 px) and docs/operator-page-mobile.png (390 px), from the
 * same scene the layout test checks (tests/e2e/page_scene.ts). Tests never write to docs/; run
 * this when the page's look changed. `--out` writes elsewhere, to look before replacing.
 *
 * Needs what the browser tests need: Chromium (or CHROMIUM_PATH), Postgres and the local Kafka
 * (`deno task kafka start`).
 */
import { parseArgs } from "@std/cli/parse-args";
import { getJson, startTestService, waitFor } from "../tests/integration/helpers.ts";
import { launchChromium } from "../tests/e2e/page_helpers.ts";
import { DOC_FILES, shoot, stageScene } from "../tests/e2e/page_scene.ts";

/** Samples of the service's chart history taken before the scene, so the charts show some. */
const SAMPLES_BEFORE = 5;

const args = parseArgs(Deno.args, { string: ["out"], boolean: ["help"], alias: { h: "help" } });
if (args.help) {
  console.log("usage: deno task docs:screenshots [--out <dir>]   (default: docs/)");
  Deno.exit(0);
}
const out = args.out ?? new URL("../docs/", import.meta.url).pathname;
await Deno.mkdir(out, { recursive: true });

const svc = await startTestService();
const browser = await launchChromium();
try {
  const samples = async () =>
    ((await getJson(svc.base, "/operator/history")).samples as unknown[]).length;
  await waitFor(async () => (await samples()) >= SAMPLES_BEFORE, 30_000);
  await stageScene(svc.base);
  for (const screen of ["desktop", "phone"] as const) {
    const path = `${out.replace(/\/$/, "")}/${DOC_FILES[screen]}`;
    const { context } = await shoot(browser, svc.base, screen, path);
    await context.close();
    console.log(`wrote ${path}`);
  }
} finally {
  await browser.close().catch(() => {});
  await svc.stop();
}
