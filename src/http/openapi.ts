/**
 * The OpenAPI 3.1 description served at `GET /openapi.json`, generated from the route table
 * (api_routes.ts): every path, parameter, body and answer comes from the zod schemas the routes
 * read their input through, by `z.toJSONSchema`.
 */
import { z } from "zod";
import { API_ROUTES, type ApiResponse, type ApiRoute } from "./api_routes.ts";

type Json = Record<string, unknown>;

/**
 * A schema as JSON Schema. The schemas with an `id` (`.meta({ id })`: PaymentEvent, Problem) are
 * named once under components.schemas; those a schema uses are collected into `defs`.
 */
function jsonSchema(schema: z.ZodType, io: "input" | "output", defs: Json): Json {
  const generated = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
  }) as Json;
  const { $schema: _, $defs, ...rest } = JSON.parse(
    JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as Json;
  Object.assign(defs, $defs);
  return rest;
}

/** The path and query parameters of a route, from their zod shapes. */
function parameters(route: ApiRoute, defs: Json): Json[] {
  const from = (where: "path" | "query", shape: z.ZodRawShape | undefined) => {
    if (!shape) return [];
    const object = jsonSchema(z.object(shape), "output", defs);
    const required = new Set(object.required as string[] | undefined);
    return Object.entries(object.properties as Record<string, Json>).map(([name, schema]) => {
      const { description, ...rest } = schema;
      return {
        name,
        in: where,
        required: where === "path" || required.has(name),
        ...(description === undefined ? {} : { description }),
        schema: rest,
      };
    });
  };
  return [...from("path", route.params), ...from("query", route.query)];
}

function response(r: ApiResponse, defs: Json): Json {
  const mediaType = r.mediaType ?? "application/json";
  const content = r.schema
    ? {
      [mediaType]: {
        schema: jsonSchema(r.schema, "output", defs),
        ...(r.example === undefined ? {} : { example: r.example }),
      },
    }
    : { [mediaType]: {} };
  const headers = r.headers &&
    Object.fromEntries(
      Object.entries(r.headers).map(([name, description]) => [
        name,
        { description, schema: { type: "string" } },
      ]),
    );
  return { description: r.description, ...(headers ? { headers } : {}), content };
}

function operation(route: ApiRoute, defs: Json): Json {
  const params = parameters(route, defs);
  return {
    summary: route.summary,
    ...(route.admin ? { security: [{ adminToken: [] }] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body
      ? {
        requestBody: {
          required: route.body.required,
          content: {
            "application/json": {
              schema: jsonSchema(route.body.schema, "input", defs),
              example: route.body.example,
            },
          },
        },
      }
      : {}),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, r]) => [status, response(r, defs)]),
    ),
  };
}

let built: Json | null = null;

/** The document, built from the route table on first use and kept (the table never changes). */
export function openApiDocument(): Json {
  return built ??= buildDocument();
}

function buildDocument(): Json {
  const defs: Json = {};
  const paths: Record<string, Json> = {};
  for (const route of API_ROUTES) {
    (paths[route.path] ??= {})[route.method] = operation(route, defs);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Payment event ingest",
      version: "1.0.0",
      description:
        "Accepts payment events, stores each durably in a Postgres outbox before answering, and publishes them to Kafka through a circuit breaker. Every error is a problem (application/problem+json). A method a path does not list is answered 405 with an Allow header naming the methods it does list (components.responses.MethodNotAllowed); a path not listed here is answered 404.",
    },
    paths,
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer" } },
      responses: {
        MethodNotAllowed: {
          description:
            "The path exists but does not answer this method; `allowed` and the Allow header list those it answers",
          headers: {
            Allow: { schema: { type: "string" }, description: "e.g. GET, HEAD" },
          },
          content: {
            "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
          },
        },
      },
      schemas: defs,
    },
  };
}
