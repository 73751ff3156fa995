/**
 * `deno task bench`: end-to-end throughput of the service against real Postgres and a real local
 * Kafka, driven by wrk over loopback, with baselines measured in the same run.
 *
 *   deno task bench [--smoke] [--duration <s>] [--connections <n>] [--threads <n>]
 *                   [--warmup <s>] [--brokers 1|3] [--profile] [--keep] [--out <file>] [--help]
 *
 * Phases: bare route (JSON + validation, no I/O), naive route (one single-row insert per
 * request), healthy (Kafka up), healthy in exactly-once mode (a second service with
 * DELIVERY_GUARANTEE=exactly-once, its own schema and topic), Kafka down (breaker OPEN), drain
 * (Kafka back, backlog published), breaker overhead (deno bench: ours vs opossum vs cockatiel),
 * settlement (scripts/bench/settlement_bench.ts: a backlog applied, its day closed), and what a
 * client gets with the defaults (scripts/bench/client_bench.ts, also `deno task bench:client`).
 * Each phase has a warm-up on its route first. The headline figures are CPU microseconds per request of the service,
 * Postgres (the whole cluster), the Kafka broker and wrk, read from /proc before and after the
 * phase. `--profile` adds one more healthy phase under the V8 profiler and prints the service's
 * CPU per request by stage. Prints a markdown table with ratios and writes the figures as JSON;
 * then checks that every accepted event is in the topic.
 */
import { createPostgresDb } from "../src/outbox/db.ts";
import { freePortPair } from "./free_port.ts";
import { profiledPhase } from "./bench/profile.ts";
import { perRequestUs, postmasterPid, sampleCpu } from "./bench/cpu.ts";
import { type BenchReport, type PhaseResult, renderReport } from "./bench/report.ts";
import { broker, cluster } from "./lib/kafka_ctl.ts";
import { spawnService } from "./lib/service_process.ts";
import { freePort } from "./lib/util.ts";
import { ensureWrk, runWrk, sh, type WrkResult } from "./bench/wrk.ts";
import { diff, json, statusCounts, until, withRss } from "./bench/probe.ts";
import { storedInTopic } from "./bench/verify.ts";
import { settlementBench, type SettlementBenchResult } from "./bench/settlement_bench.ts";
import { clientBench } from "./bench/client_bench.ts";
import { benchOptions } from "./bench/options.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { args, SMOKE, DURATION, CONNECTIONS, THREADS, WARMUP, PROFILE, OUT } = benchOptions(
  Deno.args,
  ROOT,
  fail,
);
const KAFKA_PORT = Number(Deno.env.get("BENCH_KAFKA_PORT") ?? freePortPair(29292));
/** The bench's Kafka: one broker, or a three-broker cluster (ports +0, +2, +4; controller +1). */
const kafka = args.brokers === "3"
  ? (() => {
    const c = cluster(KAFKA_PORT);
    return { ...c, brokers: c.brokers, pids: () => c.pids() };
  })()
  : (() => {
    const b = broker(KAFKA_PORT, KAFKA_PORT + 1, { allowSharedPorts: true });
    return { ...b, brokers: [b.address], pids: () => [b.pid()] };
  })();
const BROKERS = kafka.brokers;
const DATABASE_URL = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ADMIN_TOKEN = "bench-admin-token-0123456789";

function fail(message: string): never {
  console.error(`bench: ${message}`);
  Deno.exit(2);
}

/** One wrk run against the service with the run's settings. */
function wrk(base: string, path: string, nonce: number, seconds = DURATION): Promise<WrkResult> {
  return runWrk(ROOT, `${base}${path}`, {
    threads: THREADS,
    connections: CONNECTIONS,
    seconds,
    nonce,
  });
}

async function breakerOverhead(): Promise<Record<string, number>> {
  const text = await sh(
    "deno bench -A --import-map=import_map.dev.json --lock=deno.dev.lock --json scripts/bench/breaker_bench.ts 2>/dev/null",
    {},
    ROOT,
  );
  const report = JSON.parse(text.slice(text.indexOf("{")));
  const out: Record<string, number> = {};
  for (const b of report.benches) out[b.name] = b.results[0].ok.avg; // nanoseconds
  return out;
}

