/**
 * Refreshes the lag gauge on a timer: the topic's high watermarks and the group's committed
 * offsets from Kafka, the difference (lag.ts) into the metrics. A timer rather than per batch,
 * so lag keeps being reported while the consumer is idle, stuck or has no partitions, which is
 * exactly when it matters.
 */
import type { PartitionCommit, PartitionWatermarks } from "../kafka/group_consumer.ts";
import type { Logger } from "../log.ts";
import { createOutageLog } from "../outage_log.ts";
import { CONSUMER_SETTINGS } from "../settings/consumer.ts";
import type { ConsumerMetrics } from "./consumer_metrics.ts";
import { groupLag, type PartitionLag, type ResetPolicy } from "./lag.ts";

/** Options of `createLagMonitor`. */
export interface LagMonitorOptions {
  offsets: () => Promise<{ watermarks: PartitionWatermarks[]; committed: PartitionCommit[] }>;
  metrics: Pick<ConsumerMetrics, "setLag" | "lagRefreshFailed">;
  /** Where a partition the group never committed starts (decides its lag). */
  reset: ResetPolicy;
  intervalMs?: number;
  logger: Logger;
  /** Refreshes failing this long are a warning (outage_log.ts); shorter outages an info line. */
  warnAfterMs?: number;
  /** Timer functions (tests drive them by hand). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (id: unknown) => void;
  /** Epoch ms, for the outage log (tests pass their own). */
  now?: () => number;
}

/** A periodic lag refresh. */
export interface LagMonitor {
  /** Refreshes now; resolves with the lags set, or null when Kafka did not answer. */
  refresh(): Promise<PartitionLag[] | null>;
  /** Refreshes now and then every interval until `stop()`. */
  start(): void;
  /** Stops the timer and waits for a refresh in flight. */
  stop(): Promise<void>;
}

/** Creates a stopped lag monitor. */
export function createLagMonitor(opts: LagMonitorOptions): LagMonitor {
  const intervalMs = opts.intervalMs ?? CONSUMER_SETTINGS.lagRefreshMs.default;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ??
    ((id) => clearTimeout(id as ReturnType<typeof setTimeout>));
  let timer: unknown = null;
  let running = false;
  let inFlight: Promise<PartitionLag[] | null> | null = null;
  // Until the topic exists (a fresh stack) and while Kafka is away, every refresh fails.
  const outage = createOutageLog(opts.logger, "lag refresh", {
    warnAfterMs: opts.warnAfterMs,
    now: opts.now,
  });

  async function refreshOnce(): Promise<PartitionLag[] | null> {
    try {
      const { watermarks, committed } = await opts.offsets();
      const lags = groupLag(watermarks, committed, opts.reset);
      opts.metrics.setLag(lags);
      outage.ok();
      return lags;
    } catch (e) {
      opts.metrics.lagRefreshFailed();
      outage.failed(e);
      return null;
    }
  }

  const refresh = () => (inFlight ??= refreshOnce().finally(() => (inFlight = null)));

  function tick(): void {
    timer = null;
    refresh().finally(() => {
      if (running) timer = setTimer(tick, intervalMs);
    });
  }

  return {
    refresh,
    start() {
      if (running) return;
      running = true;
      tick();
    },
    async stop() {
      running = false;
      if (timer !== null) clearTimer(timer);
      timer = null;
      await inFlight;
    },
  };
}
