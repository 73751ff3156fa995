/**
 * Hand-written fakes for the in-process HTTP tests: each records what the routes asked of it and
 * answers as the test tells it to. Nothing here mocks a library.
 */
import { Hono } from "hono";
import { Registry } from "prom-client";
import { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { PUBLISH_BREAKER } from "../kafka/publisher.ts";
import { createTestClock, type TestClock } from "./test_clock.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Db, Queryable } from "../outbox/db.ts";
import type { Ingest, IngestResult } from "../outbox/ingest.ts";
import type { Relay, RelayStatus } from "../outbox/relay.ts";
import type { NewEvent } from "../outbox/repository.ts";
import type { ReconcileReport } from "../reconcile/reconcile.ts";
import type { AppDeps } from "../http/app.ts";
import { problemHandler, unmatchedRoute } from "../http/error_handler.ts";

/** One statement a fake database was sent. */
export interface RecordedQuery {
  text: string;
  params: unknown[];
}

/** A database that records every statement and answers with `answer` (or fails while `down`). */
export interface FakeDb extends Db {
  readonly queries: RecordedQuery[];
  answer: (text: string, params: unknown[]) => unknown[];
  down: boolean;
}

/** Creates a FakeDb; by default every statement returns no rows. */
export function fakeDb(answer: FakeDb["answer"] = () => []): FakeDb {
  const queries: RecordedQuery[] = [];
  const db: FakeDb = {
    kind: "server",
    location: "fake",
    schema: "public",
    queries,
    answer,
    down: false,
    query<T>(text: string, params: unknown[] = []): Promise<T[]> {
      queries.push({ text, params });
      if (db.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
      return Promise.resolve(db.answer(text, params) as T[]);
    },
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => fn(db),
    tryLeadership: () => Promise.resolve(null),
    close: () => Promise.resolve(),
  };
  return db;
}

/** An ingest path that records accepted events and answers `next` (or throws it). */
export interface FakeIngest extends Ingest {
  readonly accepted: NewEvent[];
  next: IngestResult | Error;
}

/** Creates a FakeIngest that answers PENDING until told otherwise. */
export function fakeIngest(): FakeIngest {
  const ingest: FakeIngest = {
    accepted: [],
    next: { kind: "pending", createdAt: new Date("2026-01-02T03:04:05.000Z"), reason: "queued" },
    accept(event) {
      ingest.accepted.push(event);
      return ingest.next instanceof Error
        ? Promise.reject(ingest.next)
        : Promise.resolve(ingest.next);
    },
    drain: () => Promise.resolve(),
    unmarkedSince: () => undefined,
  };
  return ingest;
}

/** A relay that only counts how often it was woken. */
export interface FakeRelay extends Relay {
  wakes: number;
}

/** The status every FakeRelay reports. */
export const FAKE_RELAY_STATUS: RelayStatus = {
  running: true,
  leader: true,
  lastBatchSize: 3,
  lastError: null,
  publishedTotal: 42,
};

/** Creates a FakeRelay. */
export function fakeRelay(): FakeRelay {
  const relay: FakeRelay = {
    wakes: 0,
    start() {},
    wake() {
      relay.wakes++;
    },
    stop: () => Promise.resolve(),
    status: () => ({ ...FAKE_RELAY_STATUS }),
  };
  return relay;
}

/** One log record a RecordingLogger kept. */
export interface LogRecord {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every record for assertions. */
export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
}

/** Creates a RecordingLogger. */
export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const at = (level: LogRecord["level"]) => (msg: string, fields = {}) => {
    records.push({ level, msg, fields });
  };
  return { records, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** One observation a RecordingMetrics kept. */
export interface HttpObservation {
  method: string;
  route: string;
  status: number;
}

/** Metrics that keep HTTP observations and the accepted count; render gives `rendered`. */
export interface RecordingMetrics extends Metrics {
  readonly http: HttpObservation[];
  acceptedTotal: number;
  rendered: string;
}

/** Creates a RecordingMetrics over an empty registry of its own. */
export function recordingMetrics(): RecordingMetrics {
  const metrics: RecordingMetrics = {
    registry: new Registry(),
    http: [],
    acceptedTotal: 0,
    rendered: "# fake exposition\n",
    observeHttp(method, route, status) {
      metrics.http.push({ method, route, status });
    },
    observePublish() {},
    accepted(count) {
      metrics.acceptedTotal += count;
    },
    published() {},
    recovered() {},
    render: () => Promise.resolve(metrics.rendered),
  };
  return metrics;
}

/** A breaker on a virtual clock, so no test waits and no timer outlives it. */
export function testBreaker(
  name = PUBLISH_BREAKER,
): { breaker: CircuitBreaker; clock: TestClock } {
  const clock = createTestClock();
  return { breaker: new CircuitBreaker(name, {}, { clock }), clock };
}

/** The admin token of `fakeApp` unless replaced. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** Every fake of an app, and the deps built from them. */
export interface FakeApp {
  deps: AppDeps;
  db: FakeDb;
  ingest: FakeIngest;
  relay: FakeRelay;
  logger: RecordingLogger;
  metrics: RecordingMetrics;
  breaker: CircuitBreaker;
}

/** AppDeps made of fakes and one breaker; `over` replaces any of them. */
export function fakeApp(over: Partial<AppDeps> = {}): FakeApp {
  const db = fakeDb();
  const ingest = fakeIngest();
  const relay = fakeRelay();
  const logger = recordingLogger();
  const metrics = recordingMetrics();
  const { breaker } = testBreaker();
  const deps: AppDeps = {
    db,
    ingest,
    relay,
    breakers: [breaker],
    metrics,
    logger,
    adminToken: ADMIN_TOKEN,
    ...over,
  };
  return { deps, db, ingest, relay, logger, metrics, breaker };
}

/** A valid payment event body. */
export function paymentEventBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f",
    paymentId: "pay-1",
    merchantId: "m-1",
    type: "PAYMENT_CREATED",
    amount: 100,
    currency: "EUR",
    occurredAt: "2026-11-25T10:00:00Z",
    ...over,
  };
}

/** A JSON request, with a bearer token when `token` is given. */
export function jsonRequest(method: string, body: unknown, token?: string): RequestInit {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return { method, headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}

/** Mounts one route module at `path` behind the service's error handler, as `createApp` does. */
export function mounted(path: string, routes: Hono, logger: Logger = recordingLogger()): Hono {
  const app = new Hono();
  app.onError(problemHandler(logger));
  app.notFound(unmatchedRoute(() => app.routes));
  app.route(path, routes);
  return app;
}

/** An outbox row as the database returns it (snake_case columns, as `findEvent` reads them). */
export function storedRow(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    seq: "7",
    id: "6f1c1a52-6f0e-4d4c-9d6e-0d6a4b1c2e3f",
    aggregateid: "pay-1",
    type: "PAYMENT_CREATED",
    payload: JSON.stringify(paymentEventBody()),
    status: "PUBLISHED",
    attempts: 1,
    last_error: null,
    created_at: new Date("2026-01-02T03:04:05.000Z"),
    published_at: new Date("2026-01-02T03:04:06.000Z"),
    ...over,
  };
}

/** A clean reconciliation report over [since, until) that found nothing to check. */
export function cleanReport(since: Date, until: Date, topic = "payment-events"): ReconcileReport {
  return {
    topic,
    since: since.toISOString(),
    until: until.toISOString(),
    checked: 0,
    found: 0,
    keys: 0,
    missing: [],
    duplicated: [],
    duplicateCopies: 0,
    outOfOrder: [],
    orderInversions: 0,
    unmatchedRecords: 0,
    recordsWithoutEventId: 0,
    wrongKey: [],
    clean: true,
    recordsRead: 0,
    partitions: [],
    pendingInRange: 0,
    deadLetteredInRange: 0,
    durationMs: 1,
  };
}
