/**
 * Today's settlement figures for the operator page, read from the settlement process
 * (SETTLEMENT_URL): the page may only call its own origin (its CSP says `connect-src 'self'`), and
 * the settlement process is another one.
 */
import { Hono } from "hono";
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import { HttpProblem } from "./problem.ts";

/** Default of `SettlementRoutesDeps.timeoutMs`: the page polls every second, so fail fast. */
export const SETTLEMENT_TIMEOUT_MS = 2_000;

/** What `settlementRoutes` needs. */
export interface SettlementRoutesDeps {
  /** Base URL of the settlement process, without a trailing slash; null: not configured (404). */
  settlementUrl: string | null;
  logger: Logger;
  /** Retry-After, in seconds, of a 503. */
  retryAfter: string;
  /** Longest wait for the settlement process's whole answer, body included. */
  timeoutMs?: number;
}

/** The settlement routes, to mount at `/settlement`. */
export function settlementRoutes(deps: SettlementRoutesDeps): Hono {
  const { settlementUrl, logger, retryAfter } = deps;
  const timeoutMs = deps.timeoutMs ?? SETTLEMENT_TIMEOUT_MS;
  const app = new Hono();
  // Each open page asks every second: log when the settlement process goes away and comes back,
  // not on every request in between.
  let failing = false;
  const failed = (problem: HttpProblem, error: string): never => {
    if (!failing) {
      logger.warn("settlement summary unavailable", { url: settlementUrl, error });
    }
    failing = true;
    throw problem;
  };

  app.get("/summary", async (c) => {
    if (settlementUrl === null) {
      throw new HttpProblem(
        404,
        "Settlement not configured",
        "settlement not configured; set SETTLEMENT_URL",
      );
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${settlementUrl}/settlements/summary`, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const timedOut = e instanceof DOMException && e.name === "TimeoutError";
      return failed(
        new HttpProblem(
          503,
          "Settlement unavailable",
          timedOut
            ? `the settlement process did not answer within ${timeoutMs / 1000} s`
            : "the settlement process could not be reached",
          { headers: { "Retry-After": retryAfter } },
        ),
        timedOut ? "timeout" : errorMessage(e),
      );
    }
    if (!res.ok) {
      return failed(
        new HttpProblem(
          502,
          "Settlement error",
          `the settlement process answered ${res.status}: ${upstreamDetail(text)}`,
        ),
        `status ${res.status}`,
      );
    }
    const summary = parseSummary(text);
    if (summary === null) {
      return failed(
        new HttpProblem(502, "Settlement error", "the settlement process answered no summary"),
        "not a summary",
      );
    }
    if (failing) logger.info("settlement summary available again", { url: settlementUrl });
    failing = false;
    return c.json(summary, 200, { "cache-control": "no-store" });
  });

  return app;
}

/** The JSON object of a summary (it has a `statements` array), or null for anything else. */
function parseSummary(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && Array.isArray(v.statements) ? v : null;
  } catch {
    return null;
  }
}

/** The `detail` of a problem answer, else the start of the body. */
function upstreamDetail(text: string): string {
  try {
    const detail = JSON.parse(text)?.detail;
    if (typeof detail === "string") return detail;
  } catch {
    // not JSON: show its start
  }
  return text.slice(0, 200) || "(empty body)";
}
