/** The one HTTP error handler: every failure leaves as an `application/problem+json` answer. */
import type { ErrorHandler, NotFoundHandler } from "hono";
import { errorMessage } from "../error_message.ts";
import { type Logger } from "../log.ts";
import { HttpProblem, problemBody } from "./problem.ts";

/** Answers an HttpProblem as itself, anything else as a logged 500 that reveals nothing. */
export function problemHandler(logger: Logger): ErrorHandler {
  return (err, c) => {
    const p = err instanceof HttpProblem ? err : new HttpProblem(
      500,
      "Internal error",
      "the request could not be completed; nothing was acknowledged",
    );
    if (!(err instanceof HttpProblem)) {
      logger.error("unhandled error", { path: c.req.path, error: errorMessage(err) });
    }
    for (const [k, v] of Object.entries(p.headers)) c.header(k, v);
    return c.body(JSON.stringify(problemBody(p, c.req.path)), p.status as 400, {
      "content-type": "application/problem+json",
    });
  };
}

/** Answers a request no route matched with a 404 problem naming its method and path. */
export const notFoundProblem: NotFoundHandler = (c) => {
  const p = new HttpProblem(404, "Not found", `no route for ${c.req.method} ${c.req.path}`);
  return c.body(JSON.stringify(problemBody(p, c.req.path)), 404, {
    "content-type": "application/problem+json",
  });
};
