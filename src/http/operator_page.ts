/**
 * The operator page's HTML: `page/index.html` with its placeholders filled once, when the routes
 * are created. The file comes in through the module graph (a text import), so it is found from
 * any working directory and inside the image, and `deno cache` fetches nothing at run time.
 */
import template from "./page/index.html" with { type: "text" };
import { CHART_SAMPLE_INTERVAL_MS } from "../metrics/chart_history.ts";
import { PUBLISH_BREAKER } from "../kafka/publisher.ts";

/** Options of the operator page. */
export interface OperatorPageOptions {
  /** The breaker shown and controlled by the page; defaults to the publish breaker. */
  breakerName?: string;
}

/** The page's polling period; the API asks for at most one refresh per second. */
export const OPERATOR_PAGE_POLL_MS = 1_000;

/** The breaker the page shows unless told otherwise. */
export const DEFAULT_OPERATOR_PAGE_BREAKER = PUBLISH_BREAKER;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/** `deno fmt` writes `{{ name }}` in text and `{{name}}` in attributes; both are placeholders. */
const PLACEHOLDER = /\{\{\s*([a-zA-Z]+)\s*\}\}/g;

/**
 * Renders the operator page for one breaker; `assets` is the path, relative to the page, that
 * serves the files of `page/` (`page_routes.ts` versions it).
 */
export function operatorPageHtml(opts: OperatorPageOptions & { assets?: string } = {}): string {
  const name = opts.breakerName ?? DEFAULT_OPERATOR_PAGE_BREAKER;
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(`breakerName must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  const assets = opts.assets ?? "page";
  if (!/^[a-z0-9][a-z0-9/._-]*$/i.test(assets) || assets.includes("..")) {
    throw new TypeError(`assets must be a plain relative path, got ${JSON.stringify(assets)}`);
  }
  const values: Readonly<Record<string, string>> = {
    breaker: escapeHtml(name),
    assets,
    pollMs: String(OPERATOR_PAGE_POLL_MS),
    pollSeconds: String(OPERATOR_PAGE_POLL_MS / 1000),
    sampleSeconds: String(CHART_SAMPLE_INTERVAL_MS / 1000),
  };
  return template.replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new TypeError(`page/index.html: unknown placeholder ${key}`);
    return value;
  });
}
