/**
 * How a process reports something that keeps failing and is retried (Kafka while the stack
 * starts, above all): an info line when the failures begin, a warning only once they have lasted
 * `warnAfterMs` (then at most one per `warnAfterMs` while they last), and an info line when it
 * works again. Why: on a fresh stack Kafka answers seconds after the processes that use it have
 * started, and the topic exists only once the service has created it; a warning per retry (about
 * 100 a minute from the reference consumer) reported a healthy idle stack as a failing one.
 */
import { errorMessage } from "./error_message.ts";
import type { Logger } from "./log.ts";

/** How long failures last before they are a warning: Kafka's start on a loaded box, and then some. */
export const DEFAULT_WARN_AFTER_MS = 60_000;

/** The failures of one thing being retried. */
export interface OutageLog {
  /** One more failure: info for the first of an outage, a warning once it has lasted. */
  failed(error: unknown): void;
  /** It worked: ends the outage (an info line) if one was going on. */
  ok(): void;
  /** True from a failure until the next success. */
  failing(): boolean;
}

/** Options of `createOutageLog`. */
export interface OutageLogOptions {
  /** Failures lasting this long are a warning (default DEFAULT_WARN_AFTER_MS). */
  warnAfterMs?: number;
  /** Epoch ms (tests pass their own). */
  now?: () => number;
}

/** Creates the log of one retried thing; `what` names it in every line ("lag refresh"). */
export function createOutageLog(
  logger: Logger,
  what: string,
  opts: OutageLogOptions = {},
): OutageLog {
  const warnAfterMs = opts.warnAfterMs ?? DEFAULT_WARN_AFTER_MS;
  const now = opts.now ?? Date.now;
  let since: number | null = null;
  let lastWarned = 0;
  let failures = 0;
  return {
    failed(error) {
      const t = now();
      failures++;
      if (since === null) {
        since = t;
        lastWarned = t;
        logger.info(`${what}: failing, retrying`, { error: errorMessage(error) });
        return;
      }
      if (t - since >= warnAfterMs && t - lastWarned >= warnAfterMs) {
        lastWarned = t;
        logger.warn(`${what}: still failing after ${Math.round((t - since) / 1000)} s`, {
          error: errorMessage(error),
          failures,
        });
      }
    },
    ok() {
      if (since === null) return;
      logger.info(`${what}: works again`, { failures, afterMs: now() - since });
      since = null;
      failures = 0;
    },
    failing: () => since !== null,
  };
}
