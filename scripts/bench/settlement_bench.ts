/**
 * Settlement's cost: a backlog of N events (authorise, capture, partial refund per payment, a
 * closed business day of them) is written to the outbox table and a fresh 3-partition topic,
 * then `src/settlement/main.ts` starts as a process and applies it. Reports events/s and CPU µs
 * per event of the settlement process and of Postgres (/proc, see cpu.ts) while applying, then
 * the time to close the day (statements and three-way reconciliation over all N events).
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 deno run -A scripts/bench/settlement_bench.ts [--events 1000000]
 *
 * `deno task bench` runs it too (20,000 events with --smoke).
 */
import { parseArgs } from "@std/cli/parse-args";
import { kafkaClient } from "../../src/kafka/client.ts";
import { createPostgresDb, type Db } from "../../src/outbox/db.ts";
import { migrate } from "../../src/outbox/migrations.ts";
import { createTopic, deleteGroups, deleteTopic } from "../../src/testing/kafka_admin.ts";
import { toRecord } from "../../src/outbox/publish_rows.ts";
import { addDays, businessDayOf, dayBounds } from "../../src/settlement/business_day.ts";
import { spawnService } from "../lib/service_process.ts";
import { freePort } from "../lib/util.ts";
import { postmasterPid, treeCpuMs } from "./cpu.ts";

/** What one settlement bench run measured. */
export interface SettlementBenchResult {
  events: number;
  /** Seconds from the first applied event to the last. */
  applySeconds: number;
  eventsPerSecond: number;
  cpuUsPerEvent: { settlement: number; postgres: number };
  peakRssMb: number;
  closeSeconds: number;
  /** The close's parts: reconciliation (outbox, topic, ledger) and freezing the statements. */
  closeTimings: { reconcileMs: number; freezeMs: number };
  statements: number;
  reconciled: boolean;
}

const ADMIN_TOKEN = "settlement-bench-admin-token";
const CAL = { timeZone: "Asia/Seoul", cutoffMinutes: 0 };

interface Row {
  id: string;
  aggregateid: string;
  type: string;
  payload: string;
}

function* backlog(n: number, day: string): Generator<Row> {
  const { start } = dayBounds(day, CAL);
  const span = 86_000_000;
  const types = ["PAYMENT_AUTHORIZED", "PAYMENT_CAPTURED", "PAYMENT_REFUNDED"];
  for (let i = 0; i < n; i++) {
    const p = Math.floor(i / 3);
    const step = i % 3;
    const amount = 1_000 + (p * 7919) % 500_000;
    const id = crypto.randomUUID();
    const paymentId = `bench-${p}`;
    yield {
      id,
      aggregateid: paymentId,
      type: types[step]!,
      payload: JSON.stringify({
        eventId: id,
        paymentId,
        merchantId: `merchant-${p % 100}`,
        type: types[step],
        amount: step === 2 ? Math.floor(amount / 4) : amount,
        currency: ["KRW", "EUR", "USD"][p % 3],
        occurredAt: new Date(start + Math.floor((p * 3 + step) * span / n)).toISOString(),
      }),
    };
  }
}

/** Writes the backlog to the outbox (as published) and the topic. */
async function seed(db: Db, brokers: string[], topic: string, n: number, day: string) {
  const kafka = kafkaClient({ brokers, clientId: "settlement-bench" });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  let chunk: Row[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const rows = chunk;
    chunk = [];
    await Promise.all([
      producer.send({ topic, acks: -1, messages: rows.map((r) => toRecord(r)) }),
      db.query(
        `INSERT INTO outbox (id, aggregateid, type, payload, status, published_at)
         SELECT i.id, i.a, i.t, i.p::jsonb, 'PUBLISHED', now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS i(id, a, t, p)`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.aggregateid),
          rows.map((r) => r.type),
          rows.map(
            (r) => r.payload,
          ),
        ],
      ),
    ]);
  };
  for (const row of backlog(n, day)) {
    chunk.push(row);
    if (chunk.length === 5000) await flush();
  }
  await flush();
  await producer.disconnect();
}

