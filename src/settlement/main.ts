/**
 * The settlement process: composition root and graceful shutdown.
 * config -> Postgres (ledger migrations) -> metrics -> consumer (offsets in Postgres) -> runner
 * (batches, lag, hold expiry, scheduled close) -> HTTP (statements, exceptions, close, metrics).
 *
 *   deno task settlement
 */
import { errorMessage } from "../error_message.ts";
import { loadOrExit } from "../env_reader.ts";
import { readTopic } from "../kafka/topic_reader.ts";
import { joinWithRetry, orderlyStop, programExit, serveOnPort } from "../lifecycle.ts";
import { createLogger, type Logger } from "../log.ts";
import { createPostgresDb, type Db } from "../outbox/db.ts";
import { createPgliteDb } from "../outbox/pglite_db.ts";
import { loadSettlementConfig, type SettlementConfig } from "./config.ts";
import { createLedgerConsumer } from "./ledger_consumer.ts";
import { migrateSettlement } from "./migrations.ts";
import { createSettlementApp } from "./settlement_app.ts";
import { createSettlementMetrics } from "./settlement_metrics.ts";
import { createRunner, type Runner } from "./settlement_runner.ts";
import { reconcileDay, type ReconciliationReport } from "./three_way.ts";

/** First wait before retrying to join the group after Kafka refused; doubles up to 30 s. */
const JOIN_RETRY_MS = 1000;

/** A running settlement process. */
export interface RunningSettlement {
  readonly port: number;
  readonly runner: Runner;
  stop(): Promise<void>;
}

/** Reconciliation of one day against this configuration's database and topic. */
export function reconcilerFor(
  db: Db,
  config: Pick<SettlementConfig, "calendar" | "kafka" | "catchUpMs">,
): (day: string) => Promise<ReconciliationReport> {
  return (day) =>
    reconcileDay({
      db,
      calendar: config.calendar,
      topic: config.kafka.topic,
      catchUpMs: config.catchUpMs,
      scanTopic: async (fromMs, onRecord) => {
        await readTopic({
          brokers: config.kafka.brokers,
          topic: config.kafka.topic,
          fromTimestamp: fromMs,
          values: true,
          timeoutMs: 120_000,
          clientId: "payment-settlement-reconcile",
          onRecord,
        });
      },
    }, day);
}

/** Opens the ledger's database (Postgres, or the embedded store) and applies its migrations. */
export async function openLedgerDb(config: SettlementConfig): Promise<Db> {
  // Closing a day sums every event of it in one statement: a minute, not the service's 10 s.
  const db = config.databaseUrl === null
    ? await createPgliteDb(config.dataDir)
    : createPostgresDb(config.databaseUrl, {
      schema: config.databaseSchema,
      poolSize: 5,
      statementTimeoutMs: 120_000,
    });
  await migrateSettlement(db);
  return db;
}

/** Starts the process: HTTP at once, the group membership as soon as Kafka answers. */
export async function startSettlement(
  config: SettlementConfig,
  logger: Logger,
  opts: { onFatal?: (error: unknown) => void; now?: () => number } = {},
): Promise<RunningSettlement> {
  const db = await openLedgerDb(config);
  const metrics = createSettlementMetrics();
  const consumer = createLedgerConsumer({
    ...config.kafka,
    logger,
    storedOffset: async (partition) => {
      const [row] = await db.query<{ next_offset: string }>(
        "SELECT next_offset::text FROM settlement_offsets WHERE topic = $1 AND partition = $2",
        [config.kafka.topic, partition],
      );
      return row?.next_offset ?? null;
    },
    onCrash: (e) => opts.onFatal?.(e),
  });
  const reconcile = reconcilerFor(db, config);
  const runner = createRunner({
    db,
    consumer,
    metrics,
    logger,
    topic: config.kafka.topic,
    calendar: config.calendar,
    holdLimitMs: config.holdLimitMs,
    closeGraceMs: config.closeGraceMs,
    scheduleClose: config.scheduleClose,
    reconcile,
    now: opts.now,
  });
  const app = createSettlementApp({
    db,
    calendar: config.calendar,
    adminToken: config.adminToken,
    logger,
    close: runner.close,
    reconcile,
    metrics,
    status: () => ({ connected: consumer.connected(), assigned: consumer.assigned() }),
    now: opts.now,
  });
  const { server, port } = await serveOnPort(
    { port: config.port, hostname: config.host },
    app.fetch,
  );
  runner.start();

  const joining = joinWithRetry(
    () =>
      consumer.start(runner.handleBatch).then(() =>
        logger.info("settlement running", {
          topic: config.kafka.topic,
          group: config.kafka.groupId,
        })
      ),
    { what: "settlement consumer", logger, firstWaitMs: JOIN_RETRY_MS, maxWaitMs: 30_000 },
  );

  // The batch in flight commits (or rolls back) before the group is left.
  const stop = orderlyStop({
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    stopped: "settlement stopped",
  }, [
    ["join", () => (joining.cancel(), joining.settled())],
    ["kafka", () => consumer.stop()],
    ["runner", () => runner.stop()],
    ["http", () => server.shutdown()],
    ["database", () => db.close()],
  ]);
  return { port, runner, stop };
}

if (import.meta.main) {
  const config = loadOrExit(loadSettlementConfig);
  const logger = createLogger(config.logLevel);
  const exit = programExit(logger);
  let running: RunningSettlement;
  try {
    running = await startSettlement(config, logger, {
      onFatal: (e) => exit.fatal("settlement consumer crashed and kafkajs will not restart it", e),
    });
  } catch (e) {
    logger.error("settlement could not start", { error: errorMessage(e) });
    Deno.exit(1);
  }
  exit.running(running.stop);
  const base = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${running.port}`;
  logger.info(
    `payment-settlement on ${base} | group ${config.kafka.groupId} on ${config.kafka.topic} | ` +
      `business days ${config.calendar.timeZone} cut-off ${config.calendar.cutoffMinutes} min | ` +
      `statements ${base}/settlements?day=YYYY-MM-DD`,
    { port: running.port },
  );
}
