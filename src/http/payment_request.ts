/** Reading one payment event from a request: size, media type, JSON, schema, in that order. */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorMessage } from "../log.ts";
import type { NewEvent } from "../outbox/repository.ts";
import { fieldErrors, paymentEventSchema } from "./payment_schema.ts";
import { HttpProblem } from "./problem.ts";

/** Refuses bodies over `maxSize` bytes with 413 before they are read whole. */
export function paymentBodyLimit(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new HttpProblem(413, "Payload too large", `the body exceeds ${maxSize} bytes`);
    },
  });
}

/**
 * Validates the request as one payment event and returns it as an outbox row; throws the
 * matching problem (415, 400, 422). A missing eventId is generated here.
 */
export async function readPaymentEvent(c: Context): Promise<NewEvent> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\s*(;.*)?$/i.test(type)) {
    throw new HttpProblem(
      415,
      "Unsupported media type",
      `send the event as application/json (got "${type.slice(0, 100) || "no content type"}")`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch (e) {
    if (e instanceof HttpProblem) throw e;
    throw new HttpProblem(400, "Malformed JSON", `the body is not valid JSON: ${errorMessage(e)}`);
  }
  const parsed = paymentEventSchema.safeParse(body);
  if (!parsed.success) {
    // At most 20 listed: a body of thousands of unknown keys must not get a bigger answer.
    const all = fieldErrors(parsed.error);
    const errors = all.slice(0, 20);
    throw new HttpProblem(
      422,
      "Invalid payment event",
      errors.map((e) => `${e.field}: ${e.message}`).join("; ") +
        (all.length > errors.length ? `; and ${all.length - errors.length} more` : ""),
      { errors },
    );
  }
  const eventId = (parsed.data.eventId ?? crypto.randomUUID()).toLowerCase();
  const event = { ...parsed.data, eventId };
  return {
    id: eventId,
    aggregateid: event.paymentId,
    type: event.type,
    payload: JSON.stringify(event),
  };
}
