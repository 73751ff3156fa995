/**
 * The outbox's counts for operators, read at a bounded cost. Counting pending rows walks the
 * pending index, so with a backlog of millions one reading takes a few hundred ms of a Postgres
 * backend; asked by every scrape and every poll of the operator page, it would compete with the
 * relay that is draining that backlog. A reading is therefore reused until it is `costFactor`
 * times as old as it took to make: a 1 ms reading is fresh after 20 ms (small outboxes answer
 * as if uncached), a 300 ms one is reused for 6 s, which keeps the counting under 5 % of one
 * backend however large the backlog grows. Concurrent askers share one reading.
 */
import type { OutboxStats } from "./repository.ts";

/** Options of `cachedOutboxStats`. */
export interface StatsCacheOptions {
  /** A reading is reused while younger than this many times its own duration; default 20. */
  costFactor?: number;
  /** Never reused longer than this (ms); default 10,000. */
  maxAgeMs?: number;
  /** Monotonic ms; injectable for tests. */
  now?: () => number;
}

/** Wraps `read` so that it runs at most as often as its cost allows; errors are not cached. */
export function cachedOutboxStats(
  read: () => Promise<OutboxStats>,
  opts: StatsCacheOptions = {},
): () => Promise<OutboxStats> {
  const factor = opts.costFactor ?? 20;
  const maxAgeMs = opts.maxAgeMs ?? 10_000;
  const now = opts.now ?? (() => performance.now());
  let last: { stats: OutboxStats; at: number; validMs: number } | null = null;
  let inFlight: Promise<OutboxStats> | null = null;
  return () => {
    if (last && now() - last.at < last.validMs) return Promise.resolve(last.stats);
    return inFlight ??= (async () => {
      const start = now();
      try {
        const stats = await read();
        const end = now();
        last = { stats, at: end, validMs: Math.min(maxAgeMs, (end - start) * factor) };
        return stats;
      } finally {
        inFlight = null;
      }
    })();
  };
}
