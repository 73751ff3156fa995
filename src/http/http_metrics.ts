/** Request metrics: one observation per request, labelled by route template. */
import type { MiddlewareHandler } from "hono";
import type { Metrics } from "../metrics/metrics.ts";

/** Observes method, route, status and duration of every request that passes through. */
export function httpMetrics(metrics: Pick<Metrics, "observeHttp">): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    // The template ("/payments/:eventId"), not the path, keeps the label set bounded; "/*" is
    // this middleware itself, so no route matched.
    const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
    metrics.observeHttp(c.req.method, route, c.res.status, (performance.now() - start) / 1000);
  };
}
