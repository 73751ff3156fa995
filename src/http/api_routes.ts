/**
 * The HTTP contract, one entry per route: method, path, what it reads (zod schemas of its path
 * parameters, query and body) and what it answers, with examples. The routes read their input
 * through these schemas (input.ts), openapi.ts builds `GET /openapi.json` from this table, and
 * openapi_contract_test.ts checks that the app serves exactly these routes and that every example
 * passes its schema.
 */
import { z } from "zod";
import { CHART_HISTORY_SAMPLES, CHART_SAMPLE_INTERVAL_MS } from "../metrics/chart_history.ts";
import { PUBLISH_BREAKER } from "../kafka/publisher.ts";
import {
  acceptedSchema,
  BREAKER_NAME_PARAMS,
  breakerEventsSchema,
  breakerListSchema,
  EVENT_ID_PARAMS,
  EVENTS_QUERY,
  eventViewSchema,
  historySchema,
  outboxSchema,
  problemSchema,
  readinessSchema,
  RECONCILE_QUERY,
  reconcileBodySchema,
  retryBodySchema,
  snapshotSchema,
  stateChangeSchema,
} from "./api_schemas.ts";
import { paymentEventSchema } from "./payment_schema.ts";
import { HttpProblem, problemBody } from "./problem.ts";

/** One answer a route may give. */
export interface ApiResponse {
  description: string;
  /** The body's schema (JSON unless `mediaType` says otherwise); absent: not described. */
  schema?: z.ZodType;
  mediaType?: string;
  example?: unknown;
  /** Response headers: name and description. */
  headers?: Record<string, string>;
}

/** One route of the contract. */
export interface ApiRoute {
  method: "get" | "post";
  /** OpenAPI template: `{name}` for a path parameter. */
  path: string;
  summary: string;
  /** Needs `Authorization: Bearer <ADMIN_TOKEN>`. */
  admin?: true;
  params?: z.ZodRawShape;
  query?: z.ZodRawShape;
  body?: { schema: z.ZodType; required: boolean; example: unknown };
  responses: Record<string, ApiResponse>;
}

const PROBLEM = "application/problem+json";
const EVENT_ID = "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f";

/** A problem answer; with `title`, its example is the body the service sends. */
function problem(description: string, status?: number, title?: string, detail?: string) {
  const example = status && title
    ? problemBody(new HttpProblem(status, title, detail ?? description), "/example")
    : undefined;
  return { description, schema: problemSchema, mediaType: PROBLEM, example };
}

const json = (schema: z.ZodType, description: string, example?: unknown): ApiResponse => ({
  description,
  schema,
  example,
});

const retryAfter = { "Retry-After": "Seconds to wait before retrying" };

/** The answers every admin route may give before it runs. */
const ADMIN_RESPONSES = {
  "401": {
    ...problem("No bearer token", 401, "Unauthorized"),
    headers: { "WWW-Authenticate": 'Bearer realm="payment-ingest"' },
  },
  "403": problem("Wrong token, or admin API disabled (ADMIN_TOKEN unset)", 403, "Forbidden"),
};

const PAYMENT_EXAMPLE = {
  eventId: EVENT_ID,
  paymentId: "pay-1",
  merchantId: "m-1",
  type: "PAYMENT_CREATED",
  amount: 1999,
  currency: "EUR",
  occurredAt: "2026-11-25T10:00:00Z",
};
const ACCEPTED_AT = "2026-11-25T10:00:00.120Z";

export const postPayment = {
  method: "post",
  path: "/payments",
  summary: "Accept one payment event",
  body: { schema: paymentEventSchema, required: true, example: PAYMENT_EXAMPLE },
  responses: {
    "200": json(acceptedSchema, "Replay of a known eventId; nothing stored again", {
      eventId: EVENT_ID,
      status: "PUBLISHED",
      acceptedAt: ACCEPTED_AT,
      publishedAt: "2026-11-25T10:00:00.130Z",
      replay: true,
    }),
    "201": json(acceptedSchema, "Stored and published to Kafka", {
      eventId: EVENT_ID,
      status: "PUBLISHED",
      acceptedAt: ACCEPTED_AT,
    }),
    "202": json(
      acceptedSchema,
      "Stored durably; publishing later (Kafka slow, down or breaker open)",
      { eventId: EVENT_ID, status: "PENDING", acceptedAt: ACCEPTED_AT, detail: "breaker open" },
    ),
    "400": problem("Malformed JSON", 400, "Malformed JSON", "the body is not valid JSON: ..."),
    "408": problem("The body did not arrive in time; nothing was stored"),
    "409": problem("eventId already used with a different body"),
    "413": problem("Body larger than the limit (64 KiB by default)"),
    "415": problem("Not application/json"),
    "422": problem("Schema violation; `errors` names each field"),
    "503": {
      ...problem(
        "Not acknowledged (the outbox could not confirm the write, or too many requests at once); retry with the same eventId after Retry-After",
      ),
      headers: retryAfter,
    },
  },
} as const satisfies ApiRoute;

