/**
 * The Hono application: ingest, breaker admin, outbox, health, metrics, API description, and the
 * operator page with its settlement panel.
 */
import { Hono } from "hono";
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import type { Logger } from "../log.ts";
import type { ChartHistory } from "../metrics/chart_history.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Db } from "../outbox/db.ts";
import type { Ingest } from "../outbox/ingest.ts";
import type { Relay } from "../outbox/relay.ts";
import type { OutboxStats } from "../outbox/repository.ts";
import type { ReconcileReport } from "../reconcile/reconcile.ts";
import { SERVICE_SETTINGS } from "../settings/service.ts";
import { breakerRoutes } from "./breaker_routes.ts";
import { problemHandler, unmatchedRoute } from "./error_handler.ts";
import { healthRoutes } from "./health_routes.ts";
import { historyRoutes } from "./history_routes.ts";
import { httpMetrics } from "./http_metrics.ts";
import { metaRoutes } from "./meta_routes.ts";
import { outboxRoutes } from "./outbox_routes.ts";
import { pageRoutes } from "./page_routes.ts";
import { paymentsRoutes } from "./payments_routes.ts";
import { settlementRoutes } from "./settlement_routes.ts";

/** Everything the app needs; `main.ts` wires the real ones, tests pass their own. */
export interface AppDeps {
  db: Db;
  ingest: Ingest;
  relay: Relay;
  breakers: readonly CircuitBreaker[];
  metrics: Metrics;
  logger: Logger;
  adminToken: string | null;
  bodyLimitBytes?: number;
  /** Seconds a client should wait before retrying when the outbox is unavailable. */
  retryAfterSeconds?: number;
  /** Longest wait for a POST /payments body to arrive (slow or stalled clients); 408 after. */
  bodyReadTimeoutMs?: number;
  /** POST /payments requests handled at once; more are answered 503 with Retry-After. */
  maxInFlightPayments?: number;
  /** Compares the outbox with the topic (POST /outbox/reconcile); absent: 501. */
  reconcile?: (since: Date, until: Date) => Promise<ReconcileReport>;
  /** Base URL of the settlement process (GET /settlement/summary); absent or null: 404. */
  settlementUrl?: string | null;
  /** The outbox's counts (GET /outbox); default a fresh reading per request. */
  outboxStats?: () => Promise<OutboxStats>;
  /** True once a graceful shutdown began (readiness answers 503). */
  draining?: () => boolean;
  /** The operator page's chart history (GET /operator/history); absent: 404. */
  chartHistory?: Pick<ChartHistory, "view">;
}

/** Creates the HTTP application from its route modules; the one place they are put together. */
export function createApp(deps: AppDeps): Hono {
  const { db, metrics, logger, breakers, adminToken } = deps;
  const retryAfter = String(deps.retryAfterSeconds ?? 2);
  const app = new Hono();

  app.use(httpMetrics(metrics));
  app.onError(problemHandler(logger));
  app.notFound(unmatchedRoute(() => app.routes));

  app.route(
    "/payments",
    paymentsRoutes({
      db,
      ingest: deps.ingest,
      metrics,
      logger,
      retryAfter,
      maxInFlight: deps.maxInFlightPayments ?? SERVICE_SETTINGS.maxInFlightPayments.default,
      bodyLimitBytes: deps.bodyLimitBytes ?? SERVICE_SETTINGS.bodyLimitBytes.default,
      bodyReadTimeoutMs: deps.bodyReadTimeoutMs ?? SERVICE_SETTINGS.bodyReadTimeoutMs.default,
    }),
  );
  app.route("/circuit-breaker", breakerRoutes({ breakers, logger, adminToken }));
  app.route(
    "/outbox",
    outboxRoutes({
      db,
      relay: deps.relay,
      logger,
      adminToken,
      retryAfter,
      reconcile: deps.reconcile,
      stats: deps.outboxStats,
    }),
  );
  app.route("/", pageRoutes());
  app.route("/operator/history", historyRoutes({ history: deps.chartHistory ?? null }));
  app.route(
    "/settlement",
    settlementRoutes({ settlementUrl: deps.settlementUrl ?? null, logger, retryAfter }),
  );
  app.route("/health", healthRoutes({ db, breakers, logger, draining: deps.draining }));
  app.route("/", metaRoutes({ metrics }));
  return app;
}
