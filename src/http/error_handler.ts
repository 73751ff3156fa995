/** The one HTTP error handler: every failure leaves as an `application/problem+json` answer. */
import type { ErrorHandler, NotFoundHandler } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import { HttpProblem, problemBody } from "./problem.ts";

/** Answers an HttpProblem as itself, anything else as a logged 500 that reveals nothing. */
export function problemHandler(logger: Logger): ErrorHandler {
  return (err, c) => {
    const p = err instanceof HttpProblem ? err : new HttpProblem(
      500,
      "Internal error",
      "the request could not be completed; nothing was acknowledged",
    );
    if (!(err instanceof HttpProblem)) {
      logger.error("unhandled error", { path: c.req.path, error: errorMessage(err) });
    }
    for (const [k, v] of Object.entries(p.headers)) c.header(k, v);
    return c.body(JSON.stringify(problemBody(p, c.req.path)), p.status as 400, {
      "content-type": "application/problem+json",
    });
  };
}

/** The methods routes answer on (a GET route answers HEAD too), in this order in `Allow`. */
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/**
 * Answers a request no route matched: 405 with `Allow` when its path has routes for other
 * methods, else 404; both as problems naming the method and path. `routes` is read on the first
 * unmatched request, once the app holds every route.
 */
export function unmatchedRoute(routes: () => readonly RouterRoute[]): NotFoundHandler {
  let router: TrieRouter<string> | null = null;
  const allowedOn = (path: string): string[] => {
    if (!router) {
      router = new TrieRouter<string>();
      // Middleware is registered for every method ("ALL"); only routes say what a path serves.
      for (const r of routes()) if (r.method !== "ALL") router.add("ALL", r.path, r.method);
    }
    const found = new Set(router.match("ALL", path)[0].map(([method]) => method));
    if (found.has("GET")) found.add("HEAD");
    return METHODS.filter((m) => found.has(m));
  };
  return (c) => {
    const allowed = allowedOn(c.req.path);
    const p = allowed.length > 0
      ? new HttpProblem(
        405,
        "Method not allowed",
        `${c.req.path} answers ${allowed.join(", ")}, not ${c.req.method}`,
        { extra: { allowed }, headers: { Allow: allowed.join(", ") } },
      )
      : new HttpProblem(404, "Not found", `no route for ${c.req.method} ${c.req.path}`);
    for (const [k, v] of Object.entries(p.headers)) c.header(k, v);
    return c.body(JSON.stringify(problemBody(p, c.req.path)), p.status as 404, {
      "content-type": "application/problem+json",
    });
  };
}
