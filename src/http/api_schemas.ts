/**
 * The zod schemas of the HTTP API that are not the payment event itself: path parameters, admin
 * bodies, and what the routes answer. The route table (api_routes.ts) names them per route; the
 * routes read their input through them and openapi.ts turns them into the document.
 */
import { z } from "zod";
import { BREAKER_EVENT_TYPES } from "../breaker/events.ts";
import { BREAKER_STATES } from "../breaker/states.ts";
import { intParam, oneOfParam } from "./input.ts";
import { paymentEventSchema } from "./payment_schema.ts";

/** An event id as the API accepts it (any case; stored lower case). */
export const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const eventId = z.string().regex(EVENT_ID, "must be a UUID").meta({
  format: "uuid",
  pattern: EVENT_ID.source.replaceAll("0-9a-f", "0-9a-fA-F"),
});
const dateTime = z.iso.datetime({ offset: true });
const epochMs = z.int().meta({ description: "Epoch ms" });

/** GET /payments/{eventId}. */
export const EVENT_ID_PARAMS = { eventId };
/** The routes under /circuit-breaker/{name}. */
export const BREAKER_NAME_PARAMS = { name: z.string() };

/** The query of GET /circuit-breaker/{name}/events: one event type, and at most how many. */
export const EVENTS_QUERY = {
  type: oneOfParam(BREAKER_EVENT_TYPES).optional().meta({
    description: "One event type (any case)",
  }),
  limit: intParam(1, 1000).optional().meta({ default: 100 }),
};

/** The body of POST /circuit-breaker/{name}/state, checked in this order. */
export const stateChangeSchema = z.object({
  state: oneOfParam(BREAKER_STATES).meta({ description: "Any case", enum: [...BREAKER_STATES] }),
  reason: z.string().max(500).optional(),
  ttlSeconds: z.int().min(1).max(7 * 86400).optional(),
});

/** The body of POST /outbox/dead-lettered/retry (optional: no body retries them all). */
export const retryBodySchema = z.object({ eventIds: z.array(eventId).optional() });

/** The range of POST /outbox/reconcile, as query parameters or the same names in the body. */
const timeArg = z.string().meta({ description: "ISO 8601 time or a duration like 15m, 1h, 2d" });
export const RECONCILE_QUERY = { since: timeArg.optional(), until: timeArg.optional() };
export const reconcileBodySchema = z.object({
  since: z.unknown().optional().meta({ type: "string" }),
  until: z.unknown().optional().meta({ type: "string" }),
}).nullable();

/** Every error answer (RFC 9457), with the extension members some carry. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  instance: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
}).meta({ id: "Problem" });

/** What POST /payments answers on success. */
export const acceptedSchema = z.object({
  eventId,
  status: z.enum(["PUBLISHED", "PENDING", "DEAD_LETTERED"]),
  acceptedAt: dateTime,
  publishedAt: dateTime.nullable().optional(),
  detail: z.string().optional(),
  replay: z.boolean().optional(),
});

/** One stored event (GET /payments/{eventId}, the dead-lettered list). */
export const eventViewSchema = z.object({
  eventId,
  paymentId: z.string(),
  type: z.string(),
  status: z.enum(["PENDING", "PUBLISHED", "DEAD_LETTERED"]),
  attempts: z.int(),
  lastError: z.string().nullable(),
  acceptedAt: dateTime,
  publishedAt: dateTime.nullable(),
  event: paymentEventSchema,
});

/** One breaker's snapshot (the members the page and the tests rely on; more are sent). */
export const snapshotSchema = z.looseObject({
  name: z.string(),
  state: z.enum(BREAKER_STATES),
  generation: z.int(),
  stateSince: epochMs,
  failureRate: z.number().nullable(),
  slowCallRate: z.number().nullable(),
  retryAfterMs: z.int().nullable(),
});

export const breakerListSchema = z.object({
  circuitBreakers: z.array(snapshotSchema),
  admin: z.object({
    enabled: z.boolean(),
    howToEnable: z.string().optional().meta({ description: "Present when disabled" }),
  }),
});

export const breakerEventsSchema = z.object({
  name: z.string(),
  events: z.array(z.looseObject({ type: z.enum(BREAKER_EVENT_TYPES) })),
});

export const outboxSchema = z.object({
  pending: z.int(),
  oldestPendingAgeSeconds: z.number().nullable(),
  deadLettered: z.int(),
  publishedApprox: z.int(),
  relay: z.object({
    running: z.boolean(),
    leader: z.boolean(),
    lastBatchSize: z.int(),
    lastError: z.string().nullable(),
    publishedTotal: z.int(),
  }),
});

export const historySchema = z.object({
  intervalMs: z.int(),
  capacity: z.int(),
  now: epochMs.meta({ description: "The service's clock, epoch ms" }),
  samples: z.array(z.object({
    at: epochMs,
    breaker: z.object({
      state: z.enum(BREAKER_STATES),
      failureRate: z.number().nullable(),
      failureRateThreshold: z.number(),
      slowCallRate: z.number().nullable(),
      slowCallRateThreshold: z.number(),
    }).nullable(),
    counters: z.record(z.string(), z.number()).nullable().meta({
      description: "outbox_accepted_total and outbox_published_total",
    }),
    pending: z.int().nullable(),
  })),
});

const upDown = z.enum(["UP", "DOWN"]);
export const readinessSchema = z.object({
  status: upDown,
  checks: z.object({
    shutdown: z.literal("DRAINING").optional(),
    postgres: upDown,
    migrations: z.enum(["UP", "DOWN", "UNKNOWN"]),
    kafka: z.record(z.string(), z.enum(BREAKER_STATES)).meta({
      description: "Each breaker's state; reported, never fatal",
    }),
  }),
});
