/** Reading one payment event from a request: size, media type, JSON, schema, in that order. */
import { generate as generateUuidV7 } from "@std/uuid/v7";
import type { Context, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { errorMessage } from "../error_message.ts";
import { withDeadline } from "../deadline.ts";
import type { NewEvent } from "../outbox/repository.ts";
import { decodeJson, errorsDetail, fieldErrors, notJson } from "./input.ts";
import { paymentEventSchema } from "./payment_schema.ts";
import { HttpProblem } from "./problem.ts";

/** Limits of `paymentBody`. */
export interface PaymentBodyOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Retry-After of the 503 when the connection fails under the body. */
  retryAfter: string;
}

/** Where `paymentBody` leaves the text it read, for `readPaymentEvent`. */
const BODY_KEY = "paymentBodyText";

/**
 * Reads the body whole before the handler runs, within `maxBytes` (413, without reading when
 * the declared length is over) and `timeoutMs` (408), and keeps it as text on the context. The
 * body is read once: no copy into a new Request, no second size check. A length-delimited body
 * is read in one call; a chunked one chunk by chunk, counting.
 */
export function paymentBody(opts: PaymentBodyOptions): MiddlewareHandler {
  const { maxBytes, timeoutMs } = opts;
  return async (c, next) => {
    const declared = Number(c.req.header("content-length") ?? NaN);
    if (declared > maxBytes) throw tooLarge(maxBytes);
    const stream = c.req.raw.body;
    if (stream) {
      const body = Number.isFinite(declared)
        ? await within(c.req.raw.text(), timeoutMs, opts.retryAfter, () => stream.cancel())
        : new TextDecoder().decode(await readChunked(stream, maxBytes, timeoutMs, opts.retryAfter));
      c.set(BODY_KEY, body);
    }
    await next();
  };
}

function tooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem(413, "Payload too large", `the body exceeds ${maxBytes} bytes`);
}

/** Settles with `work` unless `timeoutMs` passes first (408); a failed read is a 503 (retry). */
async function within<T>(
  work: Promise<T>,
  timeoutMs: number,
  retryAfter: string,
  onTimeout: () => unknown,
): Promise<T> {
  try {
    return await withDeadline(work, timeoutMs, () => {
      Promise.resolve().then(onTimeout).catch(() => {});
      throw new HttpProblem(
        408,
        "Request timeout",
        `the body did not arrive within ${timeoutMs} ms; nothing was stored`,
      );
    });
  } catch (e) {
    if (e instanceof HttpProblem) throw e;
    throw new HttpProblem(
      503,
      "Request body unavailable",
      `the body could not be read (${errorMessage(e)}); nothing was stored; retry`,
      { headers: { "Retry-After": retryAfter } },
    );
  }
}

/** Reads a body of unknown length whole, counting: 413 as soon as it passes `maxBytes`. */
function readChunked(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  timeoutMs: number,
  retryAfter: string,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const read = async () => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      size += next.value.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(next.value);
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      body.set(chunk, at);
      at += chunk.length;
    }
    return body;
  };
  return within(read(), timeoutMs, retryAfter, () => reader.cancel()).catch((e) => {
    reader.cancel().catch(() => {});
    throw e;
  });
}

/**
 * Validates the request as one payment event and returns it as an outbox row; throws the
 * matching problem (415, 400, 422). A missing eventId is generated here. The body is the one
 * `paymentBody` read before.
 */
export function readPaymentEvent(c: Context): NewEvent {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\s*(;.*)?$/i.test(type)) {
    throw new HttpProblem(
      415,
      "Unsupported media type",
      `send the event as application/json (got "${type.slice(0, 100) || "no content type"}")`,
    );
  }
  const data = decodeJson(c.get(BODY_KEY) ?? "", paymentEventSchema, {
    malformed: notJson,
    invalid: invalidEvent,
  });
  // An id the service assigns is a UUIDv7: time-ordered, so the outbox's unique index on ids
  // grows at its right edge instead of touching a random page per event (a v4 id dirtied a
  // page, and wrote it whole to the WAL after each checkpoint, for every insert).
  const eventId = (data.eventId ?? generateUuidV7()).toLowerCase();
  const event = { ...data, eventId };
  return {
    id: eventId,
    aggregateid: event.paymentId,
    type: event.type,
    payload: JSON.stringify(event),
  };
}

/** 422 naming at most 20 fields: a body of thousands of unknown keys must not get a bigger answer. */
function invalidEvent(error: z.ZodError): HttpProblem {
  const all = fieldErrors(error, "(body)", "unknown field");
  const errors = all.slice(0, 20);
  const more = all.length > errors.length ? `; and ${all.length - errors.length} more` : "";
  return new HttpProblem(422, "Invalid payment event", errorsDetail(errors) + more, {
    extra: { errors },
  });
}
