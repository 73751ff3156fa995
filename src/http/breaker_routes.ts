/** Circuit breaker admin: read state and recent events; operators set the state (bearer token). */
import { Hono } from "hono";
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { IllegalTransitionError } from "../breaker/errors.ts";
import { BREAKER_EVENT_TYPES } from "../breaker/events.ts";
import { BREAKER_STATES, type BreakerState } from "../breaker/states.ts";
import type { Logger } from "../log.ts";
import { ADMIN_ENABLE_HINT, requireAdmin } from "./auth.ts";
import { HttpProblem } from "./problem.ts";
import { intParam, oneOfParam, readQuery } from "./query.ts";

/** What `breakerRoutes` needs. */
export interface BreakerRoutesDeps {
  breakers: readonly CircuitBreaker[];
  logger: Logger;
  /** Bearer token of POST .../state; null refuses every state change. */
  adminToken: string | null;
}

/** A validated body of POST /circuit-breaker/{name}/state. */
interface StateChange {
  state: BreakerState;
  reason: string | undefined;
  ttlSeconds: number | undefined;
}

/** The query of GET /circuit-breaker/{name}/events: one event type, and at most how many. */
export const EVENTS_QUERY = {
  type: oneOfParam(BREAKER_EVENT_TYPES).optional(),
  limit: intParam(1, 1000).optional(),
};

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
    const { type, limit } = readQuery(c, EVENTS_QUERY);
    return c.json({ name: b.name, events: b.recentEvents({ type, limit: limit ?? 100 }) });
  });

  app.post("/:name/state", requireAdmin(deps.adminToken), async (c) => {
    const b = breaker(c.req.param("name"));
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpProblem(
        400,
        "Malformed JSON",
        'send {"state": "FORCED_OPEN", "reason": "..."}',
      );
    }
    const { state, reason, ttlSeconds } = readStateChange(body);
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

/** Validates a state change body in the order the answers promise: state, reason, ttlSeconds. */
function readStateChange(body: Record<string, unknown>): StateChange {
  const state = typeof body?.state === "string" ? body.state.toUpperCase() : undefined;
  if (!state || !BREAKER_STATES.includes(state as BreakerState)) {
    throw new HttpProblem(
      422,
      "Invalid state",
      `state must be one of ${BREAKER_STATES.join(", ")}`,
      {
        extra: {
          errors: [{ field: "state", message: `unknown state ${JSON.stringify(body?.state)}` }],
        },
      },
    );
  }
  const reason = body.reason;
  if (reason !== undefined && (typeof reason !== "string" || reason.length > 500)) {
    throw new HttpProblem(
      422,
      "Invalid reason",
      "reason must be a string of at most 500 characters",
    );
  }
  const ttl = body.ttlSeconds;
  if (
    ttl !== undefined &&
    (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86400)
  ) {
    throw new HttpProblem(
      422,
      "Invalid ttlSeconds",
      `ttlSeconds must be an integer in [1, 604800], got ${JSON.stringify(ttl)}`,
    );
  }
  return {
    state: state as BreakerState,
    reason: reason as string | undefined,
    ttlSeconds: ttl as number | undefined,
  };
}
