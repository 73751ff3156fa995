/**
 * Soak: a steady ingest rate for `--duration` seconds with a Kafka outage every 2 minutes (every
 * third of the run when shorter), sampling the service's RSS (/proc/<pid>/status VmRSS) and open
 * descriptors (/proc/<pid>/fd); at the end every acknowledged event must be in the topic, in
 * per-payment order, and memory and descriptors must be flat.
 *
 *   deno run -A scripts/soak.ts [--duration 600] [--rate 40] [--md <file>] [--json <file>] [--help]
 *
 * Runs its own Kafka broker on SOAK_KAFKA_PORT (default 29192, controller +1: never the shared
 * 9092, and not the fault suite's 29092, so both can run at once) and its own schema on
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres). Exits 1 on loss, order
 * violations or growth; the last line is `N passed, N failed`.
 */
import { parseArgs } from "@std/cli/parse-args";
import { createPostgresDb } from "../src/outbox/db.ts";
import { describeTransitions, verify, watchTransitions } from "./lib/checks.ts";
import { broker } from "./lib/kafka_ctl.ts";
import { type Attempt, runLoad } from "./lib/load.ts";
import { FAST_TIMING, FAULTS_ADMIN_TOKEN, spawnService } from "./lib/service_process.ts";
import { openFds, quantile, rssKiB, sleep, suffix } from "./lib/util.ts";

const USAGE =
  `usage: deno run -A scripts/soak.ts [--duration <s>] [--rate <n>] [--md <file>] [--json <file>]

  --duration <s>  length of the run in seconds (default 600)
  --rate <n>      events per second over all clients (default 40)
  --md <file>     also write the markdown summary to <file>
  --json <file>   also write the samples and failures as JSON to <file>

environment: SOAK_KAFKA_PORT (default 29192), SOAK_KAFKA_CONTROLLER_PORT, DATABASE_URL, KEEP_KAFKA`;

function usageError(message: string): never {
  console.error(`soak: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

const args = parseArgs(Deno.args, {
  string: ["duration", "rate", "md", "json"],
  boolean: ["help"],
  alias: { h: "help" },
  unknown: (a: string) => usageError(`unknown argument "${a}"`),
});

function arg(name: "duration" | "rate", fallback: number): number {
  const text = args[name];
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text === "" || !Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} must be a positive number, got "${text}"`);
    Deno.exit(2);
  }
  return v;
}

function strArg(name: "md" | "json"): string | undefined {
  if (args[name] === "") usageError(`--${name} needs a file name`);
  return args[name];
}

interface Sample {
  t: number;
  rssMiB: number;
  /** V8 heap in use (prom-client's nodejs_heap_size_used_bytes), MiB; -1 when unread. */
  heapMiB: number;
  fds: number;
  pending: number;
  state: string;
  acked: number;
}

