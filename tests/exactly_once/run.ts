/**
 * The exactly-once fault matrix (`deno task test:exactly-once`): a three-broker cluster
 * (replication factor 3, min.insync.replicas=2), service instances with
 * DELIVERY_GUARANTEE=exactly-once under steady load, one fault per run, then an independent
 * check (checker.ts) once the system is quiet: the topic read with read_committed holds exactly
 * the acknowledged events, each once, in per-key order, equal to the outbox's set, with no
 * transaction left open; the reference consumer dropped no duplicate.
 *
 *   deno run -A tests/exactly_once/run.ts [--runs N] [--seed S] [--only I] [--no-alo] [--json FILE]
 *
 * Run i (0-based) injects fault (seed + i) mod 7, so 7 runs cover every fault once. Then (unless
 * --no-alo) the same cluster in at-least-once mode: a rolling restart and two of three brokers
 * down, with nothing lost, the breaker's transitions and the answers' latency reported.
 * Environment: EO_KAFKA_PORT (first node's client port, default 29700; nodes on +0, +2, +4,
 * controllers one above each), DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 * Exits 1 when any run fails; the last line is `N passed, N failed`.
 */
import { parseArgs } from "@std/cli/parse-args";
import { checkExactlyOnce, type ExactlyOnceVerdict } from "./checker.ts";
import { AT_LEAST_ONCE_FAULTS, type Fault, type FaultContext, FAULTS } from "./faults.ts";
import { describeTransitions, watchTransitions } from "../../scripts/lib/checks.ts";
import { cluster } from "../../scripts/lib/kafka_ctl.ts";
import { runLoad } from "../../scripts/lib/load.ts";
import { FAST_TIMING, type ServiceProc, spawnService } from "../../scripts/lib/service_process.ts";
import { quantile, sleep, suffix } from "../../scripts/lib/util.ts";
import { createPostgresDb } from "../../src/outbox/db.ts";
import { errorMessage } from "../../src/error_message.ts";

