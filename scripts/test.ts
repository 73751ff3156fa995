/**
 * `deno task test`: runs every suite whose prerequisites this machine can provide, starting the
 * local Kafka itself, and prints which suites were skipped and what to install. With CI=true a
 * skipped suite is a failure. The last line is `N passed, N failed`.
 *
 * Usage: deno task test [--only name,name] [--list]
 */

import { freePortPair } from "./free_port.ts";

interface Suite {
  name: string;
  needs: Need[];
  cmd: string[];
  env?: Record<string, string>;
  /** A script suite counts as one test; a `deno test` suite reports its own counts. */
  kind: "deno" | "script";
}

type Need = "postgres" | "kafka" | "promtool" | "chromium" | "wrk" | "pgserver";

const ROOT = new URL("..", import.meta.url).pathname;
const CI = Deno.env.get("CI") === "true";

/**
 * Test and dev code resolve through the dev import map and lockfile: deno.json and deno.lock hold
 * only what the programs run, so `deno task start` fetches nothing else.
 */
export const DEV_IMPORTS = ["--import-map=import_map.dev.json", "--lock=deno.dev.lock"];

const SUITES: Suite[] = [
  { name: "unit", needs: [], kind: "deno", cmd: ["deno", "test", "-A", ...DEV_IMPORTS, "src/"] },
  {
    name: "integration",
    needs: ["postgres", "kafka"],
    kind: "deno",
    cmd: ["deno", "test", "-A", ...DEV_IMPORTS, "tests/integration/"],
  },
  {
    name: "ops (monitoring configs, live Prometheus)",
    needs: ["promtool", "postgres", "kafka"],
    kind: "deno",
    cmd: ["deno", "test", "-A", ...DEV_IMPORTS, "tests/ops/"],
  },
  {
    name: "breaker scenario: Kafka stopped",
    needs: ["postgres", "kafka"],
    kind: "script",
    cmd: ["bash", "scripts/test-circuit-breaker.sh", "--mode", "local"],
  },
  {
    name: "breaker scenario: Kafka paused (slow calls)",
    needs: ["postgres", "kafka"],
    kind: "script",
    cmd: ["bash", "scripts/test-circuit-breaker.sh", "--mode", "local", "--slow"],
  },
  {
    name: "e2e (operator page in Chromium)",
    needs: ["postgres", "kafka", "chromium"],
    kind: "deno",
    cmd: ["deno", "test", "-A", ...DEV_IMPORTS, "tests/e2e/"],
  },
  {
    name: "fuzz and abuse (bad input, tokens, slow clients)",
    needs: ["postgres"],
    kind: "deno",
    cmd: ["deno", "test", "-A", ...DEV_IMPORTS, "tests/fuzz/"],
  },
  {
    name:
      "fault suite (Kafka kill/stall/flap, Postgres restart, service kill, 2 instances, SIGTERM)",
    needs: ["postgres", "kafka", "pgserver"],
    kind: "script",
    cmd: ["deno", "run", "-A", "tests/faults/run.ts"],
  },
  {
    name:
      "exactly-once fault matrix on three brokers (7 seeded runs, one per fault, independent checker)",
    needs: ["postgres", "kafka"],
    kind: "script",
    cmd: ["deno", "run", "-A", "tests/exactly_once/run.ts", "--runs", "7"],
  },
  {
    name: "soak, 60 s with Kafka outages",
    needs: ["postgres", "kafka"],
    kind: "script",
    cmd: ["deno", "run", "-A", "scripts/soak.ts", "--duration", "60"],
  },
  {
    name: "benchmark smoke (figures not judged)",
    needs: ["postgres", "kafka", "wrk"],
    kind: "script",
    cmd: ["deno", "run", "-A", "scripts/bench.ts", "--smoke"],
  },
];

const INSTALL: Record<Need, string> = {
  postgres: "a Postgres server (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)",
  kafka: "Java 17+ and Maven (apt-get install openjdk-17-jre-headless maven) for the local Kafka",
  promtool: "Prometheus tools (apt-get install prometheus prometheus-alertmanager)",
  chromium: "Chromium (apt-get install chromium)",
  wrk: "wrk (apt-get install wrk)",
  pgserver: "the Postgres server binaries initdb and pg_ctl (apt-get install postgresql)",
};

async function run(cmd: string[], env: Record<string, string> = {}, quiet = false) {
  const p = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", ...kafkaEnv, ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    for await (const chunk of s) {
      text += dec.decode(chunk, { stream: true });
      if (!quiet) await out.write(chunk);
    }
  };
  const [status] = await Promise.all([
    p.status,
    pump(p.stdout, Deno.stdout),
    pump(p.stderr, Deno.stderr),
  ]);
  return { code: status.code, text };
}

async function has(bin: string): Promise<boolean> {
  return (await run(["bash", "-c", `command -v ${bin}`], {}, true)).code === 0;
}

