/** What describes the service to machines: Prometheus metrics and the OpenAPI document. */
import { Hono } from "hono";
import type { Metrics } from "../metrics/metrics.ts";
import { openApiDocument } from "./openapi.ts";

/** What `metaRoutes` needs. */
export interface MetaRoutesDeps {
  metrics: Pick<Metrics, "render" | "registry">;
}

/** GET /metrics and GET /openapi.json, to mount at `/`. */
export function metaRoutes(deps: MetaRoutesDeps): Hono {
  const { metrics } = deps;
  const app = new Hono();

  app.get("/metrics", async (c) => {
    return c.body(await metrics.render(), 200, {
      "content-type": metrics.registry.contentType,
    });
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  return app;
}