const args = parseArgs(Deno.args, {
  string: ["runs", "seed", "only", "json"],
  boolean: ["alo"],
  negatable: ["alo"],
  default: { alo: true },
});
const runs = Number(args.runs ?? FAULTS.length);
const seed = Number(args.seed ?? 1);
const only = args.only === undefined ? null : Number(args.only);
if (!Number.isInteger(runs) || runs < 0) {
  throw new RangeError(`--runs must be >= 0 (0: the at-least-once cases only), got ${args.runs}`);
}
if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got ${args.seed}`);
if (only !== null && !(only >= 1 && only <= FAULTS.length)) {
  throw new RangeError(`--only must be 1-${FAULTS.length}, got ${args.only}`);
}
const port = Number(Deno.env.get("EO_KAFKA_PORT") ?? 29700);
const databaseUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const kafka = cluster(port);
const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);

/** A small seeded generator (mulberry32). */
function rngFrom(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RunResult {
  run: number;
  fault: string;
  seed: number;
  verdict: ExactlyOnceVerdict | null;
  consumerDuplicates: number | null;
  notes: string[];
  failures: string[];
  durationS: number;
}

/** Sums every sample of a metric in a Prometheus text page. */
function metricSum(page: string, name: string): number {
  let sum = 0;
  for (const line of page.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

async function oneRun(i: number, fault: Fault): Promise<RunResult> {
  const t0 = Date.now();
  const exactlyOnce = !fault.name.startsWith("at-least-once");
  const runSeed = seed * 1000 + i;
  const rng = rngFrom(runSeed);
  const id = suffix();
  const schema = `eo_${id}`;
  const topic = `eo-${id}`;
  const db = createPostgresDb(databaseUrl, { schema, poolSize: 2, connectTimeoutS: 2 });
  const instances = new Map<string, ServiceProc>();
  const held = new Set<string>();
  const everything: ServiceProc[] = [];
  const failures: string[] = [];
  const notes: string[] = [];
  const env = (extra: Record<string, string> = {}) => ({
    PORT: "0",
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    KAFKA_BROKERS: kafka.brokers.join(","),
    KAFKA_TOPIC: topic,
    DELIVERY_GUARANTEE: exactlyOnce ? "exactly-once" : "at-least-once",
    KAFKA_TRANSACTION_TIMEOUT_MS: "10000",
    ...FAST_TIMING,
    ...extra,
  });
  const start = async (name: string, extra: Record<string, string> = {}) => {
    const svc = await spawnService({ name, env: env(extra), maxLines: 2000 });
    instances.set(name, svc);
    everything.push(svc);
    return svc;
  };
  let consumer: ServiceProc | null = null;
  log(`run ${i + 1}: ${fault.name} (seed ${runSeed})`);
  try {
    const envs = fault.instances(rng);
    for (const [k, extra] of envs.entries()) await start(String.fromCharCode(65 + k), extra);
    consumer = await spawnService({
      name: "consumer",
      script: "src/consumer/main.ts",
      env: {
        PORT: "0",
        KAFKA_BROKERS: kafka.brokers.join(","),
        KAFKA_TOPIC: topic,
        CONSUMER_GROUP: `eo-check-${id}`,
      },
      maxLines: 500,
    });
    const ctx: FaultContext = { cluster: kafka, db, topic, rng, log, start, instances, held };
    const targets = () =>
      [...instances.entries()].filter(([n]) => !held.has(n)).map(([, s]) => s.base);
    const watch = watchTransitions(targets);
    let faultAt = [0, 0];
    // Load runs for at least 12 s and until 4 s after the fault has healed.
    const stopLoad = new AbortController();
    const loadStart = Date.now();
    const loadP = runLoad({
      targets,
      keyPrefix: `eo-${id}`,
      clients: 8,
      keys: 64,
      eventsPerKey: 1000,
      ratePerClient: 40,
      durationMs: 180_000,
      requestTimeoutMs: 5000,
      signal: stopLoad.signal,
    });
    const injected = (async () => {
      const started = Date.now();
      try {
        return await fault.inject(ctx);
      } catch (e) {
        failures.push(`injecting the fault failed: ${errorMessage(e)}`);
        return [] as string[];
      } finally {
        faultAt = [started, Date.now()];
        await sleep(Math.max(4000, loadStart + 12_000 - Date.now()));
        stopLoad.abort();
      }
    })();
    const load = await loadP;
    notes.push(...await injected);
    const transitions = await watch.stop();
    const lat = (inside: boolean) =>
      load.attempts.filter((a) =>
        (a.end >= faultAt[0]! && a.start <= faultAt[1]!) === inside && a.status >= 200 &&
        a.status < 300
      ).map((a) => a.end - a.start);
    const [calm, during] = [lat(false), lat(true)];
    notes.push(
      `breaker: ${describeTransitions(transitions)}; answers outside the fault p50 ${
        quantile(calm, 0.5)
      } ms p99 ${quantile(calm, 0.99)} ms, during it p50 ${quantile(during, 0.5)} ms p99 ${
        quantile(during, 0.99)
      } ms max ${Math.max(0, ...during)} ms (${during.length} answers)`,
    );
    if (instances.size === 0) await start("settler");
    for (const name of held) instances.get(name)?.signal("SIGCONT");
    const verdict = await checkExactlyOnce({
      db,
      cluster: kafka,
      topic,
      load,
      settleMs: 90_000,
      allowDuplicates: !exactlyOnce,
    });
    failures.push(...verdict.failures);
    if (load.unacked.length > 0) notes.push(`${load.unacked.length} events never acknowledged`);
    // The reference consumer, reading read_committed, must have dropped no duplicate.
    let consumerDuplicates: number | null = null;
    // In the at-least-once cases the consumer is reported, not judged: after two of three
    // brokers were down it once took longer than a minute to resume (kafkajs's back-off).
    const deadline = Date.now() + (exactlyOnce ? 30_000 : 60_000);
    for (;;) {
      const page = await (await fetch(`${consumer.base}/metrics`)).text();
      const consumed = metricSum(page, "payment_consumer_messages_total");
      consumerDuplicates = metricSum(page, "payment_consumer_duplicates_dropped_total");
      if (consumed >= verdict.committed || Date.now() > deadline) {
        if (consumed < verdict.committed) {
          const tail = consumer.lines.filter((l) => !l.includes('"level":"debug"')).slice(-12);
          (exactlyOnce ? failures : notes).push(
            `the consumer read ${consumed} of ${verdict.committed} records in time; its last lines:\n      ${
              tail.join("\n      ")
            }`,
          );
        }
        break;
      }
      await sleep(500);
    }
    if (consumerDuplicates > 0 && exactlyOnce) {
      failures.push(`the reference consumer dropped ${consumerDuplicates} duplicates`);
    }
    return {
      run: i + 1,
      fault: fault.name,
      seed: runSeed,
      verdict,
      consumerDuplicates,
      notes,
      failures,
      durationS: Math.round((Date.now() - t0) / 100) / 10,
    };
  } catch (e) {
    failures.push(`the run failed: ${errorMessage(e)}`);
    return {
      run: i + 1,
      fault: fault.name,
      seed: runSeed,
      verdict: null,
      consumerDuplicates: null,
      notes,
      failures,
      durationS: Math.round((Date.now() - t0) / 100) / 10,
    };
  } finally {
    for (const svc of everything) svc.signal("SIGCONT");
    await Promise.all([...everything, ...(consumer ? [consumer] : [])].map((s) => s.stop(5000)));
    if (failures.length > 0) {
      for (const svc of [...everything, ...(consumer ? [consumer] : [])]) {
        const errs = svc.lines.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-8);
        if (errs.length > 0) console.log(`--- ${svc.name}, last warnings:\n${errs.join("\n")}`);
      }
    }
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await db.close(2000).catch(() => {});
  }
}

function row(r: RunResult): string {
  const v = r.verdict;
  const cells = [
    String(r.run),
    r.fault,
    v ? String(v.acknowledged) : "-",
    v ? String(v.committed) : "-",
    v ? String(v.uncommitted) : "-",
    v ? String(v.lost) : "-",
    v ? String(v.duplicates) : "-",
    v ? String(v.orderViolations) : "-",
    r.consumerDuplicates === null ? "-" : String(r.consumerDuplicates),
    `${r.durationS} s`,
    r.failures.length === 0 ? "ok" : "FAILED",
  ];
  return `| ${cells.join(" | ")} |`;
}

log(`starting the three-broker cluster on ${kafka.brokers.join(",")}`);
await kafka.reset();
await kafka.start();
const results: RunResult[] = [];
try {
  const plan = Array.from(
    { length: runs },
    (_, i) => FAULTS[only !== null ? only - 1 : (seed + i) % FAULTS.length]!,
  );
  if (args.alo) plan.push(...AT_LEAST_ONCE_FAULTS);
  for (const [i, fault] of plan.entries()) {
    const r = await oneRun(i, fault);
    results.push(r);
    for (const n of r.notes) log(`  note: ${n}`);
    for (const f of r.failures) log(`  FAILED: ${f}`);
    log(row(r));
  }
} finally {
  await kafka.stop().catch(() => {});
}
console.log(
  "\n| run | fault | acknowledged | committed (read_committed) | read_uncommitted | lost | duplicates | order violations | consumer duplicates | duration | result |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) console.log(row(r));
const aborted = results.filter((r) =>
  r.verdict && r.verdict.uncommitted > r.verdict.committed && !r.fault.startsWith("at-least-once")
);
console.log(
  `\n${aborted.length} of ${results.length} runs saw aborted transactions (read_uncommitted > read_committed)`,
);
const failed = results.filter((r) => r.failures.length > 0).length;
let extra = 0;
if (runs >= 3 && aborted.length === 0) {
  console.log("FAILED: no run saw an aborted transaction; the faults did not reach a transaction");
  extra = 1;
}
if (args.json) await Deno.writeTextFile(args.json, JSON.stringify(results, null, 2));
console.log(`${results.length - failed} passed, ${failed + extra} failed`);
Deno.exit(failed + extra > 0 ? 1 : 0);
