/** Start and stop plumbing shared by the two programs (the service and the reference consumer). */
import { errorMessage } from "./error_message.ts";
import type { Logger } from "./log.ts";
import { createOutageLog } from "./outage_log.ts";
import { withDeadline } from "./deadline.ts";

/** Serves `fetch` and resolves once listening, with the bound port (0 asks for a free one). */
export async function serveOnPort(
  opts: { port: number; hostname: string },
  fetch: Deno.ServeHandler,
): Promise<{ server: Deno.HttpServer; port: number }> {
  let listening: (port: number) => void = () => {};
  const bound = new Promise<number>((resolve) => (listening = resolve));
  const server = Deno.serve({ ...opts, onListen: ({ port }) => listening(port) }, fetch);
  return { server, port: await bound };
}

/**
 * A handler that can be drained before its server stops accepting. While draining, every answer
 * carries `Connection: close`, so clients open a fresh connection for their next request instead
 * of sending it on an idle keep-alive connection that `server.shutdown()` is about to close (the
 * request would be reset unanswered). `drain` resolves once no request has arrived or been in
 * flight for `quietMs`, or after `maxMs`, whichever comes first.
 */
export function drainable(fetch: Deno.ServeHandler): {
  fetch: Deno.ServeHandler;
  draining: () => boolean;
  drain: (maxMs: number, quietMs?: number) => Promise<void>;
} {
  let draining = false;
  let inFlight = 0;
  let lastSeen = 0;
  const closing = (res: Response): Response => {
    if (!draining) return res;
    try {
      res.headers.set("connection", "close");
      return res;
    } catch { // immutable headers (a proxied response): copy them
      const copy = new Response(res.body, res);
      copy.headers.set("connection", "close");
      return copy;
    }
  };
  return {
    async fetch(req, info) {
      inFlight++;
      lastSeen = Date.now();
      try {
        return closing(await fetch(req, info));
      } finally {
        inFlight--;
        lastSeen = Date.now();
      }
    },
    draining: () => draining,
    async drain(maxMs, quietMs = 500) {
      draining = true;
      const start = Date.now();
      lastSeen = Math.max(lastSeen, start);
      while (Date.now() - start < maxMs) {
        const quietFor = Date.now() - lastSeen;
        if (inFlight === 0 && quietFor >= quietMs) return;
        const wait = inFlight === 0 ? quietMs - quietFor : Math.min(quietMs, 50);
        await new Promise((r) =>
          setTimeout(r, Math.max(1, Math.min(wait, maxMs - (Date.now() - start))))
        );
      }
    },
  };
}

/** One part of a shutdown: its name in the log, and the work, given what is left of the deadline. */
export type ShutdownStep = readonly [name: string, run: (left: () => number) => unknown];

/**
 * A program's stop, the same however often it is called: the steps in order, sharing one deadline
 * `timeoutMs` from the first call, each given what is left (at least 100 ms); one that fails or
 * overruns is logged and the next runs anyway. Then `stopped` is logged.
 */
export function orderlyStop(
  opts: { timeoutMs: number; logger: Logger; stopped: string },
  steps: ShutdownStep[],
): () => Promise<void> {
  const { logger } = opts;
  let stopping: Promise<void> | null = null;
  return () =>
    stopping ??= (async () => {
      const deadline = Date.now() + opts.timeoutMs;
      const left = () => Math.max(100, deadline - Date.now());
      for (const [name, run] of steps) {
        const result = await withDeadline(
          Promise.resolve().then(() => run(left)).then(() => "ok", (e) => errorMessage(e)),
          left(),
          () => "timeout",
        );
        if (result !== "ok") {
          logger.warn("shutdown step did not finish cleanly", { step: name, result });
        }
      }
      logger.info(opts.stopped);
    })();
}

/** A start against Kafka (a group membership, a producer) being retried until Kafka accepts it. */
export interface Joining {
  /** Settles once the current attempt has (it never rejects). */
  settled(): Promise<void>;
  /** Stops retrying (an attempt in flight still settles). */
  cancel(): void;
}

/**
 * Calls `start` until it resolves: after a refusal, waits `firstWaitMs`, doubling up to
 * `maxWaitMs`. Refusals are logged as an outage of "`what` start" (outage_log.ts): an info line
 * at the first, a warning only once they have lasted `warnAfterMs`, as on a fresh stack whose
 * broker is still starting or whose topic the service has not created yet.
 */
export function joinWithRetry(
  start: () => Promise<void>,
  opts: {
    what: string;
    logger: Logger;
    firstWaitMs: number;
    maxWaitMs: number;
    warnAfterMs?: number;
  },
): Joining {
  let cancelled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<void> = Promise.resolve();
  const outage = createOutageLog(opts.logger, `${opts.what} start`, {
    warnAfterMs: opts.warnAfterMs,
  });
  const attempt = (waitMs: number) => {
    current = start().then(() => outage.ok(), (e) => {
      if (cancelled) return;
      outage.failed(e);
      timer = setTimeout(() => attempt(Math.min(waitMs * 2, opts.maxWaitMs)), waitMs);
    });
  };
  attempt(opts.firstWaitMs);
  return {
    settled: () => current,
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/** A program's way out: one graceful stop on SIGINT, SIGTERM or a fatal error, then exit. */
export interface ProgramExit {
  /** Registers what stops the program (a signal before that exits at once). */
  running(stop: () => Promise<void>): void;
  /** Logs `message` with the error, stops the program and exits 1. */
  fatal(message: string, error: unknown): void;
}

/** Listens for SIGINT and SIGTERM; each way out stops the program once, then exits. */
export function programExit(logger: Logger): ProgramExit {
  let exitCode = 0;
  let stop: (() => Promise<void>) | null = null;
  let signalled = false;
  const shutdown = (reason: string) => {
    if (signalled) return;
    signalled = true;
    logger.info("shutting down", { reason });
    (stop?.() ?? Promise.resolve()).finally(() => Deno.exit(exitCode));
  };
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  return {
    running: (s) => (stop = s),
    fatal(message, error) {
      logger.error(message, { error: errorMessage(error) });
      exitCode = 1;
      shutdown("crash");
    },
  };
}
