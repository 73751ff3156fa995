/** The OpenAPI 3.1 description served at `GET /openapi.json`; the event schema comes from zod. */
import { z } from "zod";
import { BREAKER_EVENT_TYPES } from "../breaker/events.ts";
import { BREAKER_STATES } from "../breaker/states.ts";
import { CHART_HISTORY_SAMPLES, CHART_SAMPLE_INTERVAL_MS } from "../metrics/chart_history.ts";
import { paymentEventSchema } from "./payment_schema.ts";

const problem = { $ref: "#/components/schemas/Problem" };
const problemResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: problem } },
});
const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const accepted = {
  type: "object",
  required: ["eventId", "status", "acceptedAt"],
  properties: {
    eventId: { type: "string", format: "uuid" },
    status: { enum: ["PUBLISHED", "PENDING", "DEAD_LETTERED"] },
    acceptedAt: { type: "string", format: "date-time" },
    publishedAt: { type: ["string", "null"], format: "date-time" },
    detail: { type: "string" },
    replay: { type: "boolean" },
  },
};
const adminSecurity = [{ adminToken: [] }];

/** Builds the document (cheap; built per request so it always matches the code). */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Payment event ingest",
      version: "1.0.0",
      description:
        "Accepts payment events, stores each durably in a Postgres outbox before answering, and publishes them to Kafka through a circuit breaker. Every error is a problem (application/problem+json). A method a path does not list is answered 405 with an Allow header naming the methods it does list (components.responses.MethodNotAllowed); a path not listed here is answered 404.",
    },
    paths: {
      "/payments": {
        post: {
          summary: "Accept one payment event",
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/PaymentEvent" } },
            },
          },
          responses: {
            "200": json(accepted, "Replay of a known eventId; nothing stored again"),
            "201": json(accepted, "Stored and published to Kafka"),
            "202": json(
              accepted,
              "Stored durably; publishing later (Kafka slow, down or breaker open)",
            ),
            "400": problemResponse("Malformed JSON"),
            "409": problemResponse("eventId already used with a different body"),
            "413": problemResponse("Body larger than the limit (64 KiB by default)"),
            "415": problemResponse("Not application/json"),
            "422": problemResponse("Schema violation; `errors` names each field"),
            "503": problemResponse(
              "Not acknowledged (the outbox could not confirm the write); retry with the same eventId after Retry-After",
            ),
          },
        },
      },
      "/payments/{eventId}": {
        get: {
          summary: "Status of one accepted event",
          parameters: [{
            name: "eventId",
            in: "path",
            required: true,
            schema: { type: "string", format: "uuid" },
          }],
          responses: {
            "200": json({ type: "object" }, "The stored event"),
            "404": problemResponse("Unknown event"),
          },
        },
      },
      "/circuit-breaker": {
        get: {
          summary: "Every breaker's snapshot, and whether operator transitions are enabled",
          responses: {
            "200": json(
              {
                type: "object",
                properties: {
                  circuitBreakers: { type: "array", items: { type: "object" } },
                  admin: {
                    type: "object",
                    required: ["enabled"],
                    properties: {
                      enabled: { type: "boolean" },
                      howToEnable: { type: "string", description: "Present when disabled" },
                    },
                  },
                },
              },
              "Snapshots; `admin.enabled` is false when ADMIN_TOKEN is unset",
            ),
          },
        },
      },
      "/circuit-breaker/{name}": {
        get: {
          summary: "One breaker: state, rates, counts, config",
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": json({ type: "object" }, "Snapshot"),
            "404": problemResponse("Unknown breaker"),
          },
        },
      },
      "/circuit-breaker/{name}/state": {
        post: {
          summary: "Operator transition",
          security: adminSecurity,
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["state"],
                  properties: {
                    state: { enum: [...BREAKER_STATES] },
                    reason: { type: "string", maxLength: 500 },
                    ttlSeconds: { type: "integer", minimum: 1, maximum: 604800 },
                  },
                },
              },
            },
          },
          responses: {
            "200": json({ type: "object" }, "The new snapshot"),
            "401": problemResponse("No bearer token"),
            "403": problemResponse("Wrong token, or admin API disabled (ADMIN_TOKEN unset)"),
            "404": problemResponse("Unknown breaker"),
            "409": problemResponse("Illegal transition; `allowed` lists the legal targets"),
            "422": problemResponse("Invalid body"),
          },
        },
      },
      "/circuit-breaker/{name}/events": {
        get: {
          summary: "Recent breaker events",
          parameters: [
            { name: "name", in: "path", required: true, schema: { type: "string" } },
            {
              name: "type",
              in: "query",
              description: "One event type (any case)",
              schema: { enum: [...BREAKER_EVENT_TYPES] },
            },
            {
              name: "limit",
              in: "query",
              schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            },
          ],
          responses: {
            "200": json({ type: "object" }, "Events, oldest first"),
            "400": problemResponse("Unknown query parameter, or a value it does not allow"),
          },
        },
      },
      "/outbox": {
        get: {
          summary: "Backlog, oldest pending age, dead-lettered count, relay status",
          responses: { "200": json({ type: "object" }, "Outbox figures") },
        },
      },
      "/outbox/dead-lettered": {
        get: {
          summary: "Dead-lettered events",
          responses: { "200": json({ type: "object" }, "Events") },
        },
      },
      "/outbox/dead-lettered/retry": {
        post: {
          summary: "Put dead-lettered events back in line",
          security: adminSecurity,
          responses: { "200": json({ type: "object" }, "How many were requeued") },
        },
      },
      "/outbox/reconcile": {
        post: {
          summary: "Compare published outbox events in a time range with the topic",
          security: adminSecurity,
          parameters: [
            {
              name: "since",
              in: "query",
              schema: { type: "string" },
              description: "Or in the body",
            },
            {
              name: "until",
              in: "query",
              schema: { type: "string" },
              description: "Or in the body",
            },
          ],
          responses: {
            "400": problemResponse("Malformed JSON, or an unknown query parameter"),
            "200": json({ type: "object" }, "Missing, duplicated and out-of-order events per key"),
            "409": problemResponse("A reconciliation is already running"),
            "422": problemResponse("Invalid time range"),
            "503": problemResponse("Kafka or Postgres could not be read"),
          },
        },
      },
      "/settlement/summary": {
        get: {
          summary:
            "Today's settlement totals per merchant and currency, the last close and today's exception count, from the settlement process (SETTLEMENT_URL)",
          responses: {
            "200": json(
              { type: "object" },
              "The settlement process's GET /settlements/summary, as it answered (amounts are decimal strings in minor units)",
            ),
            "404": problemResponse("Settlement not configured (SETTLEMENT_URL unset)"),
            "502": problemResponse("The settlement process answered an error or no summary"),
            "503": problemResponse("The settlement process did not answer within 2 s"),
          },
        },
      },
      "/operator/history": {
        get: {
          summary:
            `The operator page's chart history: a sample of the breaker, the outbox counters and the backlog every ${
              CHART_SAMPLE_INTERVAL_MS / 1000
            } s, the last ${CHART_HISTORY_SAMPLES} samples (bounded memory), oldest first`,
          responses: {
            "200": json(
              {
                type: "object",
                required: ["intervalMs", "capacity", "now", "samples"],
                properties: {
                  intervalMs: { type: "integer" },
                  capacity: { type: "integer" },
                  now: { type: "integer", description: "The service's clock, epoch ms" },
                  samples: {
                    type: "array",
                    items: {
                      type: "object",
                      required: ["at", "breaker", "counters", "pending"],
                      properties: {
                        at: { type: "integer", description: "Epoch ms" },
                        breaker: {
                          type: ["object", "null"],
                          properties: {
                            state: { enum: [...BREAKER_STATES] },
                            failureRate: { type: ["number", "null"] },
                            failureRateThreshold: { type: "number" },
                            slowCallRate: { type: ["number", "null"] },
                            slowCallRateThreshold: { type: "number" },
                          },
                        },
                        counters: {
                          type: ["object", "null"],
                          description: "outbox_accepted_total and outbox_published_total",
                          additionalProperties: { type: "number" },
                        },
                        pending: { type: ["integer", "null"] },
                      },
                    },
                  },
                },
              },
              "Samples, oldest first",
            ),
          },
        },
      },
      "/health/live": {
        get: { summary: "Liveness", responses: { "200": json({ type: "object" }, "Up") } },
      },
      "/health/ready": {
        get: {
          summary: "Readiness: Postgres reachable and migrations applied (Kafka is reported only)",
          responses: {
            "200": json({ type: "object" }, "Ready"),
            "503": json({ type: "object" }, "Not ready"),
          },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "Text exposition" } },
        },
      },
    },
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer" } },
      responses: {
        MethodNotAllowed: {
          description:
            "The path exists but does not answer this method; `allowed` and the Allow header list those it answers",
          headers: {
            Allow: { schema: { type: "string" }, description: "e.g. GET, HEAD" },
          },
          content: { "application/problem+json": { schema: problem } },
        },
      },
      schemas: {
        PaymentEvent: z.toJSONSchema(paymentEventSchema, { io: "input", unrepresentable: "any" }),
        Problem: {
          type: "object",
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            instance: { type: "string" },
            errors: {
              type: "array",
              items: {
                type: "object",
                properties: { field: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
  };
}
