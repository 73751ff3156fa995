/**
 * `deno task bench:client`: what a client gets with the defaults. The service runs with its
 * default settings (only where to find Postgres and Kafka, and an admin token, are given); wrk
 * sends a new paymentId per request and no eventId over 64 connections with one thread, 3 s of
 * warm-up then the measured seconds; CPU time per event is read from /proc for the service,
 * Postgres (the whole cluster) and the broker. The same run measures a reference
 * (scripts/bench/reference_service.ts: one INSERT per batch and a kafkajs send, no breaker).
 *
 * Phases: reference (Kafka up); service, Kafka up; service, Kafka down (the broker killed, the
 * breaker opens by itself); then `--backlog N` rows are added to the outbox and Kafka-down ingest
 * is measured again; then Kafka comes back and the drain is timed while a paced load of
 * `--drain-rate` req/s goes on. Every phase reports the service's peak RSS.
 *
 *   deno task bench:client [--runs N] [--duration <s>] [--warmup <s>] [--connections <n>]
 *                          [--backlog <rows>] [--drain-rate <req/s>] [--smoke] [--out <file>]
 */
import { parseArgs } from "@std/cli/parse-args";
import { createPostgresDb } from "../../src/outbox/db.ts";
import { migrate } from "../../src/outbox/migrations.ts";
import { broker } from "../lib/kafka_ctl.ts";
import { spawnService } from "../lib/service_process.ts";
import { freePort, ROOT } from "../lib/util.ts";
import { freePortPair } from "../free_port.ts";
import { type CpuSample, perRequestUs, postmasterPid, sampleCpu } from "./cpu.ts";
import { json, statusCounts, until, withRss } from "./probe.ts";
import { profiledPhase, profileWhile } from "./profile.ts";
import { ensureWrk, runWrk } from "./wrk.ts";
import { pendingRows, seedBacklog, startPaced, startReference } from "./client_processes.ts";

/** One measured phase. */
export interface ClientPhase {
  phase: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU µs per event: service (or reference), Postgres, Kafka. */
  cpuUs: { service: number; postgres: number; kafka: number };
  peakRssMb: number;
}

/** The drain with a paced load going on. */
export interface DrainResult {
  backlog: number;
  /** From the breaker leaving OPEN (its wait after the outage) to the last backlog row published. */
  seconds: number;
  /** From Kafka's start: the breaker's wait in OPEN included. */
  secondsFromKafkaStart: number;
  eventsPerSecond: number;
  cpuUs: { service: number; postgres: number; kafka: number };
  paced: { rate: number; sent: number; p50Ms: number; p99Ms: number; statuses: unknown };
  peakRssMb: number;
}

/** One run of every phase. */
export interface ClientRun {
  phases: ClientPhase[];
  drain: DrainResult | null;
  peakRssMb: number;
  /** Rows the outbox still held PENDING after the drain (0: nothing left behind). */
  leftPending: number;
}

/** Settings of a run. */
export interface ClientBenchOptions {
  databaseUrl: string;
  warmup: number;
  duration: number;
  connections: number;
  backlog: number;
  drainRate: number;
  /** One more Kafka-up phase under the V8 profiler: the service's CPU per event by stage. */
  profile?: boolean;
  log: (m: string) => void;
}

const ADMIN_TOKEN = "client-bench-admin-token-0123456789";

