/** Bearer-token guard for admin mutations; the token is never logged or echoed. */
import type { MiddlewareHandler } from "hono";
import { HttpProblem } from "./problem.ts";

const encoder = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
}

/** Compares two secrets in time independent of where they differ (both are hashed first). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** How an operator enables admin mutations (the answers of a disabled instance and the page say it). */
export const ADMIN_ENABLE_HINT = "set ADMIN_TOKEN (16+ characters) and restart to enable them";

/** 403 when admin mutations are disabled, 401 without a bearer token, 403 with a wrong one. */
export function requireAdmin(token: string | null): MiddlewareHandler {
  return async (c, next) => {
    if (token === null) {
      throw new HttpProblem(
        403,
        "Admin API disabled",
        `admin mutations are disabled on this instance; ${ADMIN_ENABLE_HINT}`,
      );
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new HttpProblem(
        401,
        "Unauthorized",
        "send the admin token as 'Authorization: Bearer <ADMIN_TOKEN>'",
        { headers: { "WWW-Authenticate": 'Bearer realm="payment-ingest"' } },
      );
    }
    if (!await constantTimeEqual(match[1]!, token)) {
      throw new HttpProblem(403, "Forbidden", "the admin token is not valid");
    }
    await next();
  };
}
