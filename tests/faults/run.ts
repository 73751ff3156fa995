/**
 * The fault suite: the service runs as a subprocess against real Postgres and its own Kafka
 * broker while faults are injected under load; prints one table row per case.
 *
 *   deno run -A tests/faults/run.ts [--only 1,4,7] [--keep-kafka] [--json <file>] [--md <file>]
 *
 * Environment: FAULTS_KAFKA_PORT (default 29092, controller +1; KAFKA_PORT is ignored, 9092 refused),
 * DATABASE_URL (shared server, default postgres://postgres@127.0.0.1:5432/postgres; never
 * restarted), FAULTS_PG_PORT (private cluster of case 4, default 25432), KEEP_KAFKA=1.
 * Exits 1 when any case fails; the last line is `N passed, N failed`.
 */
import { postgresRestarted } from "./case_postgres.ts";
import { settlementKilled } from "./case_settlement.ts";
import { kafkaFlapping, kafkaKilled, kafkaStalled } from "./cases_kafka.ts";
import { gracefulShutdown, serviceKilled, twoInstances } from "./cases_process.ts";
import type { CaseResult, SuiteContext } from "./lib/case_kit.ts";
import { broker } from "../../scripts/lib/kafka_ctl.ts";
import { run } from "../../scripts/lib/util.ts";

const CASES: { id: number; name: string; fn: (ctx: SuiteContext) => Promise<CaseResult> }[] = [
  { id: 1, name: "Kafka SIGKILL, restarted", fn: kafkaKilled },
  { id: 2, name: "Kafka SIGSTOP, SIGCONT", fn: kafkaStalled },
  { id: 3, name: "Kafka flapping", fn: kafkaFlapping },
  { id: 4, name: "Postgres restarted", fn: postgresRestarted },
  { id: 5, name: "service SIGKILL, pending", fn: serviceKilled },
  { id: 6, name: "2 instances, 1 killed", fn: twoInstances },
  { id: 7, name: "graceful SIGTERM", fn: gracefulShutdown },
  { id: 8, name: "settlement SIGKILL x5 + 2nd instance", fn: settlementKilled },
];

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const HEADER = [
  "case",
  "load sent",
  "acknowledged",
  "found in Kafka",
  "duplicates",
  "order violations",
  "lost",
  "breaker transitions observed",
  "duration",
  "result",
];

function row(r: CaseResult): string[] {
  return [
    `${r.id}. ${r.name}`,
    String(r.sent),
    String(r.acknowledged),
    String(r.foundInKafka),
    String(r.duplicates),
    String(r.orderViolations),
    String(r.lost),
    r.transitions,
    `${r.durationS} s`,
    r.failures.length === 0 ? "ok" : "FAILED",
  ];
}

/** A Markdown table (also readable as plain text). */
export function table(results: CaseResult[]): string {
  const rows = [HEADER, ...results.map(row)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`]
    .concat(rows.slice(1).map(line))
    .join("\n");
}

async function main(): Promise<number> {
  const only = arg("--only")?.split(",").map(Number);
  const selected = CASES.filter((c) => !only || only.includes(c.id));
  if (selected.length === 0) {
    console.error(`--only ${arg("--only")}: no such case (1-${CASES.length})`);
    return 2;
  }
  const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
  const databaseUrl = Deno.env.get("DATABASE_URL") ??
    "postgres://postgres@127.0.0.1:5432/postgres";
  const ready = await run("pg_isready", ["-q", "-d", databaseUrl]).catch(() => ({ code: 1 }));
  if (ready.code !== 0) {
    console.error(`Postgres is not reachable at ${databaseUrl} (set DATABASE_URL)`);
    return 2;
  }
  const b = broker();
  const wasRunning = (await b.status().catch(() => "stopped")) === "running";
  log(`starting the suite's broker on ${b.address} (controller ${b.controllerPort})`);
  await b.start();
  const ctx: SuiteContext = {
    broker: b,
    databaseUrl,
    privatePgPort: Number(Deno.env.get("FAULTS_PG_PORT") ?? 25432),
    log,
  };
  const started = new Date();
  const t0 = Date.now();
  const results: CaseResult[] = [];
  for (const c of selected) {
    log(`case ${c.id}: ${c.name}`);
    let r: CaseResult;
    try {
      r = await c.fn(ctx);
    } catch (e) {
      r = {
        id: c.id,
        name: c.name,
        sent: 0,
        acknowledged: 0,
        foundInKafka: 0,
        duplicates: 0,
        orderViolations: 0,
        lost: 0,
        transitions: "-",
        durationS: 0,
        failures: [`crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`],
        notes: [],
      };
      // Leave the broker running for the next case whatever happened.
      await b.resume().catch(() => {});
      await b.start().catch(() => {});
    }
    results.push(r);
    log(`case ${c.id}: ${r.failures.length === 0 ? "ok" : "FAILED"} in ${r.durationS} s`);
    for (const n of r.notes) console.log(`    ${n}`);
    for (const f of r.failures) console.log(`    FAIL: ${f}`);
  }
  if (!wasRunning && !Deno.env.get("KEEP_KAFKA") && !Deno.args.includes("--keep-kafka")) {
    await b.stop().catch(() => {});
  }
  const total = Math.round((Date.now() - t0) / 1000);
  const md = [
    `Fault suite run ${started.toISOString()} (${total} s), broker ${b.address}`,
    "",
    table(results),
    "",
    ...results.flatMap((r) => [
      `- case ${r.id} (${r.name}):`,
      ...r.notes.map((n) => `  - ${n}`),
      ...r.failures.map((f) => `  - FAIL: ${f}`),
    ]),
  ].join("\n");
  console.log(`\n${md}\n`);
  const jsonOut = arg("--json");
  if (jsonOut) {
    await Deno.writeTextFile(jsonOut, JSON.stringify({ started, total, results }, null, 2));
  }
  const mdOut = arg("--md");
  if (mdOut) await Deno.writeTextFile(mdOut, md + "\n");
  const failed = results.filter((r) => r.failures.length > 0).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
