/**
 * Composition root: config -> store -> producer -> breaker -> relay -> app -> serve, and the
 * graceful shutdown that undoes it in reverse.
 */
import { CircuitBreaker } from "./breaker/circuit_breaker.ts";
import { type Config, loadConfig } from "./config.ts";
import { loadOrExit } from "./env_reader.ts";
import { drainable, joinWithRetry, orderlyStop, serveOnPort } from "./lifecycle.ts";
import type { Hono } from "hono";
import { createApp } from "./http/app.ts";
import { reconcile } from "./reconcile/reconcile.ts";
import { createKafkaPublisher } from "./kafka/kafkajs_publisher.ts";
import { createPublisherPool } from "./kafka/publisher_pool.ts";
import { PUBLISH_BREAKER } from "./kafka/publisher.ts";
import { isPerRecordError, KAFKA_PUBLISH_ERRORS, StaleOwnerError } from "./kafka/errors.ts";
import { readTopic } from "./kafka/topic_reader.ts";
import { errorMessage } from "./error_message.ts";
import { createLogger, type Logger } from "./log.ts";
import { createChartHistory } from "./metrics/chart_history.ts";
import { createMetrics } from "./metrics/metrics.ts";
import { createPostgresDb, type Db } from "./outbox/db.ts";
import { createIngest } from "./outbox/ingest.ts";
import { createPgliteDb } from "./outbox/pglite_db.ts";
import { migrate } from "./outbox/migrations.ts";
import { createRelay } from "./outbox/relay.ts";
import { outboxStats } from "./outbox/repository.ts";
import { cachedOutboxStats } from "./outbox/stats_cache.ts";

/** A running service; `stop()` shuts it down gracefully. */
export interface Service {
  readonly port: number;
  readonly db: Db;
  readonly breaker: CircuitBreaker;
  stop(): Promise<void>;
}

/** What a caller adds to the service: routes of its own (the bench's baselines). */
export interface ServiceExtras {
  routes?: (app: Hono, db: Db, config: Config) => void;
}