export const getPayment = {
  method: "get",
  path: "/payments/{eventId}",
  summary: "Status of one accepted event",
  params: EVENT_ID_PARAMS,
  responses: {
    "200": json(eventViewSchema, "The stored event", {
      eventId: EVENT_ID,
      paymentId: "pay-1",
      type: "PAYMENT_CREATED",
      status: "PUBLISHED",
      attempts: 1,
      lastError: null,
      acceptedAt: ACCEPTED_AT,
      publishedAt: "2026-11-25T10:00:00.130Z",
      event: PAYMENT_EXAMPLE,
    }),
    "400": problem("Not a UUID", 400, "Invalid event id", "eventId must be a UUID"),
    "404": problem("Unknown event", 404, "Unknown event", `no event with id ${EVENT_ID}`),
    "503": { ...problem("Postgres could not be read"), headers: retryAfter },
  },
} as const satisfies ApiRoute;

export const listBreakers = {
  method: "get",
  path: "/circuit-breaker",
  summary: "Every breaker's snapshot, and whether operator transitions are enabled",
  responses: {
    "200": json(breakerListSchema, "Snapshots; `admin.enabled` is false when ADMIN_TOKEN is unset"),
  },
} as const satisfies ApiRoute;

const unknownBreaker = problem("Unknown breaker", 404, "Unknown circuit breaker");

export const getBreaker = {
  method: "get",
  path: "/circuit-breaker/{name}",
  summary: "One breaker: state, rates, counts, config",
  params: BREAKER_NAME_PARAMS,
  responses: { "200": json(snapshotSchema, "Snapshot"), "404": unknownBreaker },
} as const satisfies ApiRoute;

export const breakerEvents = {
  method: "get",
  path: "/circuit-breaker/{name}/events",
  summary: "Recent breaker events",
  params: BREAKER_NAME_PARAMS,
  query: EVENTS_QUERY,
  responses: {
    "200": json(breakerEventsSchema, "Events, oldest first"),
    "400": problem(
      "Unknown query parameter, or a value it does not allow",
      400,
      "Invalid query",
      'limit: must be an integer in [1, 1000]; got "0"',
    ),
    "404": unknownBreaker,
  },
} as const satisfies ApiRoute;

export const setBreakerState = {
  method: "post",
  path: "/circuit-breaker/{name}/state",
  summary: "Operator transition",
  admin: true,
  params: BREAKER_NAME_PARAMS,
  body: {
    schema: stateChangeSchema,
    required: true,
    example: { state: "FORCED_OPEN", reason: "Kafka maintenance", ttlSeconds: 900 },
  },
  responses: {
    "200": json(snapshotSchema, "The new snapshot"),
    "400": problem("Malformed JSON", 400, "Malformed JSON", 'send {"state": "FORCED_OPEN"}'),
    ...ADMIN_RESPONSES,
    "404": unknownBreaker,
    "409": problem("Illegal transition; `allowed` lists the legal targets"),
    "422": problem("Invalid body", 422, "Invalid ttlSeconds"),
  },
} as const satisfies ApiRoute;

export const outboxFigures = {
  method: "get",
  path: "/outbox",
  summary: "Backlog, oldest pending age, dead-lettered count, relay status",
  responses: {
    "200": json(outboxSchema, "Outbox figures", {
      pending: 3,
      oldestPendingAgeSeconds: 1.5,
      deadLettered: 0,
      publishedApprox: 1200,
      relay: { running: true, leader: true, lastBatchSize: 3, lastError: null, publishedTotal: 9 },
    }),
    "503": { ...problem("Postgres could not be read"), headers: retryAfter },
  },
} as const satisfies ApiRoute;

export const deadLettered = {
  method: "get",
  path: "/outbox/dead-lettered",
  summary: "Dead-lettered events",
  responses: {
    "200": json(z.object({ events: z.array(eventViewSchema) }), "Events", { events: [] }),
    "503": { ...problem("Postgres could not be read"), headers: retryAfter },
  },
} as const satisfies ApiRoute;

