/** Circuit breaker admin: read state and recent events; operators set the state (bearer token). */
import { Hono } from "hono";
import type { z } from "zod";
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { IllegalTransitionError } from "../breaker/errors.ts";
import { BREAKER_STATES } from "../breaker/states.ts";
import type { Logger } from "../log.ts";
import { ADMIN_ENABLE_HINT, requireAdmin } from "./auth.ts";
import { HttpProblem } from "./problem.ts";
import * as api from "./api_routes.ts";
import { readJson, readQuery } from "./input.ts";

/** What `breakerRoutes` needs. */
export interface BreakerRoutesDeps {
  breakers: readonly CircuitBreaker[];
  logger: Logger;
  /** Bearer token of POST .../state; null refuses every state change. */
  adminToken: string | null;
}

/** The breaker routes, to mount at `/circuit-breaker`. */
export function breakerRoutes(deps: BreakerRoutesDeps): Hono {
  const { breakers, logger } = deps;
  const app = new Hono();

  const breaker = (name: string): CircuitBreaker => {
    const b = breakers.find((x) => x.name === name);
    if (!b) {
      throw new HttpProblem(404, "Unknown circuit breaker", `no circuit breaker named "${name}"`, {
        extra: { known: breakers.map((x) => x.name) },
      });
    }
    return b;
  };

  // `admin` tells the operator page whether its transition buttons can work, and how to enable them.
  const admin = deps.adminToken === null
    ? { enabled: false, howToEnable: ADMIN_ENABLE_HINT }
    : { enabled: true };
  app.get("/", (c) => c.json({ circuitBreakers: breakers.map((b) => b.snapshot()), admin }));

  app.get("/:name", (c) => c.json(breaker(c.req.param("name")).snapshot()));

  app.get("/:name/events", (c) => {
    const b = breaker(c.req.param("name"));
    const { type, limit } = readQuery(c, api.breakerEvents.query);
    return c.json({ name: b.name, events: b.recentEvents({ type, limit: limit ?? 100 }) });
  });

  app.post("/:name/state", requireAdmin(deps.adminToken), async (c) => {
    const b = breaker(c.req.param("name"));
    const { state, reason, ttlSeconds } = await readJson(c, api.setBreakerState.body.schema, {
      malformed: 'send {"state": "FORCED_OPEN", "reason": "..."}',
      invalid: invalidStateChange,
    });
    const from = b.state;
    try {
      b.transitionTo(state, {
        reason,
        ttlMs: ttlSeconds === undefined ? undefined : ttlSeconds * 1000,
      });
    } catch (e) {
      if (e instanceof IllegalTransitionError) {
        throw new HttpProblem(409, "Illegal transition", e.message, {
          extra: { from: e.from, to: e.to, allowed: e.allowed },
        });
      }
      throw e;
    }
    logger.warn("circuit breaker state set by operator", {
      breaker: b.name,
      from,
      to: state,
      reason: reason ?? null,
      ttlSeconds: ttlSeconds ?? null,
    });
    return c.json(b.snapshot());
  });

  return app;
}

/** The problem of a refused state change, for its first bad field: state, reason, ttlSeconds. */
function invalidStateChange(error: z.ZodError, body: unknown): HttpProblem {
  const field = error.issues[0]?.path[0];
  const value = (name: string) =>
    body !== null && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  if (field === "reason") {
    return new HttpProblem(
      422,
      "Invalid reason",
      "reason must be a string of at most 500 characters",
    );
  }
  if (field === "ttlSeconds") {
    return new HttpProblem(
      422,
      "Invalid ttlSeconds",
      `ttlSeconds must be an integer in [1, 604800], got ${JSON.stringify(value("ttlSeconds"))}`,
    );
  }
  return new HttpProblem(
    422,
    "Invalid state",
    `state must be one of ${BREAKER_STATES.join(", ")}`,
    {
      extra: {
        errors: [{ field: "state", message: `unknown state ${JSON.stringify(value("state"))}` }],
      },
    },
  );
}
