/**
 * Serves the operator page at `GET /` and the files it loads under `/page/<version>/`.
 *
 * Caching: the HTML is `no-cache` with an ETag, so every visit revalidates (a 304 costs nothing)
 * and a deploy shows at once. The assets sit under a version that is a hash of all of them, so
 * the browser may keep them for a year without asking (`immutable`): new bytes mean a new URL in
 * the HTML. A request naming another version (an old page, or a page from another instance of a
 * rolling deploy) gets today's bytes with `no-cache`, so nothing is cached forever under a URL
 * whose content it does not match.
 *
 * The files, uPlot's included, are text imports: part of the module graph, found relative to
 * this module from any working directory and inside the image, read once when the process loads;
 * only names in the table below are served, so no request can reach another file.
 */
import { createHash } from "node:crypto";
import { type Context, Hono } from "hono";
import {
  DEFAULT_OPERATOR_PAGE_BREAKER,
  operatorPageHtml,
  type OperatorPageOptions,
} from "./operator_page.ts";
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import actionsJs from "./page/actions.js" with { type: "text" };
import chartsCss from "./page/charts.css" with { type: "text" };
import chartsJs from "./page/charts.js" with { type: "text" };
import domJs from "./page/dom.js" with { type: "text" };
import eventsCss from "./page/events.css" with { type: "text" };
import eventsTableJs from "./page/events_table.js" with { type: "text" };
import formatJs from "./page/format.js" with { type: "text" };
import historyJs from "./page/history.js" with { type: "text" };
import layoutCss from "./page/layout.css" with { type: "text" };
import pageJs from "./page/page.js" with { type: "text" };
import panelsCss from "./page/panels.css" with { type: "text" };
import rateTextJs from "./page/rate_text.js" with { type: "text" };
import renderJs from "./page/render.js" with { type: "text" };
import settlementCss from "./page/settlement.css" with { type: "text" };
import settlementPanelJs from "./page/settlement_panel.js" with { type: "text" };

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const HTML = "text/html; charset=utf-8";

/** What the page loads, by its path under `/page/<version>/`. */
const ASSETS: Readonly<Record<string, { body: string; type: string }>> = {
  "layout.css": { body: layoutCss, type: CSS },
  "panels.css": { body: panelsCss, type: CSS },
  "events.css": { body: eventsCss, type: CSS },
  "charts.css": { body: chartsCss, type: CSS },
  "settlement.css": { body: settlementCss, type: CSS },
  "page.js": { body: pageJs, type: JS },
  "actions.js": { body: actionsJs, type: JS },
  "dom.js": { body: domJs, type: JS },
  "events_table.js": { body: eventsTableJs, type: JS },
  "format.js": { body: formatJs, type: JS },
  "render.js": { body: renderJs, type: JS },
  "rate_text.js": { body: rateTextJs, type: JS },
  "charts.js": { body: chartsJs, type: JS },
  "history.js": { body: historyJs, type: JS },
  "settlement_panel.js": { body: settlementPanelJs, type: JS },
  // uPlot 1.6.32 (MIT), pinned by deno.json and deno.lock: its release files from the npm package.
  "vendor/uplot.js": { body: uplotJs, type: JS },
  "vendor/uplot.css": { body: uplotCss, type: CSS },
};

/** Browsers may keep a versioned asset for a year; it never changes under its URL. */
const IMMUTABLE = "public, max-age=31536000, immutable";

function sha256Hex(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

/** True when the request's If-None-Match names this entity tag (or `*`). */
function fresh(c: Context, etag: string): boolean {
  const header = c.req.header("if-none-match");
  if (!header) return false;
  return header.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag === etag || tag === `W/${etag}`;
  });
}

/** A 200 with the body, or a 304 when the browser's copy is current. */
function serve(c: Context, body: string, headers: Record<string, string>): Response {
  const common = { "x-content-type-options": "nosniff", ...headers };
  if (fresh(c, headers.etag!)) return c.body(null, 304, common);
  return c.body(body, 200, common);
}

/** The operator page's routes: `GET /` and `GET /page/<version>/<asset>`. */
export function pageRoutes(opts: OperatorPageOptions = {}): Hono {
  const names = Object.keys(ASSETS).sort();
  const version = sha256Hex(...names.flatMap((n) => [n, ASSETS[n]!.body])).slice(0, 12);
  const html = operatorPageHtml({
    breakerName: opts.breakerName ?? DEFAULT_OPERATOR_PAGE_BREAKER,
    assets: `page/${version}`,
  });
  const htmlTag = `"${sha256Hex(html).slice(0, 32)}"`;
  const app = new Hono();

  app.get(
    "/",
    (c) => serve(c, html, { "content-type": HTML, "cache-control": "no-cache", etag: htmlTag }),
  );

  for (const name of names) {
    const asset = ASSETS[name]!;
    const etag = `"${sha256Hex(asset.body).slice(0, 32)}"`;
    app.get(`/page/:version/${name}`, (c) =>
      serve(c, asset.body, {
        "content-type": asset.type,
        "cache-control": c.req.param("version") === version ? IMMUTABLE : "no-cache",
        etag,
      }));
  }
  return app;
}