export const retryDeadLettered = {
  method: "post",
  path: "/outbox/dead-lettered/retry",
  summary: "Put dead-lettered events back in line (those named, or all of them without a body)",
  admin: true,
  body: { schema: retryBodySchema, required: false, example: { eventIds: [EVENT_ID] } },
  responses: {
    "200": json(z.object({ requeued: z.int() }), "How many were requeued", { requeued: 1 }),
    "400": problem("Malformed JSON"),
    ...ADMIN_RESPONSES,
    "422": problem("eventIds is not an array of UUIDs", 422, "Invalid eventIds"),
    "503": { ...problem("Postgres could not be written"), headers: retryAfter },
  },
} as const satisfies ApiRoute;

export const reconcile = {
  method: "post",
  path: "/outbox/reconcile",
  summary: "Compare published outbox events in a time range with the topic",
  admin: true,
  query: RECONCILE_QUERY,
  body: { schema: reconcileBodySchema, required: false, example: { since: "1h" } },
  responses: {
    "200": json(z.looseObject({}), "Missing, duplicated and out-of-order events per key"),
    "400": problem("Malformed JSON, or an unknown query parameter"),
    ...ADMIN_RESPONSES,
    "409": problem("A reconciliation is already running"),
    "422": problem("Invalid time range"),
    "501": problem("This instance has no topic reader for reconciliation"),
    "503": { ...problem("Kafka or Postgres could not be read"), headers: retryAfter },
  },
} as const satisfies ApiRoute;

export const settlementSummary = {
  method: "get",
  path: "/settlement/summary",
  summary:
    "Today's settlement totals per merchant and currency, the last close and today's exception count, from the settlement process (SETTLEMENT_URL)",
  responses: {
    "200": json(
      z.looseObject({ statements: z.array(z.looseObject({})) }),
      "The settlement process's GET /settlements/summary, as it answered (amounts are decimal strings in minor units)",
    ),
    "404": problem("Settlement not configured (SETTLEMENT_URL unset)"),
    "502": problem("The settlement process answered an error or no summary"),
    "503": { ...problem("The settlement process did not answer within 2 s"), headers: retryAfter },
  },
} as const satisfies ApiRoute;

export const chartHistory = {
  method: "get",
  path: "/operator/history",
  summary:
    `The operator page's chart history: a sample of the breaker, the outbox counters and the backlog every ${
      CHART_SAMPLE_INTERVAL_MS / 1000
    } s, the last ${CHART_HISTORY_SAMPLES} samples (bounded memory), oldest first`,
  responses: {
    "200": json(historySchema, "Samples, oldest first", {
      intervalMs: CHART_SAMPLE_INTERVAL_MS,
      capacity: CHART_HISTORY_SAMPLES,
      now: 1_764_064_800_000,
      samples: [{ at: 1_764_064_799_000, breaker: null, counters: null, pending: null }],
    }),
    "404": problem("This instance keeps no chart history"),
  },
} as const satisfies ApiRoute;

const META_ROUTES = [
  {
    method: "get",
    path: "/",
    summary: "The operator page (it loads its files from /page/<version>/)",
    responses: { "200": { description: "HTML", mediaType: "text/html" } },
  },
  {
    method: "get",
    path: "/health/live",
    summary: "Liveness",
    responses: {
      "200": json(z.object({ status: z.literal("UP") }), "Up", { status: "UP" }),
    },
  },
  {
    method: "get",
    path: "/health/ready",
    summary: "Readiness: Postgres reachable and migrations applied (Kafka is reported only)",
    responses: {
      "200": json(readinessSchema, "Ready", {
        status: "UP",
        checks: { postgres: "UP", migrations: "UP", kafka: { [PUBLISH_BREAKER]: "CLOSED" } },
      }),
      "503": json(readinessSchema, "Not ready (or draining)"),
    },
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    responses: { "200": { description: "Text exposition", mediaType: "text/plain" } },
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    responses: { "200": json(z.looseObject({ openapi: z.string() }), "OpenAPI 3.1") },
  },
] as const satisfies readonly ApiRoute[];

/** Every route of the service, in the document's order. */
export const API_ROUTES: readonly ApiRoute[] = [
  postPayment,
  getPayment,
  listBreakers,
  getBreaker,
  breakerEvents,
  setBreakerState,
  outboxFigures,
  deadLettered,
  retryDeadLettered,
  reconcile,
  settlementSummary,
  chartHistory,
  ...META_ROUTES,
];
