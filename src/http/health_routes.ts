/** Liveness and readiness for orchestrators. */
import { Hono } from "hono";
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import type { Db } from "../outbox/db.ts";
import { migrationsApplied } from "../outbox/migrations.ts";

/** What `healthRoutes` needs. */
export interface HealthRoutesDeps {
  db: Db;
  breakers: readonly CircuitBreaker[];
  logger: Logger;
  /** True once a graceful shutdown began: readiness answers 503 so balancers stop sending. */
  draining?: () => boolean;
}

/** The health routes, to mount at `/health`. */
export function healthRoutes(deps: HealthRoutesDeps): Hono {
  const { db, breakers, logger } = deps;
  const app = new Hono();

  app.get("/live", (c) => c.json({ status: "UP" }));

  app.get("/ready", async (c) => {
    let postgres = "UP";
    let migrations = "UP";
    try {
      if (!await migrationsApplied(db)) migrations = "DOWN";
    } catch (e) {
      postgres = "DOWN";
      migrations = "UNKNOWN";
      logger.warn("readiness: postgres unreachable", { error: errorMessage(e) });
    }
    const draining = deps.draining?.() ?? false;
    const ok = postgres === "UP" && migrations === "UP" && !draining;
    return c.json({
      status: ok ? "UP" : "DOWN",
      checks: {
        ...(draining ? { shutdown: "DRAINING" } : {}),
        postgres,
        migrations,
        // Kafka is reported, never fatal: the outbox keeps accepting while it is down.
        kafka: Object.fromEntries(breakers.map((b) => [b.name, b.state])),
      },
    }, ok ? 200 : 503);
  });

  return app;
}
