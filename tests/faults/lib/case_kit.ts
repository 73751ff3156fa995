/** What every fault case shares: its own schema and topic, the service environment, the result row. */
import { createPostgresDb, type Db } from "../../../src/outbox/db.ts";
import type { Broker } from "../../../scripts/lib/kafka_ctl.ts";
import type { Verdict } from "../../../scripts/lib/checks.ts";
import { describeTransitions, type Transition } from "../../../scripts/lib/checks.ts";
import type { Attempt, LoadResult } from "../../../scripts/lib/load.ts";
import { FAST_TIMING, FAULTS_ADMIN_TOKEN } from "../../../scripts/lib/service_process.ts";
import { quantile, suffix } from "../../../scripts/lib/util.ts";

/** Shared by all cases of one run. */
export interface SuiteContext {
  broker: Broker;
  /** The shared Postgres server (never restarted by the suite). */
  databaseUrl: string;
  /** Port of the private cluster of the Postgres case. */
  privatePgPort: number;
  log(msg: string): void;
}

/** One case's isolated resources. */
export interface CaseKit {
  schema: string;
  topic: string;
  db: Db;
  /** Service environment for this case (merge per-instance extras over it). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Drops the schema and closes the connection. */
  cleanup(): Promise<void>;
}

/** Creates the schema name, topic and a verification connection for one case. */
export function caseKit(
  ctx: SuiteContext,
  name: string,
  databaseUrl = ctx.databaseUrl,
): CaseKit {
  const id = suffix();
  const schema = `faults_${name}_${id}`;
  const topic = `faults-${name}-${id}`;
  const db = createPostgresDb(databaseUrl, { schema, poolSize: 2, connectTimeoutS: 2 });
  return {
    schema,
    topic,
    db,
    env: (extra = {}) => ({
      PORT: "0",
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      KAFKA_BROKERS: ctx.broker.address,
      KAFKA_TOPIC: topic,
      ADMIN_TOKEN: FAULTS_ADMIN_TOKEN,
      ...FAST_TIMING,
      ...extra,
    }),
    async cleanup() {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await db.close(2000).catch(() => {});
    },
  };
}

/** One row of the suite's table. */
export interface CaseResult {
  id: number;
  name: string;
  sent: number;
  acknowledged: number;
  foundInKafka: number;
  duplicates: number;
  orderViolations: number;
  lost: number;
  transitions: string;
  durationS: number;
  failures: string[];
  notes: string[];
}

/** Builds a result row from a verdict, adding the checks every case shares. */
export function resultRow(
  id: number,
  name: string,
  load: LoadResult,
  v: Verdict,
  transitions: Transition[],
  t0: number,
  failures: string[],
  notes: string[],
): CaseResult {
  if (v.lost > 0) failures.push(`${v.lost} acknowledged events missing from Kafka: ${v.lostIds}`);
  if (v.orderViolations > 0) failures.push(`order violations: ${v.orderDetails.join("; ")}`);
  if (v.ackedNotInOutbox > 0) {
    failures.push(`${v.ackedNotInOutbox} acknowledged events are not in the outbox table`);
  }
  if (v.pendingLeft > 0) {
    failures.push(`${v.pendingLeft} events still PENDING after the drain wait`);
  }
  if (v.reconcile.checked < v.acknowledged) {
    failures.push(
      `reconcile compared ${v.reconcile.checked} published events, fewer than the ${v.acknowledged} acknowledged`,
    );
  }
  if (!v.reconcile.clean) {
    failures.push(
      `reconcile: ${v.reconcile.missing.length} missing, ${v.reconcile.outOfOrder.length} keys out of order`,
    );
  }
  const lat = load.attempts.map((a) => a.end - a.start);
  notes.push(
    `latency p50 ${quantile(lat, 0.5)} ms, p99 ${quantile(lat, 0.99)} ms, max ${
      Math.max(0, ...lat)
    } ms over ${load.attempts.length} attempts; answers ${statusCounts(load.attempts)}`,
  );
  notes.push(
    `reconcile: ${v.reconcile.checked} published events, ${v.reconcile.missing.length} missing, ${v.reconcile.duplicated.length} duplicated, ${v.reconcile.outOfOrder.length} keys out of order (${v.reconcile.durationMs} ms)`,
  );
  return {
    id,
    name,
    sent: load.sent,
    acknowledged: v.acknowledged,
    foundInKafka: v.foundInKafka,
    duplicates: v.duplicates,
    orderViolations: v.orderViolations,
    lost: v.lost,
    transitions: describeTransitions(transitions),
    durationS: Math.round((Date.now() - t0) / 100) / 10,
    failures,
    notes,
  };
}

/** "201:830 202:120 503:12 net:3" */
export function statusCounts(attempts: Attempt[]): string {
  const m = new Map<string, number>();
  for (const a of attempts) {
    const k = a.status === 0 ? "net" : String(a.status);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].sort().map(([k, n]) => `${k}:${n}`).join(" ");
}

/** Concatenates the load of consecutive phases (per-key order: phase by phase). */
export function mergeLoads(...loads: LoadResult[]): LoadResult {
  const ackOrder = new Map<string, string[]>();
  for (const l of loads) {
    for (const [k, ids] of l.ackOrder) ackOrder.set(k, [...(ackOrder.get(k) ?? []), ...ids]);
  }
  return {
    attempts: loads.flatMap((l) => l.attempts),
    sent: loads.reduce((n, l) => n + l.sent, 0),
    acked: new Map(loads.flatMap((l) => [...l.acked])),
    ackOrder,
    unacked: loads.flatMap((l) => l.unacked),
    durationMs: loads.reduce((n, l) => n + l.durationMs, 0),
  };
}

/** Latencies of attempts that started and ended inside one of the given intervals. */
export function latenciesWithin(attempts: Attempt[], intervals: [number, number][]): number[] {
  return attempts
    .filter((a) => intervals.some(([s, e]) => a.start >= s && a.end <= e))
    .map((a) => a.end - a.start);
}

/** Intervals the breaker spent in `state` on one instance, from its transitions. */
export function intervalsIn(
  transitions: Transition[],
  state: string,
  until: number,
): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < transitions.length; i++) {
    const t = transitions[i]!;
    if (t.to !== state) continue;
    const next = transitions.slice(i + 1).find((x) => x.instance === t.instance);
    out.push([t.at, next?.at ?? until]);
  }
  return out;
}
