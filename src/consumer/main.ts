/**
 * The reference consumer of the payment-events topic: composition root and graceful shutdown.
 * config -> metrics -> group consumer (dedupe by event id, commit per batch) -> lag monitor ->
 * HTTP (/metrics, /health). It exists so that consumer lag is measured and alerted on; a real
 * downstream consumer copies it and replaces the record processor's `apply`.
 *
 *   deno run --allow-net --allow-env --allow-read --allow-sys src/consumer/main.ts
 */
import { loadOrExit } from "../env_reader.ts";
import { joinWithRetry, orderlyStop, programExit, serveOnPort } from "../lifecycle.ts";
import { createGroupConsumer } from "../kafka/group_consumer.ts";
import { createLogger, type Logger } from "../log.ts";
import { type ConsumerConfig, loadConsumerConfig } from "./config.ts";
import { createConsumerApp } from "./consumer_app.ts";
import { createConsumerMetrics } from "./consumer_metrics.ts";
import { createDedupeWindow } from "./dedupe_window.ts";
import { createLagMonitor, type LagMonitor } from "./lag_monitor.ts";
import { createRecordProcessor } from "./record_processor.ts";

/** First wait before retrying to join the group after Kafka refused; doubles up to the max. */
export const DEFAULT_JOIN_RETRY_MS = 1000;
/** Longest wait between two attempts to join the group. */
export const DEFAULT_JOIN_RETRY_MAX_MS = 30_000;

/** A running consumer; `stop()` commits, leaves the group and closes the HTTP server. */
export interface RunningConsumer {
  readonly port: number;
  readonly lag: LagMonitor;
  stop(): Promise<void>;
}

/** Options of `startConsumer` besides the configuration. */
export interface StartConsumerOptions {
  /** Called when the consumer cannot go on (kafkajs gave up); main.ts exits non-zero. */
  onFatal?: (error: unknown) => void;
}

/** Starts the consumer: HTTP at once, the group membership as soon as Kafka answers. */
export async function startConsumer(
  config: ConsumerConfig,
  logger: Logger,
  opts: StartConsumerOptions = {},
): Promise<RunningConsumer> {
  const { topic, groupId } = config.kafka;
  const consumer = createGroupConsumer({
    ...config.kafka,
    logger,
    onCrash: (e) => opts.onFatal?.(e),
  });
  const metrics = createConsumerMetrics({
    topic,
    group: groupId,
    assignedPartitions: () => consumer.assigned().length,
  });
  const handle = createRecordProcessor({
    dedupe: createDedupeWindow(config.dedupeWindow),
    metrics,
    logger,
  });
  const lag = createLagMonitor({
    offsets: () => consumer.offsets(),
    metrics,
    reset: config.kafka.fromBeginning ? "earliest" : "latest",
    intervalMs: config.lagRefreshMs,
    logger,
  });
  const app = createConsumerApp({
    metrics,
    status: () => ({ connected: consumer.connected(), assigned: consumer.assigned() }),
    topic,
    group: groupId,
  });

  const { server, port } = await serveOnPort(
    { port: config.port, hostname: config.host },
    app.fetch,
  );
  lag.start();

  const joining = joinWithRetry(
    () =>
      consumer.start(handle).then(() =>
        logger.info("consumer running", { brokers: config.kafka.brokers, topic, groupId })
      ),
    {
      what: "consumer",
      logger,
      firstWaitMs: DEFAULT_JOIN_RETRY_MS,
      maxWaitMs: DEFAULT_JOIN_RETRY_MAX_MS,
    },
  );

  // The batch in flight finishes and is committed before the group is left; HTTP goes last so
  // the final figures can still be scraped while Kafka work drains.
  const stop = orderlyStop({
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    stopped: "consumer stopped",
  }, [
    ["join", () => (joining.cancel(), joining.settled())],
    ["kafka", () => consumer.stop()],
    ["lag monitor", () => lag.stop()],
    ["http", () => server.shutdown()],
  ]);

  return { port, lag, stop };
}

if (import.meta.main) {
  const config = loadOrExit(loadConsumerConfig);
  const logger = createLogger(config.logLevel);
  const exit = programExit(logger);
  const running = await startConsumer(config, logger, {
    onFatal: (e) => exit.fatal("consumer crashed and kafkajs will not restart it", e),
  });
  exit.running(running.stop);
  const base = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${running.port}`;
  logger.info(
    `payment-consumer on ${base} | group ${config.kafka.groupId} on ${config.kafka.topic} at ${
      config.kafka.brokers.join(",")
    } | metrics ${base}/metrics , health ${base}/health/ready`,
    { port: running.port, dedupeWindow: config.dedupeWindow },
  );
}