// 9092/9093 when free, else the first free pair above.
const KAFKA_PORT = Number(Deno.env.get("KAFKA_PORT") ?? freePortPair(9092));
/** Every suite talks to the broker this run starts (a busy 9092 must not be someone else's). */
const kafkaEnv: Record<string, string> = {
  KAFKA_PORT: String(KAFKA_PORT),
  KAFKA_CONTROLLER_PORT: Deno.env.get("KAFKA_CONTROLLER_PORT") ?? String(KAFKA_PORT + 1),
  KAFKA_BROKERS: Deno.env.get("KAFKA_BROKERS") ?? `127.0.0.1:${KAFKA_PORT}`,
};

let startedKafka = false;
const available = new Map<Need, boolean>();

async function provide(need: Need): Promise<boolean> {
  if (available.has(need)) return available.get(need)!;
  let ok = false;
  switch (need) {
    case "postgres": {
      const url = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
      ok = (await run(
        [
          "bash",
          "-c",
          `pg_isready -q -d "${url}" || bash scripts/services.sh up >/dev/null 2>&1; pg_isready -q -d "${url}"`,
        ],
        {},
        true,
      )).code === 0;
      break;
    }
    case "kafka": {
      if (!(await has("java")) || !(await has("mvn"))) break;
      const status = await run(["bash", "scripts/kafka.sh", "status"], {}, true);
      if (status.text.trim() !== "running") startedKafka = true;
      ok = (await run(["bash", "scripts/kafka.sh", "start"])).code === 0;
      break;
    }
    case "promtool":
      ok = await has("promtool");
      break;
    case "chromium":
      ok = await has("chromium");
      break;
    case "wrk":
      ok = await has("wrk");
      break;
    case "pgserver":
      ok = (await run(["bash", "-c", "ls /usr/lib/postgresql/*/bin/initdb"], {}, true)).code === 0;
      break;
  }
  available.set(need, ok);
  return ok;
}

const SUMMARY = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g;

async function main() {
  const onlyArg = Deno.args.indexOf("--only");
  const only = onlyArg >= 0 ? new Set((Deno.args[onlyArg + 1] ?? "").split(",")) : null;
  if (Deno.args.includes("--list")) {
    for (const s of SUITES) console.log(`${s.name}\tneeds: ${s.needs.join(", ") || "nothing"}`);
    return;
  }
  let passed = 0;
  let failed = 0;
  const report: string[] = [];
  const skipped: Skip[] = [];
  for (const suite of SUITES) {
    if (only && !only.has(suite.name)) continue;
    const missing: Need[] = [];
    for (const n of suite.needs) if (!(await provide(n))) missing.push(n);
    if (missing.length > 0) {
      const what = missing.map((m) => INSTALL[m]).join("; ");
      report.push(`SKIPPED ${suite.name}: install ${what}`);
      console.log(`\n=== ${suite.name}: SKIPPED, needs ${what}`);
      skipped.push({ suite: suite.name, install: what });
      if (CI) failed++;
      continue;
    }
    console.log(`\n=== ${suite.name}: ${suite.cmd.join(" ")} (Kafka on ${kafkaEnv.KAFKA_BROKERS})`);
    const t0 = performance.now();
    const r = await run(suite.cmd, suite.env);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (suite.kind === "deno") {
      let p = 0;
      let f = 0;
      // deno-lint-ignore no-control-regex
      const plain = r.text.replace(/\x1b\[[0-9;]*m/g, "");
      for (const m of plain.matchAll(SUMMARY)) {
        p += Number(m[1]);
        f += Number(m[2]);
      }
      if (r.code !== 0 && f === 0) f = 1; // crashed before reporting
      passed += p;
      failed += f;
      report.push(
        `${f === 0 ? "ok     " : "FAILED "} ${suite.name}: ${p} passed, ${f} failed (${secs}s)`,
      );
    } else {
      if (r.code === 0) passed++;
      else failed++;
      report.push(`${r.code === 0 ? "ok     " : "FAILED "} ${suite.name} (${secs}s)`);
    }
  }
  if (startedKafka && !Deno.env.get("KEEP_KAFKA")) {
    await run(["bash", "scripts/kafka.sh", "stop"], {}, true);
  }
  console.log("\n=== summary");
  for (const line of report) console.log(line);
  const [count, skips] = closingLines(passed, failed, skipped, CI);
  console.log(count);
  if (skips) console.error(skips);
  Deno.exit(failed === 0 ? 0 : 1);
}

/** A suite this machine could not run, and what to install for it. */
export interface Skip {
  suite: string;
  install: string;
}

/**
 * The run's last lines: `N passed, N failed`, then, when suites were skipped, one line a
 * developer cannot miss: how many, what to install for which. With CI=true a skip is also a
 * failure in the count.
 */
export function closingLines(
  passed: number,
  failed: number,
  skipped: readonly Skip[],
  ci: boolean,
): [string, string | null] {
  const count = `${passed} passed, ${failed} failed`;
  if (skipped.length === 0) return [count, null];
  const what = skipped.map((s) => `install ${s.install} for "${s.suite}"`).join("; ");
  return [
    count,
    `${skipped.length} skipped${ci ? " (counted as failed: CI=true)" : ""}, NOT RUN: ${what}`,
  ];
}

if (import.meta.main) await main();
