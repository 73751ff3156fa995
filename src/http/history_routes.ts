/** `GET /operator/history`: the chart history the service keeps, drawn by the operator page at once. */
import { Hono } from "hono";
import type { ChartHistory } from "../metrics/chart_history.ts";
import { HttpProblem } from "./problem.ts";

/** What `historyRoutes` needs. */
export interface HistoryRoutesDeps {
  /** The kept history; null (an app built without a sampler, in tests) answers 404. */
  history: Pick<ChartHistory, "view"> | null;
}

/** The history route, to mount at `/operator/history`. */
export function historyRoutes(deps: HistoryRoutesDeps): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    if (!deps.history) {
      throw new HttpProblem(404, "No chart history", "this instance keeps no chart history");
    }
    c.header("cache-control", "no-store");
    return c.json(deps.history.view());
  });
  return app;
}