async function main(): Promise<number> {
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const duration = arg("duration", 600);
  const rate = arg("rate", 40);
  const mdOut = strArg("md");
  const jsonOut = strArg("json");
  const clients = 8;
  const period = duration >= 240 ? 120 : duration / 3;
  const downS = Math.min(20, period / 2);
  const outages: number[] = [];
  for (let t = period; t + downS + 15 < duration; t += period) outages.push(t);

  const port = Number(Deno.env.get("SOAK_KAFKA_PORT") ?? 29192);
  const b = broker(port, Number(Deno.env.get("SOAK_KAFKA_CONTROLLER_PORT") ?? port + 1));
  const databaseUrl = Deno.env.get("DATABASE_URL") ??
    "postgres://postgres@127.0.0.1:5432/postgres";
  const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const wasRunning = (await b.status().catch(() => "stopped")) === "running";
  log(`soak ${duration} s at ${rate} events/s, Kafka outages at ${outages.join(", ")} s`);
  await b.start();

  const id = suffix();
  const schema = `soak_${id}`;
  const topic = `soak-${id}`;
  const db = createPostgresDb(databaseUrl, { schema, poolSize: 2 });
  const svc = await spawnService({
    name: "soak",
    env: {
      PORT: "0",
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      KAFKA_BROKERS: b.address,
      KAFKA_TOPIC: topic,
      ADMIN_TOKEN: FAULTS_ADMIN_TOKEN,
      ...FAST_TIMING,
    },
  });
  const watch = watchTransitions(() => [svc.base], 1000);
  const samples: Sample[] = [];
  const started = Date.now();
  const since = new Date(started - 1000);
  const failures: string[] = [];
  let acked = 0;
  try {
    const loadP = runLoad({
      targets: () => [svc.base],
      keyPrefix: `soak-${id}`,
      clients,
      keys: 200,
      eventsPerKey: Math.ceil((rate * duration * 1.2) / 200),
      durationMs: duration * 1000,
      ratePerClient: rate / clients,
      onAttempt: (a: Attempt) => {
        if (a.status >= 200 && a.status < 300) acked++;
      },
    });
    const sampler = (async () => {
      while (Date.now() - started < duration * 1000) {
        const rss = await rssKiB(svc.pid);
        const fds = await openFds(svc.pid);
        let pending = -1;
        let state = "?";
        let heap = -1;
        try {
          pending = (await (await fetch(`${svc.base}/outbox`)).json()).pending;
          state = (await (await fetch(`${svc.base}/circuit-breaker/kafka-publisher`)).json()).state;
          const metrics = await (await fetch(`${svc.base}/metrics`)).text();
          const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics);
          if (m) heap = Math.round(Number(m[1]) / 104857.6) / 10;
        } catch { /* sampled again in 1 s */ }
        if (rss !== null && fds !== null) {
          const s = {
            t: Math.round((Date.now() - started) / 1000),
            rssMiB: Math.round(rss / 102.4) / 10,
            heapMiB: heap,
            fds,
            pending,
            state,
            acked,
          };
          samples.push(s);
          // Sampled every second (the troughs of a lazily collected heap are brief: at one
          // sample in 5 s, a 20 s third could miss all of them); logged every 5th.
          if (samples.length % 5 === 1) {
            log(
              `t=${s.t}s rss=${s.rssMiB}MiB heap=${s.heapMiB}MiB fds=${s.fds} pending=${s.pending} breaker=${s.state} acked=${s.acked}`,
            );
          }
        }
        // Keep the service's captured output bounded over a long run.
        if (svc.lines.length > 5000) svc.lines.splice(0, svc.lines.length - 1000);
        await sleep(1000);
      }
    })();
    for (const [i, at] of outages.entries()) {
      const wait = started + at * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      const how = i % 2 === 0 ? "stop" : "kill";
      log(`Kafka outage ${i + 1}/${outages.length}: ${how} for ${downS} s`);
      await (how === "stop" ? b.stop() : b.kill());
      await sleep(downS * 1000);
      await b.start();
      log(`Kafka back`);
    }
    const load = await loadP;
    await sampler;
    const v = await verify({
      db,
      brokers: [b.address],
      topic,
      load,
      since,
      drainTimeoutMs: 90_000,
    });
    const transitions = await watch.stop();

    // Flatness. V8 collects lazily, so RSS saw-tooths. The troughs of the V8 heap (live data)
    // and of the descriptors: lowest sample of the second third against the last third.
    const third = (i: number) =>
      samples.filter((s) => s.t >= (duration * i) / 3 && s.t < (duration * (i + 1)) / 3);
    const mid = third(1).length > 0 ? third(1) : samples;
    const last = third(2).length > 0 ? third(2) : samples.slice(-1);
    const low = (xs: Sample[], f: (s: Sample) => number) => Math.min(...xs.map(f));
    const base = { rssMiB: low(mid, (s) => s.rssMiB), fds: low(mid, (s) => s.fds) };
    const rssGrowth = low(last, (s) => s.rssMiB) - base.rssMiB;
    const fdsGrowth = low(last, (s) => s.fds) - base.fds;
    const heapOf = (s: Sample) => (s.heapMiB < 0 ? Infinity : s.heapMiB);
    const heaps = samples.map((s) => s.heapMiB).filter((h) => h >= 0);
    const heapGrowth = low(last, heapOf) - low(mid, heapOf);
    const rssAll = samples.map((s) => s.rssMiB);
    const fdsAll = samples.map((s) => s.fds);
    const every5 = <T>(xs: T[]) => xs.filter((_, i) => i % 5 === 0);
    const lat = load.attempts.map((a) => a.end - a.start);
    if (v.lost > 0) failures.push(`${v.lost} acknowledged events missing from Kafka`);
    if (v.orderViolations > 0) failures.push(`${v.orderViolations} order violations`);
    if (!v.reconcile.clean) failures.push("reconcile is not clean");
    if (v.reconcile.checked < v.acknowledged) {
      failures.push(`reconcile compared only ${v.reconcile.checked} published events`);
    }
    if (v.pendingLeft > 0) failures.push(`${v.pendingLeft} events still pending`);
    if (load.unacked.length > 0) failures.push(`${load.unacked.length} events not acknowledged`);
    // A short run ends inside V8's warm-up (RSS still rising to its plateau), so the judge of a
    // leak is the heap in use, whose troughs follow the live data; RSS has an absolute cap.
    if (heaps.length > 0 && heapGrowth > 16) {
      failures.push(`V8 heap troughs grew ${heapGrowth.toFixed(1)} MiB`);
    }
    // When V8 runs its memory-reducing collections varies run to run, so RSS troughs move by
    // tens of MiB with no leak; a leak raises the peaks. Compare the peaks of the two halves.
    const half = (second: boolean) =>
      samples.filter((s) => (s.t >= duration / 2) === second).map((s) => s.rssMiB);
    const peakGrowth = Math.max(...half(true)) - Math.max(...half(false));
    if (duration >= 300 && peakGrowth > 32) {
      failures.push(
        `RSS peaks grew ${peakGrowth.toFixed(1)} MiB from the first half to the second`,
      );
    }
    if (Math.max(...rssAll) > 400) failures.push(`RSS reached ${Math.max(...rssAll)} MiB`);
    if (fdsGrowth > 20) failures.push(`descriptors grew by ${fdsGrowth}`);
    if (svc.exitStatus !== null) failures.push(`the service exited (${svc.exitStatus.code})`);
    const md = [
      `Soak ${
        new Date(started).toISOString()
      }: ${duration} s at ${rate} events/s, ${outages.length} Kafka outages of ${downS} s (at ${
        outages.join(", ")
      } s; stop and kill alternating)`,
      "",
      `| figure | value |`,
      `|---|---|`,
      `| events sent / acknowledged / found in Kafka | ${load.sent} / ${v.acknowledged} / ${v.foundInKafka} |`,
      `| lost / order violations / duplicates | ${v.lost} / ${v.orderViolations} / ${v.duplicates} |`,
      `| answer latency p50 / p99 / max | ${quantile(lat, 0.5)} / ${quantile(lat, 0.99)} / ${
        Math.max(0, ...lat)
      } ms |`,
      `| RSS min / max / end | ${Math.min(...rssAll)} / ${Math.max(...rssAll)} / ${
        samples.at(-1)!.rssMiB
      } MiB; lowest of 2nd third ${base.rssMiB}, of last third ${
        (base.rssMiB + rssGrowth).toFixed(1)
      } (trough growth ${rssGrowth.toFixed(1)} MiB); peak of 1st half ${
        Math.max(...half(false))
      }, of 2nd half ${Math.max(...half(true))} |`,
      `| V8 heap used min / max | ${Math.min(...heaps)} / ${
        Math.max(...heaps)
      } MiB (trough growth ${heapGrowth.toFixed(1)} MiB) |`,
      `| open fds min / max / end | ${Math.min(...fdsAll)} / ${Math.max(...fdsAll)} / ${
        samples.at(-1)!.fds
      } (trough growth ${fdsGrowth}) |`,
      `| breaker transitions | ${describeTransitions(transitions)} |`,
      `| reconcile | ${v.reconcile.checked} published, ${v.reconcile.missing.length} missing, ${v.reconcile.outOfOrder.length} keys out of order |`,
      `| RSS samples (MiB, every 5 s) | ${every5(rssAll).join(" ")} |`,
      `| fd samples (every 5 s) | ${every5(fdsAll).join(" ")} |`,
      "",
      failures.length === 0 ? "RESULT: ok" : `RESULT: FAILED: ${failures.join("; ")}`,
    ].join("\n");
    console.log(`\n${md}\n`);
    if (mdOut) await Deno.writeTextFile(mdOut, md + "\n");
    if (jsonOut) {
      await Deno.writeTextFile(
        jsonOut,
        JSON.stringify({ duration, rate, outages, samples, failures }, null, 2),
      );
    }
  } catch (e) {
    failures.push(`crashed: ${e instanceof Error ? e.stack : String(e)}`);
    console.error(failures.at(-1));
  } finally {
    await watch.stop();
    await svc.stop();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await db.close(1000);
    if (!wasRunning && !Deno.env.get("KEEP_KAFKA")) await b.stop().catch(() => {});
  }
  console.log(`${failures.length === 0 ? 1 : 0} passed, ${failures.length === 0 ? 0 : 1} failed`);
  return failures.length === 0 ? 0 : 1;
}

Deno.exit(await main());
