/** Query strings read through zod, as bodies are: typed values, or a 400 naming each bad one. */
import type { Context } from "hono";
import { z } from "zod";
import { HttpProblem } from "./problem.ts";

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
    z.number().min(min, { error }).max(max, { error }),
  );
}

/**
 * The request's query read through `shape`: a parameter the route does not take, or a value the
 * shape refuses, is answered 400 "Invalid query" with one `errors` entry per parameter, naming it
 * and the values it allows.
 */
export function readQuery<S extends z.ZodRawShape>(
  c: Context,
  shape: S,
): z.infer<z.ZodObject<S>> {
  const parsed = z.strictObject(shape).safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const takes = Object.keys(shape);
  const errors = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((field) => ({
        field,
        message: `unknown parameter; this route takes ${takes.join(", ") || "none"}`,
      }))
      : [{ field: issue.path.map(String).join(".") || "(query)", message: issue.message }]
  );
  throw new HttpProblem(
    400,
    "Invalid query",
    errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    { extra: { errors } },
  );
}
