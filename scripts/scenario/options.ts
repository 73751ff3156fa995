/** The breaker scenario's command line (`--help` text, options) and its small output helpers. */
import { parseArgs } from "@std/cli/parse-args";

/** The `--help` text, unchanged from the bash version. */
export const USAGE =
  `usage: scripts/test-circuit-breaker.sh [--mode local|compose] [--slow] [--keep] [--sabotage-disabled]

  --mode local     no Docker: uses scripts/kafka.sh and starts its own service (deno task start)
                   with a private database/schema and topic; everything is undone at exit
  --mode compose   Docker: drives the running compose stack (docker compose stop|start|pause kafka,
                   requests from inside the network with docker compose exec payment-ingest)
                   default: compose when a Docker engine answers and payment-ingest is running
  --slow           pause the broker (SIGSTOP) instead of stopping it: the breaker must trip on
                   slow calls, not on connection errors
  --keep           keep the work directory, database, schema and topic (local mode) for inspection
  --sabotage-disabled
                   demonstration only: force the breaker DISABLED after step 1; the run must fail

environment (local mode defaults in brackets; compose mode reads the service's own settings):
  KAFKA_PORT [9092] KAFKA_CONTROLLER_PORT [KAFKA_PORT+1] KAFKA_BROKERS [127.0.0.1:$KAFKA_PORT]
  PORT [8080, or a free port when 8080 is taken]   DATABASE_URL [postgres://postgres@127.0.0.1:5432/postgres]
  DATABASE_SCHEMA [scenario_<id>]  KAFKA_TOPIC [breaker-scenario-<id>]  ADMIN_TOKEN [random]
  SCENARIO_PRIVATE_DB [1: a database of its own, dropped at exit; 0: the URL's database]
  KAFKA_REQUEST_TIMEOUT_MS [2000]  KAFKA_DELIVERY_TIMEOUT_MS [3000]  INLINE_PUBLISH_BUDGET_MS [1000]
  BREAKER_WAIT_DURATION_IN_OPEN_STATE_MS [5000]  BREAKER_SLOW_CALL_DURATION_THRESHOLD_MS [1000]
  BREAKER_MINIMUM_NUMBER_OF_CALLS [5]  BREAKER_MAX_WAIT_DURATION_IN_HALF_OPEN_STATE_MS [10000]
  any other BREAKER_* / KAFKA_* / RELAY_* variable is passed to the service unchanged
  SCENARIO_FAST_MS [min(budget, request timeout)/2]  SCENARIO_RECOVERY_MS [2000]
  SCENARIO_SLACK_MS [15000]  SCENARIO_READ_TIMEOUT_MS [60000]  SCENARIO_START_TIMEOUT_S [90]
  compose: SCENARIO_SERVICE [payment-ingest] SCENARIO_KAFKA_SERVICE [kafka]
           SCENARIO_CONSUMER_BROKERS [the published port of kafka:9092] (the reader runs on the host)`;

/** The scenario's options. */
export interface ScenarioOptions {
  mode: "auto" | "local" | "compose";
  /** Pause the broker instead of stopping it. */
  slow: boolean;
  keep: boolean;
  sabotage: boolean;
}

/** Ends the run with `code` after clean-up (what to say was printed already). */
export class ScenarioExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = "ScenarioExit";
  }
}

/** A usage error or a missing prerequisite: `test-circuit-breaker.sh: <message>`, then exit 2. */
export function die(message: string): never {
  console.error(`test-circuit-breaker.sh: ${message}`);
  throw new ScenarioExit(2);
}

/** A side note on stderr. */
export function note(message: string): void {
  console.error(`  ... ${message}`);
}

/** Parses the command line; prints usage and exits for `--help` (0) and bad arguments (2). */
export function parseScenarioArgs(argv: string[]): ScenarioOptions {
  let unknown: string | null = null;
  const a = parseArgs(argv, {
    string: ["mode"],
    boolean: ["slow", "keep", "sabotage-disabled", "help"],
    alias: { h: "help" },
    default: { mode: "auto" },
    unknown: (arg: string) => {
      unknown ??= arg;
      return false;
    },
  });
  if (unknown !== null) {
    console.error(`test-circuit-breaker.sh: unknown argument ${unknown}`);
    console.error(USAGE);
    Deno.exit(2);
  }
  if (a.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (a.mode === "") {
    console.error(USAGE);
    Deno.exit(2);
  }
  if (a.mode !== "auto" && a.mode !== "local" && a.mode !== "compose") {
    console.error("--mode must be local or compose");
    Deno.exit(2);
  }
  return { mode: a.mode, slow: a.slow, keep: a.keep, sabotage: a["sabotage-disabled"] };
}

/** Epoch milliseconds. */
export function nowMs(): number {
  return Date.now();
}

/** `1.5s`: milliseconds as seconds with one decimal. */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A JSON value as the bash version's reader printed it: `null` for missing, objects as JSON. */
export function text(v: unknown): string {
  if (v === undefined || v === null) return "null";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The value at a dotted path of a JSON text (undefined when absent or not JSON). */
export function field(json: string, path: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  for (const k of path.split(".").filter(Boolean)) {
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  }
  return v;
}
