/** Errors a breaker caller is expected to catch and map (HTTP 202/409); nothing else lives here. */

import type { BreakerState } from "./states.ts";

/** Thrown instead of running the call when the breaker does not permit it; the call never ran. */
export class CallNotPermittedError extends Error {
  /** Identifies the error without instanceof, which breaks across duplicated module copies. */
  override readonly name = "CallNotPermittedError";

  constructor(
    readonly breakerName: string,
    readonly state: BreakerState,
    readonly retryAfterMs: number | null,
  ) {
    super(
      `circuit breaker "${breakerName}" is ${state} and does not permit calls` +
        (retryAfterMs === null ? "" : ` (retry after ${retryAfterMs} ms)`),
    );
  }
}

/** Thrown when an operator asks for a transition Resilience4j forbids; lists the legal targets. */
export class IllegalTransitionError extends Error {
  /** Identifies the error without instanceof, which breaks across duplicated module copies. */
  override readonly name = "IllegalTransitionError";
  readonly allowed: string[];

  constructor(readonly from: BreakerState, readonly to: BreakerState, allowed: readonly string[]) {
    super(
      `illegal circuit breaker transition ${from} -> ${to}; allowed from ${from}: ` +
        (allowed.length === 0 ? "none" : allowed.join(", ")),
    );
    this.allowed = [...allowed];
  }
}
