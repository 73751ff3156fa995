/**
 * The operator page's layout on a phone (390 px) and a desktop (1280 px), checked in headless
 * Chromium: nothing wider than the screen, no tile, card, chart or button on another, no text cut,
 * charts within the screen with at least three time labels that do not touch. The screenshots go
 * to a temporary folder; `deno task docs:screenshots` is what rewrites docs/.
 *
 * Needs Chromium, Postgres and the local Kafka, as operator_page_test.ts. Run: deno task test:e2e
 */
import { assert, assertEquals } from "@std/assert";
import { REAL_IO, startTestService } from "../integration/helpers.ts";
import { layoutProblems } from "./layout_checks.ts";
import { launchChromium } from "./page_helpers.ts";
import { DOC_FILES, shoot, stageScene, VIEWPORTS } from "./page_scene.ts";

const DOCS = new URL("../../docs/", import.meta.url);

/** Size and modification time of each documentation image, to prove the test left them alone. */
async function docsStamp(): Promise<string[]> {
  return await Promise.all(
    Object.values(DOC_FILES).map(async (name) => {
      const info = await Deno.stat(new URL(name, DOCS)).catch(() => null);
      return `${name} ${info?.size} ${info?.mtime?.getTime()}`;
    }),
  );
}

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assertEquals([...bytes.subarray(0, 8)], signature, "not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

Deno.test({
  name:
    "operator page layout at 390 and 1280 px: fits, nothing overlaps or is cut, charts keep 3+ time labels",
  ...REAL_IO,
  async fn(t) {
    const docsBefore = await docsStamp();
    const dir = await Deno.makeTempDir({ prefix: "operator-page-shots-" });
    const svc = await startTestService();
    const browser = await launchChromium();
    const pageErrors: string[] = [];
    try {
      await stageScene(svc.base);
      for (const screen of ["phone", "desktop"] as const) {
        const { viewport, deviceScaleFactor } = VIEWPORTS[screen];
        await t.step(`${screen}, ${viewport.width} px wide`, async () => {
          const path = `${dir}/${DOC_FILES[screen]}`;
          const { context, page } = await shoot(browser, svc.base, screen, path);
          page.on("pageerror", (e) => pageErrors.push(String(e)));
          try {
            assertEquals(await layoutProblems(page), []);
            const png = pngSize(await Deno.readFile(path));
            assertEquals(png.width, viewport.width * deviceScaleFactor);
            assert(png.height > viewport.height, `a full page, not one screen: ${png.height} px`);
          } finally {
            await context.close();
          }
        });
      }
      assertEquals(pageErrors, []);
      assertEquals(await docsStamp(), docsBefore, "the test wrote to docs/");
    } finally {
      await browser.close().catch(() => {});
      await svc.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
