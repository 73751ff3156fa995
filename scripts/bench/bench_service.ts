/**
 * The service as `deno task bench` runs it: src/main.ts with the baseline routes of
 * bench_routes.ts added, which the service itself never serves. Same environment, same start
 * line, same shutdown.
 */
import { runService } from "../../src/main.ts";
import { addBenchRoutes } from "./bench_routes.ts";

await runService({
  routes: (app, db, config) => addBenchRoutes(app, db, config.bodyLimitBytes),
});