async function main() {
  if (!await ensureWrk(ROOT)) {
    fail("wrk is not installed and could not be installed; run: sudo apt-get install wrk");
  }
  const schema = `bench_${crypto.randomUUID().slice(0, 8)}`;
  const topic = `bench-${crypto.randomUUID().slice(0, 8)}`;
  console.log(`bench: Kafka on ${BROKERS.join(",")}, Postgres schema ${schema}, topic ${topic}`);
  const kafkaWasRunning = (await kafka.status()) === "running";
  await kafka.start();
  const db = createPostgresDb(DATABASE_URL, { schema, poolSize: 2 });
  const cleanUp = async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await db.query(`DROP SCHEMA IF EXISTS "${schema}_eo" CASCADE`).catch(() => {});
    await db.close();
    if (!kafkaWasRunning && !args.keep) await kafka.reset().catch(() => {});
  };
  const inspectPort = freePort();
  const serviceEnv = (schema: string, topic: string, extra: Record<string, string> = {}) => ({
    PORT: String(freePort()),
    DATABASE_URL,
    DATABASE_SCHEMA: schema,
    KAFKA_BROKERS: BROKERS.join(","),
    KAFKA_TOPIC: topic,
    ADMIN_TOKEN,
    LOG_LEVEL: "warn",
    KAFKA_REQUEST_TIMEOUT_MS: "1000",
    KAFKA_DELIVERY_TIMEOUT_MS: "2000",
    BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS: "2000",
    ...extra,
  });
  const eoSchema = `${schema}_eo`;
  const eoTopic = `${topic}-eo`;
  const service = await spawnService({
    name: "bench",
    script: "scripts/bench/bench_service.ts",
    denoFlags: ["-A", ...(PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : [])],
    env: serviceEnv(schema, topic),
    startTimeoutMs: 30_000,
    ready: true,
    maxLines: 1000,
    echoStderr: true,
  }).catch(async (e) => {
    await cleanUp();
    throw e;
  });
  const base = service.base;
  const results: PhaseResult[] = [];
  let drain: Record<string, number> = {};
  let overhead: Record<string, number> = {};
  let verification: Record<string, unknown> = {};
  let stages: Record<string, number> = {};
  let settlement: SettlementBenchResult | null = null;
  try {
    let nonce = Math.floor(Date.now() / 1000) % 1_000_000 * 10;
    const postmaster = postmasterPid(Number(new URL(DATABASE_URL).port || 5432));
    let target = { base, pid: service.pid };
    const processes = {
      service: () => target.pid,
      postgres: () => postmaster,
      kafka: () => kafka.pids(),
    };
    const phase = async (name: string, path: string, route: string) => {
      const { base } = target;
      // Warm-up on the same route: V8's and the broker's JIT, pools, the topic's metadata.
      if (WARMUP > 0) await wrk(base, path, ++nonce, WARMUP);
      const before = await statusCounts(base, route);
      const cpuBefore = sampleCpu(processes);
      const [r, peak] = await withRss(target.pid, () => wrk(base, path, ++nonce));
      const cpu = perRequestUs(cpuBefore, sampleCpu(processes), r.requests);
      const statuses = diff(await statusCounts(base, route), before);
      const result: PhaseResult = {
        phase: name,
        requestsPerSecond: r.requests / (r.duration_us / 1e6),
        p50Ms: r.p50_ms,
        p99Ms: r.p99_ms,
        p999Ms: r.p999_ms,
        errors: r.errors_status + r.errors_connect + r.errors_timeout,
        statuses,
        peakRssMb: peak,
        cpuUsPerRequest: { ...cpu, wrk: r.requests > 0 ? r.cpu_ms * 1000 / r.requests : NaN },
      };
      results.push(result);
      const us = result.cpuUsPerRequest;
      console.log(
        `bench: ${name}: CPU µs/request service ${us.service.toFixed(0)}, Postgres ${
          us.postgres.toFixed(0)
        }, Kafka ${us.kafka.toFixed(0)}${
          us.kafkaBrokers.length > 1
            ? ` (brokers ${us.kafkaBrokers.map((b) => b.toFixed(0)).join(" / ")})`
            : ""
        }, wrk ${us.wrk.toFixed(0)}; ` +
          `${result.requestsPerSecond.toFixed(0)} req/s, p99 ${r.p99_ms.toFixed(1)} ms, ` +
          `statuses ${JSON.stringify(statuses)}, errors ${result.errors}, peak RSS ${
            peak.toFixed(0)
          } MB`,
      );
      return result;
    };

    // Warm-up: JIT, connection pools, topic creation.
    await runWrk(ROOT, `${base}/payments`, {
      threads: 1,
      connections: 4,
      seconds: 1,
      nonce: ++nonce,
    });
    await phase("bare (no I/O)", "/bench/bare", "/bench/bare");
    await phase("naive insert per request", "/bench/naive", "/bench/naive");
    await phase("healthy (Kafka up)", "/payments", "/payments");
    // The same phase in exactly-once mode: a second service, its own schema and topic, so the
    // two modes are measured in one run against the same broker and Postgres.
    const eo = await spawnService({
      name: "bench-eo",
      env: serviceEnv(eoSchema, eoTopic, { DELIVERY_GUARANTEE: "exactly-once" }),
      startTimeoutMs: 30_000,
      ready: true,
      maxLines: 1000,
      echoStderr: true,
    });
    try {
      target = { base: eo.base, pid: eo.pid };
      await runWrk(ROOT, `${eo.base}/payments`, {
        threads: 1,
        connections: 4,
        seconds: 1,
        nonce: ++nonce,
      });
      await phase("healthy, exactly-once (Kafka up)", "/payments", "/payments");
    } finally {
      target = { base, pid: service.pid };
      await eo.stop();
    }
    if (PROFILE) {
      const n = ++nonce;
      stages = await profiledPhase({
        inspectPort,
        processes,
        run: () => wrk(base, "/payments", n),
        saveTo: OUT.replace(/\.json$/, "") + ".cpuprofile",
      });
    }

    await kafka.kill();
    // A few requests fail against the dead broker until the breaker opens.
    await until(
      async () => {
        await fetch(`${base}/payments`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            paymentId: "opener",
            merchantId: "m",
            type: "PAYMENT_CREATED",
            amount: 1,
            currency: "EUR",
            occurredAt: new Date().toISOString(),
          }),
        }).then((r) => r.body?.cancel());
        return (await json(`${base}/circuit-breaker/kafka-publisher`)).state === "OPEN";
      },
      30_000,
      "the breaker to open",
    );
    // Keep it OPEN for the whole phase: this phase measures accepting into the outbox only.
    await fetch(`${base}/circuit-breaker/kafka-publisher/state`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ state: "FORCED_OPEN", reason: "bench: Kafka down phase" }),
    }).then((r) => r.body?.cancel());
    await phase("Kafka down (breaker OPEN)", "/payments", "/payments");

    const backlog = Number((await json(`${base}/outbox`)).pending);
    await kafka.start();
    const t0 = performance.now();
    const drainCpuBefore = sampleCpu(processes);
    await fetch(`${base}/circuit-breaker/kafka-publisher/state`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ state: "CLOSED", reason: "bench: Kafka back" }),
    }).then((r) => r.body?.cancel());
    // GET /outbox counts pending rows, which walks the pending index (dead entries included):
    // asked every 100 ms it contended with the relay's updates and halved the drain rate. So ask
    // every 500 ms while much is left, then every 50 ms for an exact end.
    let left = backlog;
    const [, drainPeak] = await withRss(service.pid, () =>
      until(
        async () => (left = Number((await json(`${base}/outbox`)).pending)) === 0,
        300_000,
        "the outbox to drain",
        () => left > 10_000 ? 500 : 50,
      ));
    const drainSeconds = (performance.now() - t0) / 1000;
    const drainCpu = perRequestUs(drainCpuBefore, sampleCpu(processes), backlog);
    drain = {
      cpuUsPerEventService: drainCpu.service,
      cpuUsPerEventPostgres: drainCpu.postgres,
      cpuUsPerEventKafka: drainCpu.kafka,
      backlog,
      seconds: drainSeconds,
      eventsPerSecond: backlog / drainSeconds,
      peakRssMb: drainPeak,
    };
    console.log(
      `bench: drain: ${backlog} events in ${drainSeconds.toFixed(2)} s = ${
        (backlog / drainSeconds).toFixed(0)
      } events/s; CPU µs/event service ${drainCpu.service.toFixed(0)}, Postgres ${
        drainCpu.postgres.toFixed(0)
      }, Kafka ${drainCpu.kafka.toFixed(0)}`,
    );

    overhead = await breakerOverhead();
    console.log(`bench: breaker overhead (ns/call): ${JSON.stringify(overhead)}`);
    // Settlement: a backlog applied by the settlement process, then its day closed.
    settlement = await settlementBench({
      brokers: BROKERS,
      databaseUrl: DATABASE_URL,
      events: SMOKE ? 20_000 : 1_000_000,
      log: (m) => console.log(`bench: settlement: ${m}`),
    });

    // No loss: every event stored by the healthy and Kafka-down phases is in the topic, and
    // every event the exactly-once service stored is in its topic once.
    const acknowledged = results.slice(2).filter((r) => !r.phase.includes("exactly-once")).reduce(
      (n, r) => n + (r.statuses["201"] ?? 0) + (r.statuses["202"] ?? 0),
      0,
    );
    const timeoutMs = SMOKE ? 60_000 : 180_000;
    const alo = await storedInTopic(db, "outbox", { brokers: BROKERS, topic, timeoutMs });
    const once = await storedInTopic(db, `"${eoSchema}".outbox`, {
      brokers: BROKERS,
      topic: eoTopic,
      timeoutMs,
    });
    verification = {
      storedEvents: alo.stored,
      acknowledgedInMeasuredPhases: acknowledged,
      foundInTopic: alo.found,
      topicMessages: alo.messages,
      lost: alo.lost,
      exactlyOnceStored: once.stored,
      exactlyOnceFound: once.found,
      exactlyOnceLost: once.lost,
      exactlyOnceDuplicates: once.duplicates,
    };
    console.log(`bench: verification ${JSON.stringify(verification)}`);
  } finally {
    await service.stop();
    await cleanUp();
  }
  // What a client gets with the defaults, next to a reference measured in the same run
  // (scripts/bench/client_bench.ts; its own broker, schemas and topic).
  const client = await clientBench({
    databaseUrl: DATABASE_URL,
    warmup: WARMUP,
    duration: SMOKE ? DURATION : 15,
    connections: CONNECTIONS,
    backlog: SMOKE ? 20_000 : 2_000_000,
    drainRate: SMOKE ? 100 : 1000,
    log: (m) => console.log(`bench: client: ${m}`),
  });

  const naive = results.find((r) => r.phase.startsWith("naive"))!;
  const healthy = results.find((r) => r.phase === "healthy (Kafka up)")!;
  const healthyEo = results.find((r) => r.phase.startsWith("healthy, exactly-once"))!;
  const down = results.find((r) => r.phase.startsWith("Kafka down"))!;
  const ours = overhead["ours: CircuitBreaker.execute"] ?? NaN;
  const ratios = {
    healthyOverNaive: healthy.requestsPerSecond / naive.requestsPerSecond,
    exactlyOnceOverAtLeastOnceRequestsPerSecond: healthyEo.requestsPerSecond /
      healthy.requestsPerSecond,
    exactlyOnceOverAtLeastOnceServiceCpu: healthyEo.cpuUsPerRequest.service /
      healthy.cpuUsPerRequest.service,
    kafkaDownOverNaive: down.requestsPerSecond / naive.requestsPerSecond,
    oursOverOpossum: ours / (overhead["opossum: fire"] ?? NaN),
    oursOverCockatiel: ours / (overhead["cockatiel: execute"] ?? NaN),
  };
  const machine = {
    cpus: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    memoryGb: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
  };
  const report: BenchReport & Record<string, unknown> = {
    date: new Date().toISOString(),
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
    settings: { durationS: DURATION, connections: CONNECTIONS, threads: THREADS },
    machine,
    phases: results,
    drain,
    breakerOverheadNs: overhead,
    stageCpuUsPerRequest: stages,
    ratios,
    verification,
    settlement,
    client,
  };
  await Deno.mkdir(OUT.slice(0, OUT.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(OUT, JSON.stringify(report, null, 2) + "\n");

  const table = renderReport(report);
  console.log(`\n${table}\n\nbench: results written to ${OUT}`);
  if (
    verification.lost !== 0 || verification.exactlyOnceLost !== 0 ||
    verification.exactlyOnceDuplicates !== 0
  ) {
    console.error("bench: FAILED: accepted events are missing from the topic, or duplicated");
    Deno.exit(1);
  }
}

await main();
