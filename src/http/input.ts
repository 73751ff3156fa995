/**
 * The one way a request's input becomes typed values: JSON bodies, query strings and path
 * parameters go through zod, and what zod refuses leaves as a problem naming each bad field
 * (400 for a query, a path or JSON that does not parse; 422 by default for a body the schema
 * refuses). The schemas come from the route table (api_routes.ts), so a route reads exactly
 * what its OpenAPI entry documents.
 */
import type { Context } from "hono";
import { z } from "zod";
import { errorMessage } from "../error_message.ts";
import { type FieldError, HttpProblem } from "./problem.ts";

/** One of `values`, any case, as written in `values`; a miss names them all and what came. */
export function oneOfParam<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().transform((s) => s.toUpperCase()).pipe(
    z.enum(values, {
      error: (i) => `must be one of ${values.join(", ")}; got ${JSON.stringify(i.input)}`,
    }),
  );
}

/** A whole number in [min, max], written in decimal digits. */
export function intParam(min: number, max: number) {
  const error = (i: { input?: unknown }) =>
    `must be an integer in [${min}, ${max}]; got ${JSON.stringify(String(i.input))}`;
  return z.string().regex(/^[0-9]{1,9}$/, { error }).transform(Number).pipe(
    z.int({ error }).min(min, { error }).max(max, { error }),
  );
}

/**
 * One entry per issue, naming the field (`root` for the value itself); each unknown key is its
 * own entry with `unknown` as its message.
 */
export function fieldErrors(error: z.ZodError, root: string, unknown: string): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((field) => ({ field, message: unknown }))
      : [{ field: issue.path.map(String).join(".") || root, message: issue.message }]
  );
}

/** The detail of a problem listing `errors`: "field: message; ...". */
export function errorsDetail(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join("; ");
}

const objects = new WeakMap<z.ZodRawShape, z.ZodObject>();
const strictObjects = new WeakMap<z.ZodRawShape, z.ZodObject>();

/** The object schema of a route's shape, built once per shape. */
function objectOf<S extends z.ZodRawShape>(
  shape: S,
  built: WeakMap<z.ZodRawShape, z.ZodObject>,
  make: (shape: S) => z.ZodObject<S>,
): z.ZodObject<S> {
  let schema = built.get(shape) as z.ZodObject<S> | undefined;
  if (!schema) built.set(shape, schema = make(shape));
  return schema;
}

/**
 * The request's query read through `shape`: a parameter the route does not take, or a value the
 * shape refuses, is answered 400 "Invalid query" with one `errors` entry per parameter, naming it
 * and the values it allows.
 */
export function readQuery<S extends z.ZodRawShape>(
  c: Context,
  shape: S,
): z.output<z.ZodObject<S>> {
  const parsed = objectOf(shape, strictObjects, z.strictObject).safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const takes = Object.keys(shape).join(", ") || "none";
  const errors = fieldErrors(
    parsed.error,
    "(query)",
    `unknown parameter; this route takes ${takes}`,
  );
  throw new HttpProblem(400, "Invalid query", errorsDetail(errors), { extra: { errors } });
}

/**
 * The request's path parameters read through `shape`; a value it refuses is answered 400
 * `title` with the schema's message as its detail ("eventId must be a UUID").
 */
export function readParams<S extends z.ZodRawShape>(
  c: Context,
  shape: S,
  title: string,
): z.output<z.ZodObject<S>> {
  const parsed = objectOf(shape, objects, z.object).safeParse(c.req.param());
  if (parsed.success) return parsed.data;
  const errors = fieldErrors(parsed.error, "(path)", "unknown parameter");
  throw new HttpProblem(400, title, errors.map((e) => `${e.field} ${e.message}`).join("; "), {
    extra: { errors },
  });
}

/** How `decodeJson` answers a body that is not JSON, or not what the schema takes. */
export interface JsonBodyOptions {
  /** The detail of the 400 "Malformed JSON", e.g. an example of what to send. */
  malformed: string | ((error: unknown) => string);
  /** An empty (or blank) body reads as `{}` instead of being malformed. */
  optional?: boolean;
  /** The problem for a value the schema refuses; by default 422 "Invalid body" listing fields. */
  invalid?: (error: z.ZodError, value: unknown) => HttpProblem;
}

/** Parses `text` as JSON once and validates it through `schema` (400 or the `invalid` problem). */
export function decodeJson<S extends z.ZodType>(
  text: string,
  schema: S,
  opts: JsonBodyOptions,
): z.output<S> {
  let value: unknown;
  if (opts.optional && text.trim() === "") {
    value = {};
  } else {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const detail = typeof opts.malformed === "string" ? opts.malformed : opts.malformed(e);
      throw new HttpProblem(400, "Malformed JSON", detail);
    }
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  if (opts.invalid) throw opts.invalid(parsed.error, value);
  const errors = fieldErrors(parsed.error, "(body)", "unknown field");
  throw new HttpProblem(422, "Invalid body", errorsDetail(errors), { extra: { errors } });
}

/** Reads the request's body as text and decodes it with `decodeJson`. */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  opts: JsonBodyOptions,
): Promise<z.output<S>> {
  return decodeJson(await c.req.text(), schema, opts);
}

/** The detail of a 400 for a body that is not JSON, naming the parser's complaint. */
export function notJson(error: unknown): string {
  return `the body is not valid JSON: ${errorMessage(error)}`;
}