/** Runs every phase once against a fresh broker, schema and topic. */
export async function clientBench(opts: ClientBenchOptions): Promise<ClientRun> {
  const { log } = opts;
  const port = Number(Deno.env.get("BENCH_KAFKA_PORT") ?? freePortPair(29392));
  const kafka = broker(port, port + 1, { allowSharedPorts: true });
  const brokers = [kafka.address];
  const id = crypto.randomUUID().slice(0, 8);
  const schema = `client_${id}`;
  const refSchema = `client_${id}_ref`;
  const topic = `client-${id}`;
  await kafka.reset().catch(() => {});
  await kafka.start();
  const db = createPostgresDb(opts.databaseUrl, { schema, poolSize: 2 });
  const refDb = createPostgresDb(opts.databaseUrl, { schema: refSchema, poolSize: 1 });
  await migrate(refDb);
  const postmaster = postmasterPid(Number(new URL(opts.databaseUrl).port || 5432));
  let nonce = Math.floor(Date.now() / 1000) % 1_000_000 * 10;
  const phases: ClientPhase[] = [];
  let peak = 0;
  let drain: DrainResult | null = null;
  const inspectPort = freePort();
  const service = await spawnService({
    name: "client-bench",
    denoFlags: ["-A", ...(opts.profile ? [`--inspect=127.0.0.1:${inspectPort}`] : [])],
    env: {
      PORT: String(freePort()),
      DATABASE_URL: opts.databaseUrl,
      DATABASE_SCHEMA: schema,
      KAFKA_BROKERS: brokers.join(","),
      KAFKA_TOPIC: topic,
      ADMIN_TOKEN,
    },
    startTimeoutMs: 60_000,
    ready: true,
    maxLines: 2000,
    echoStderr: true,
  });
  try {
    const servicePid = service.pid;
    /** Warm-up, then the measured run, of wrk against `url`, charged to `pid`. */
    const measure = async (phase: string, url: string, pid: number) => {
      if (opts.warmup > 0) await wrkRun(url, opts.warmup, ++nonce, opts.connections);
      const processes = {
        service: () => pid,
        postgres: () => postmaster,
        kafka: () => [kafka.pid()],
      };
      const before = sampleCpu(processes);
      const [r, rss] = await withRss(
        pid,
        () => wrkRun(url, opts.duration, ++nonce, opts.connections),
      );
      const cpu = perRequestUs(before, sampleCpu(processes), r.requests);
      const result: ClientPhase = {
        phase,
        requestsPerSecond: r.requests / (r.duration_us / 1e6),
        p50Ms: r.p50_ms,
        p99Ms: r.p99_ms,
        errors: r.errors_status + r.errors_connect + r.errors_timeout,
        cpuUs: { service: cpu.service, postgres: cpu.postgres, kafka: cpu.kafka },
        peakRssMb: rss,
      };
      if (pid === servicePid) peak = Math.max(peak, rss);
      phases.push(result);
      log(formatPhase(result));
      return result;
    };

    // The topic exists once the service has published (it creates it); the reference needs it.
    await wrkRun(`${service.base}/payments`, 1, ++nonce, 4);
    const ref = await startReference({
      databaseUrl: opts.databaseUrl,
      table: `"${refSchema}".outbox`,
      brokers,
      topic,
    });
    try {
      await measure("reference, Kafka up", `${ref.base}/payments`, ref.pid);
    } finally {
      await ref.stop();
    }
    await measure("service, Kafka up", `${service.base}/payments`, servicePid);
    /** With --profile, one more run of the phase under the V8 profiler. */
    const profiled = async (name: string) => {
      if (!opts.profile) return;
      const n = ++nonce;
      await profiledPhase({
        inspectPort,
        processes: { service: () => servicePid, postgres: () => postmaster, kafka: () => [] },
        run: () => wrkRun(`${service.base}/payments`, opts.duration, n, opts.connections),
        saveTo: `${ROOT}bench-results/client-${name}.cpuprofile`,
      });
    };
    await profiled("kafka-up");

    await kafka.kill();
    await measure("service, Kafka down", `${service.base}/payments`, servicePid);
    await profiled("kafka-down");
    const state = (await json(`${service.base}/circuit-breaker/kafka-publisher`)).state;
    log(`breaker ${state} after the Kafka-down phase`);

    if (opts.backlog > 0) {
      const t0 = performance.now();
      await seedBacklog(db, opts.backlog);
      log(
        `added ${opts.backlog} pending rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      await measure(
        `service, Kafka down, ${opts.backlog.toLocaleString("en")} pending`,
        `${service.base}/payments`,
        servicePid,
      );
    }

    // Kafka back: the breaker closes by itself (its wait in OPEN, then trial calls) and the
    // relay drains while clients go on at a steady rate.
    const backlog = await pendingRows(db);
    const [last] = await db.query<{ seq: string }>("SELECT max(seq)::text AS seq FROM outbox");
    const lastSeq = last?.seq ?? "0";
    const processes = {
      service: () => servicePid,
      postgres: () => postmaster,
      kafka: () => [kafka.pid()],
    };
    const t0 = performance.now();
    await kafka.start();
    const before = sampleCpu(processes);
    const paced = startPaced(`${service.base}/payments`, opts.drainRate, ++nonce);
    let drainedAt = 0;
    let closedAt = 0;
    const drainWork = () =>
      withRss(servicePid, async () => {
        // The breaker stays OPEN for its wait (30 s by default), then lets trial calls through.
        await until(
          async () =>
            (await json(`${service.base}/circuit-breaker/kafka-publisher`)).state !== "OPEN",
          120_000,
          "the breaker to leave OPEN",
          () => 200,
        );
        closedAt = performance.now();
        const progress = setInterval(async () => {
          const o = await json(`${service.base}/outbox`).catch(() => null);
          const b = await json(`${service.base}/circuit-breaker/kafka-publisher`).catch(() => null);
          log(`drain: breaker ${b?.state}, relay ${JSON.stringify(o?.relay)}`);
        }, 5000);
        // Drained: no row accepted before Kafka came back is still pending (one index probe).
        await until(
          async () =>
            (await db.query(
              "SELECT 1 FROM outbox WHERE status = 'PENDING' AND seq <= $1::int8 LIMIT 1",
              [lastSeq],
            )).length === 0,
          900_000,
          "the outbox to drain",
          () => 1000,
        );
        drainedAt = performance.now();
        clearInterval(progress);
      });
    let rss: number;
    if (opts.profile) {
      const [[, peakRss], profile] = await profileWhile(inspectPort, drainWork);
      rss = peakRss;
      await Deno.writeTextFile(
        `${ROOT}bench-results/client-drain.cpuprofile`,
        JSON.stringify(profile),
      );
    } else [, rss] = await drainWork();
    const after: CpuSample = sampleCpu(processes);
    const load = await paced.stop();
    peak = Math.max(peak, rss);
    const seconds = (drainedAt - closedAt) / 1000;
    const cpu = perRequestUs(before, after, backlog + load.sent);
    drain = {
      backlog,
      seconds,
      secondsFromKafkaStart: (drainedAt - t0) / 1000,
      eventsPerSecond: backlog / seconds,
      cpuUs: { service: cpu.service, postgres: cpu.postgres, kafka: cpu.kafka },
      paced: {
        rate: opts.drainRate,
        sent: load.sent,
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        statuses: load.statuses,
      },
      peakRssMb: rss,
    };
    log(
      `drain: ${backlog} events in ${seconds.toFixed(1)} s after the breaker left OPEN (${
        drain.secondsFromKafkaStart.toFixed(1)
      } s after Kafka's start) = ${
        drain.eventsPerSecond.toFixed(0)
      } events/s; paced ${opts.drainRate} req/s: ${load.sent} sent, p50 ${
        load.p50Ms.toFixed(1)
      } ms, p99 ${load.p99Ms.toFixed(1)} ms, ${JSON.stringify(load.statuses)}; peak RSS ${
        rss.toFixed(0)
      } MB`,
    );
    const statuses = await statusCounts(service.base, "/payments");
    log(`service answers over the run: ${JSON.stringify(statuses)}`);
    await until(async () => (await pendingRows(db)) === 0, 60_000, "the paced events' publish");
    return { phases, drain, peakRssMb: peak, leftPending: await pendingRows(db) };
  } finally {
    await service.stop();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await refDb.query(`DROP SCHEMA IF EXISTS "${refSchema}" CASCADE`).catch(() => {});
    await db.close();
    await refDb.close();
    await kafka.reset().catch(() => {});
  }
}

function formatPhase(p: ClientPhase): string {
  return `${p.phase}: ${p.requestsPerSecond.toFixed(0)} req/s, p50 ${p.p50Ms.toFixed(1)} ms, p99 ${
    p.p99Ms.toFixed(1)
  } ms, errors ${p.errors}; CPU µs/event service ${p.cpuUs.service.toFixed(0)}, Postgres ${
    p.cpuUs.postgres.toFixed(0)
  }, Kafka ${p.cpuUs.kafka.toFixed(0)}; peak RSS ${p.peakRssMb.toFixed(0)} MB`;
}

function wrkRun(url: string, seconds: number, nonce: number, connections: number) {
  return runWrk(ROOT, url, { threads: 1, connections, seconds, nonce, fresh: true });
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["runs", "duration", "warmup", "connections", "backlog", "drain-rate", "out"],
    boolean: ["smoke", "profile"],
  });
  const num = (name: string, fallback: number, min = 0) => {
    const v = args[name as "runs"];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      console.error(`bench:client: --${name} must be an integer >= ${min}, got "${v}"`);
      Deno.exit(2);
    }
    return n;
  };
  const smoke = args.smoke;
  const runs = num("runs", 1, 1);
  const opts: ClientBenchOptions = {
    databaseUrl: Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres",
    warmup: num("warmup", smoke ? 1 : 3),
    duration: num("duration", smoke ? 2 : 15, 1),
    connections: num("connections", smoke ? 8 : 64, 1),
    backlog: num("backlog", smoke ? 20_000 : 2_000_000),
    drainRate: num("drain-rate", smoke ? 100 : 1000, 1),
    profile: args.profile,
    log: (m) => console.log(`bench:client: ${m}`),
  };
  if (!await ensureWrk(ROOT)) {
    console.error("bench:client: wrk is not installed; run: sudo apt-get install wrk");
    Deno.exit(2);
  }
  const results: ClientRun[] = [];
  for (let i = 1; i <= runs; i++) {
    opts.log(`run ${i} of ${runs}`);
    results.push(await clientBench(opts));
  }
  const out = args.out ?? `${ROOT}bench-results/client${smoke ? "-smoke" : ""}.json`;
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(
    out,
    JSON.stringify({ date: new Date().toISOString(), settings: opts, runs: results }, null, 2) +
      "\n",
  );
  opts.log(`results written to ${out}`);
}
