/** The operator page at `/`. */
import { Hono } from "hono";
import { operatorPageHtml } from "./operator_page.ts";

/** GET /, the operator page; mount at `/`. */
export function pageRoutes(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(operatorPageHtml()));
  return app;
}