/** Runs the settlement bench against `brokers` and the Postgres at `databaseUrl`. */
export async function settlementBench(opts: {
  brokers: string[];
  databaseUrl: string;
  events: number;
  log?: (msg: string) => void;
}): Promise<SettlementBenchResult> {
  const log = opts.log ?? ((m: string) => console.log(`settlement bench: ${m}`));
  const suffix = crypto.randomUUID().slice(0, 8);
  const schema = `settle_bench_${suffix}`;
  const topic = `settle-bench-${suffix}`;
  const group = `settle-bench-${suffix}`;
  const db = createPostgresDb(opts.databaseUrl, { schema, poolSize: 4 });
  const day = addDays(businessDayOf(Date.now(), CAL), -1);
  await createTopic(opts.brokers, topic, { partitions: 3 });
  try {
    await migrate(db);
    const t0 = performance.now();
    await seed(db, opts.brokers, topic, opts.events, day);
    log(
      `seeded ${opts.events} events of ${day} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const port = freePort();
    const proc = await spawnService({
      name: "settlement-bench",
      script: "src/settlement/main.ts",
      env: {
        PORT: String(port),
        DATABASE_URL: opts.databaseUrl,
        DATABASE_SCHEMA: schema,
        KAFKA_BROKERS: opts.brokers.join(","),
        KAFKA_TOPIC: topic,
        SETTLEMENT_GROUP: group,
        SETTLEMENT_SCHEDULE_CLOSE: "false",
        SETTLEMENT_CATCH_UP_MS: "120000",
        ADMIN_TOKEN,
        LOG_LEVEL: "warn",
      },
      ready: true,
      maxLines: 200,
      echoStderr: true,
    });
    const postmaster = postmasterPid(Number(new URL(opts.databaseUrl).port || 5432));
    const applied = async () => {
      const [r] = await db.query<{ n: string }>(
        "SELECT coalesce(sum(next_offset), 0)::text AS n FROM settlement_offsets WHERE topic = $1",
        [topic],
      ).catch(() => [{ n: "0" }]);
      return Number(r?.n ?? 0);
    };
    try {
      let first = 0;
      let cpu0 = { s: 0, p: 0 };
      let peakRss = 0;
      const deadline = Date.now() + Math.max(120_000, opts.events / 2);
      for (;;) {
        const n = await applied();
        const rss = Number(
          /VmRSS:\s+(\d+)/.exec(await Deno.readTextFile(`/proc/${proc.pid}/status`))?.[1] ?? 0,
        ) / 1024;
        peakRss = Math.max(peakRss, rss);
        if (first === 0 && n > 0) {
          first = performance.now();
          cpu0 = { s: treeCpuMs(proc.pid), p: postmaster ? treeCpuMs(postmaster) : 0 };
          log(`first events applied (${n})`);
        }
        if (n >= opts.events) break;
        if (Date.now() > deadline) throw new Error(`applied ${n} of ${opts.events} in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const applySeconds = (performance.now() - first) / 1000;
      const cpu1 = { s: treeCpuMs(proc.pid), p: postmaster ? treeCpuMs(postmaster) : 0 };
      // The events counted from the first sample on were applied in the measured window.
      const measured = opts.events;
      const c0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/settlements/close`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ day }),
      });
      const closed = await res.json();
      const closeSeconds = (performance.now() - c0) / 1000;
      if (res.status !== 201) {
        throw new Error(`close answered ${res.status}: ${JSON.stringify(closed)}`);
      }
      const result: SettlementBenchResult = {
        events: opts.events,
        applySeconds,
        eventsPerSecond: measured / applySeconds,
        cpuUsPerEvent: {
          settlement: (cpu1.s - cpu0.s) * 1000 / measured,
          postgres: (cpu1.p - cpu0.p) * 1000 / measured,
        },
        peakRssMb: peakRss,
        closeSeconds,
        closeTimings: closed.timings,
        statements: closed.statements.length,
        reconciled: closed.reconciled,
      };
      log(
        `applied ${opts.events} events at ${
          result.eventsPerSecond.toFixed(0)
        } events/s; CPU µs/event settlement ${
          result.cpuUsPerEvent.settlement.toFixed(0)
        }, Postgres ${result.cpuUsPerEvent.postgres.toFixed(0)}; peak RSS ${
          peakRss.toFixed(0)
        } MB; close (${result.statements} statements, reconciled ${result.reconciled}) in ${
          closeSeconds.toFixed(1)
        } s (reconciliation ${(closed.timings.reconcileMs / 1000).toFixed(1)} s, statements ${
          (closed.timings.freezeMs / 1000).toFixed(1)
        } s)`,
      );
      return result;
    } finally {
      await proc.stop();
    }
  } finally {
    await deleteGroups(opts.brokers, [group]).catch(() => {});
    await deleteTopic(opts.brokers, topic).catch(() => {});
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await db.close();
  }
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, { string: ["events"] });
  const events = Number(args.events ?? 1_000_000);
  if (!Number.isInteger(events) || events < 3) {
    console.error("usage: settlement_bench.ts [--events N >= 3]");
    Deno.exit(2);
  }
  const r = await settlementBench({
    brokers: (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(","),
    databaseUrl: Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres",
    events,
  });
  console.log(JSON.stringify(r, null, 2));
}