/** Starts the whole service from a validated configuration. */
export async function startService(
  config: Config,
  logger: Logger,
  extras: ServiceExtras = {},
): Promise<Service> {
  const db = config.databaseUrl
    ? createPostgresDb(config.databaseUrl, {
      schema: config.databaseSchema,
      poolSize: config.databasePoolSize,
    })
    : await createPgliteDb(`${config.dataDir}/outbox`);
  const applied = await migrate(db);
  if (applied.length > 0) logger.info("outbox migrations applied", { versions: applied });

  const breaker = new CircuitBreaker(PUBLISH_BREAKER, {
    ...config.breaker,
    // Records Kafka refuses for good are the record's fault, not the broker's; rows of a dropped
    // producer were never sent.
    ignoreError: (e) => isPerRecordError(e) || e instanceof StaleOwnerError,
  });
  const { adjustments } = breaker.snapshot().config;
  if (adjustments.length > 0) logger.warn("breaker config adjusted", { adjustments });
  breaker.subscribe((e) => {
    if (e.type === "STATE_TRANSITION") {
      logger.warn("circuit breaker transition", {
        breaker: e.breakerName,
        from: e.from,
        to: e.to,
        reason: e.reason ?? null,
      });
    }
  });
  // Scrapes and GET /outbox share one reading of the counts, at a cost bounded by stats_cache.ts.
  const stats = cachedOutboxStats(() => outboxStats(db));
  const metrics = createMetrics({ breakers: [breaker], outboxStats: stats });
  const chartHistory = createChartHistory({ breaker, metrics, outboxStats: stats });
  const instanceId = `${Deno.hostname()}:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const exactlyOnce = config.deliveryGuarantee === "exactly-once";
  // At-least-once: inline publishes spread over KAFKA_INLINE_PRODUCERS producers, each sending
  // one batch at a time (publisher_pool.ts); exactly-once: one transactional producer.
  const lanes = exactlyOnce ? 1 : config.kafka.inlineProducers;
  const publisher = exactlyOnce
    ? createKafkaPublisher({
      ...config.kafka,
      logger,
      transactional: {
        instanceId,
        transactionTimeoutMs: config.transactionTimeoutMs,
        killAfterCommit: config.killAfterCommit,
      },
    })
    : createPublisherPool(Array.from({ length: lanes }, (_, i) =>
      createKafkaPublisher({
        ...config.kafka,
        clientId: i === 0 ? config.kafka.clientId : `${config.kafka.clientId}-${i + 1}`,
        logger,
      })));
  // At-least-once: the relay sends on a producer of its own, so a drain's batches of hundreds
  // of records never queue ahead of clients' inline publishes (a producer sends one batch at a
  // time, send_queue.ts). Per-key order does not rest on the producer: a row is published
  // inline only when no older row of its key is pending. Exactly-once keeps one producer, whose
  // transactional.id owns the claims of both paths.
  const relayPublisher = exactlyOnce
    ? publisher
    : createKafkaPublisher({ ...config.kafka, clientId: `${config.kafka.clientId}-relay`, logger });
  // Every publish of either path is timed into kafka_publish_duration_seconds (publish_rows.ts).
  const observePublish = metrics.observePublish.bind(metrics);
  const relay = createRelay({
    db,
    breaker,
    publisher: relayPublisher,
    observePublish,
    errors: KAFKA_PUBLISH_ERRORS,
    logger,
    batchSize: config.relay.batchSize,
    pollIntervalMs: config.relay.pollIntervalMs,
    retentionMs: config.outboxRetentionMs,
    onPublished: (n) => metrics.published(n),
    leaseMs: config.relay.leaseMs,
    onRecovered: (committed, released) => {
      metrics.recovered(committed, released);
      metrics.published(committed);
    },
    // Exactly-once recovery reads back what a fenced owner committed.
    readCommitted: async (sinceMs) => {
      const slice = await readTopic({
        brokers: config.kafka.brokers,
        topic: config.kafka.topic,
        fromTimestamp: sinceMs,
        isolation: "read_committed",
        clientId: `${config.kafka.clientId}-recovery`,
      });
      return new Set(slice.records.map((r) => r.eventId));
    },
  });
  const ingest = createIngest({
    db,
    breaker,
    publisher,
    observePublish,
    errors: KAFKA_PUBLISH_ERRORS,
    logger,
    instanceId,
    inline: config.inlinePublish,
    inlineBudgetMs: config.inlineBudgetMs,
    leaseMs: config.relay.leaseMs,
    commitConcurrency: config.commit.concurrency,
    commitBatchMax: config.commit.batchMax,
    commitLingerMs: config.commit.lingerMs,
    publishLingerMs: config.publishLingerMs,
    publishConcurrency: lanes,
    onPending: () => relay.wake(),
    onPublished: (n) => metrics.published(n),
  });
  const app = createApp({
    draining: () => handler.draining(),
    db,
    ingest,
    relay,
    breakers: [breaker],
    metrics,
    logger,
    adminToken: config.adminToken,
    bodyLimitBytes: config.bodyLimitBytes,
    bodyReadTimeoutMs: config.bodyReadTimeoutMs,
    maxInFlightPayments: config.maxInFlightPayments,
    settlementUrl: config.settlementUrl,
    outboxStats: stats,
    chartHistory,
    reconcile: (since, until) =>
      reconcile(db, { brokers: config.kafka.brokers, topic: config.kafka.topic, since, until }),
  });
  extras.routes?.(app, db, config);
  relay.start();
  chartHistory.start();
  // Connect ahead of the first request, which creates the topic (ensureTopic), and retry until
  // Kafka answers: on a fresh stack the broker starts after the service, and the consumers wait
  // for the topic. Meanwhile the breaker and the relay publish; events wait in the outbox.
  const connecting = joinWithRetry(
    () =>
      publisher.connect().then(() =>
        logger.info("kafka producer connected", { brokers: config.kafka.brokers })
      ),
    { what: "kafka producer", logger, firstWaitMs: 1000, maxWaitMs: 10_000 },
  );

  const handler = drainable((req, info) => app.fetch(req, info));
  const { server, port } = await serveOnPort(
    { port: config.port, hostname: config.host },
    handler.fetch,
  );

  // Serve on, not ready and closing each connection after its answer, until quiet; then stop
  // accepting, let in-flight requests finish, then the background work, then I/O.
  const stop = orderlyStop({
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    stopped: "service stopped",
  }, [
    ["kafka connect", () => connecting.cancel()],
    ["drain", () => config.shutdownDrainMs > 0 && handler.drain(config.shutdownDrainMs)],
    ["http", () => server.shutdown()],
    ["inline publishes", () => ingest.drain()],
    ["relay", () => relay.stop()],
    ["chart history", () => chartHistory.stop()],
    ["kafka", () => Promise.all([publisher.close(), relayPublisher.close()])],
    ["breaker", () => breaker.dispose()],
    ["postgres", (left) => db.close(left())],
  ]);

  return { port, db, breaker, stop };
}

/**
 * The program: configuration from the environment, the service started, its start line logged,
 * SIGINT and SIGTERM shutting it down.
 */
export async function runService(extras: ServiceExtras = {}): Promise<void> {
  const config = loadOrExit(loadConfig);
  const logger = createLogger(config.logLevel);
  let service: Service;
  try {
    service = await startService(config, logger, extras);
  } catch (e) {
    logger.error("service failed to start", { error: errorMessage(e) });
    Deno.exit(1);
  }
  const base = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${service.port}`;
  logger.info(
    `payment-ingest on ${base} | store: ${service.db.location} | Kafka: ${
      config.kafka.brokers.join(",")
    } topic ${config.kafka.topic} | operator page ${base}/ , metrics ${base}/metrics , breaker ${base}/circuit-breaker/${PUBLISH_BREAKER} , outbox ${base}/outbox | ` +
      (config.adminToken
        ? `admin: POST ${base}/circuit-breaker/${PUBLISH_BREAKER}/state with 'Authorization: Bearer $ADMIN_TOKEN'`
        : "admin mutations disabled: set ADMIN_TOKEN to enable them"),
    { port: service.port, store: service.db.kind },
  );
  let signalled = false;
  const onSignal = (sig: string) => () => {
    if (signalled) return;
    signalled = true;
    logger.info("shutting down", { signal: sig });
    service.stop().finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
}

if (import.meta.main) await runService();
