/** A cap on the requests one route handles at once. */
import type { MiddlewareHandler } from "hono";
import { HttpProblem } from "./problem.ts";

/** Options of `inFlightLimit`. */
export interface InFlightLimitOptions {
  /** Requests handled at once; the next one is answered 503. */
  max: number;
  /** Retry-After of that 503, in seconds. */
  retryAfter: string;
}

/** Answers 503 with Retry-After, storing nothing, while `max` requests are already inside. */
export function inFlightLimit(opts: InFlightLimitOptions): MiddlewareHandler {
  const { max, retryAfter } = opts;
  let inFlight = 0;
  return async (_c, next) => {
    if (inFlight >= max) {
      throw new HttpProblem(
        503,
        "Too many requests in flight",
        `${max} events are being handled already; nothing was stored; retry later`,
        { headers: { "Retry-After": retryAfter } },
      );
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  };
}
