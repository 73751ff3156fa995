/**
 * Cross-checks between the ops files and the service source: metric names used by alerts and
 * dashboards, metric families the service declares, and environment variables compose passes.
 * These read src/ as text so they keep working while the service is being written.
 */
import { assert, assertEquals } from "@std/assert";
import { BREAKER_CONFIG_FIELDS, DEFAULT_BREAKER_CONFIG } from "../../src/breaker/config.ts";
import { CONSUMER_METRIC_NAMES } from "../../src/consumer/consumer_metrics.ts";
import { SERVICE_SETTINGS } from "../../src/settings/service.ts";
import {
  createSettlementMetrics,
  SETTLEMENT_METRIC_NAMES,
} from "../../src/settlement/settlement_metrics.ts";
import { loadCompose, loadEnvExample, serviceEnv } from "./compose_model.ts";
import { parseExposition } from "./live_prometheus.ts";
import { knownSampleNames, METRICS } from "./metric_contract.ts";
import { FILES, readRepoText } from "./paths.ts";
import { collectExpressions, metricNamesFromPromQL } from "./promql_names.ts";

Deno.test("every metric an alert or a dashboard queries is in the metric contract", async () => {
  const known = knownSampleNames();
  const unknown: string[] = [];
  for (const { source, expr } of await collectExpressions()) {
    for (const name of metricNamesFromPromQL(expr)) {
      if (!known.has(name)) unknown.push(`${source}: ${name}`);
    }
  }
  assertEquals(unknown, []);
});

Deno.test("src/metrics/metrics.ts declares every metric family the contract expects", async () => {
  const source = await readRepoText("src/metrics/metrics.ts");
  const declared = new Set(
    [...source.matchAll(/name:\s*"([a-z_:][a-z0-9_:]*)"/g)].map((m) => m[1]!),
  );
  assert(
    source.includes("collectProcessMetrics(") &&
      (await readRepoText("src/metrics/process_metrics.ts")).includes("collectDefaultMetrics("),
    "process_* metrics come from collectProcessMetrics (prom-client's defaults, true under Deno)",
  );
  const missing = METRICS.filter((m) =>
    m.source === "payment-ingest" && !m.name.startsWith("process_") && !declared.has(m.name)
  ).map((m) => m.name);
  assertEquals(missing, [], "rename in tests/ops/metric_contract.ts if the service renamed them");
});

Deno.test("the reference consumer declares exactly the payment-consumer families of the contract", () => {
  const contract = METRICS.filter((m) => m.source === "payment-consumer").map((m) => m.name);
  assertEquals(
    [...contract].sort(),
    Object.values(CONSUMER_METRIC_NAMES).sort(),
    "rename in tests/ops/metric_contract.ts if src/consumer/consumer_metrics.ts renamed them",
  );
});

Deno.test("the settlement process declares exactly the payment-settlement families of the contract", () => {
  const contract = METRICS.filter((m) => m.source === "payment-settlement").map((m) => m.name);
  assertEquals(
    [...contract].sort(),
    Object.values(SETTLEMENT_METRIC_NAMES).sort(),
    "rename in tests/ops/metric_contract.ts if src/settlement/settlement_metrics.ts renamed them",
  );
});

/** Label names of every sample line of an exposition, by sample name. */
function sampleLabels(text: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})? \S+$/gm)) {
    const names = labels.get(m[1]!) ?? new Set<string>();
    for (const l of (m[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) names.add(l[1]!);
    labels.set(m[1]!, names);
  }
  return labels;
}

// The live test does not start the settlement process (see OWN_SOURCES): its registry, built
// without a database or Kafka, stands in for its /metrics.
Deno.test("the settlement registry serves every payment-settlement family with the contract's type and labels", async () => {
  const metrics = createSettlementMetrics({ defaultMetrics: false });
  metrics.applied("CAPTURED", 1); // a labelled counter has no series before its first use
  metrics.exception("missing_authorization");
  const text = await metrics.render();
  const exposition = parseExposition(text);
  const labels = sampleLabels(text);
  const problems: string[] = [];
  for (const m of METRICS.filter((m) => m.source === "payment-settlement")) {
    const declared = exposition.declared.get(m.name);
    if (declared !== m.type) problems.push(`${m.name}: declared ${declared}, contract ${m.type}`);
    if (!exposition.samples.has(m.name)) problems.push(`${m.name}: no sample`);
    const got = [...(labels.get(m.name) ?? [])].sort().join(",");
    if (got !== [...m.labels].sort().join(",")) {
      problems.push(`${m.name}: labels {${got}}, contract {${m.labels.join(",")}}`);
    }
  }
  assertEquals(problems, []);
});

/** Environment variable names the service reads: its settings table and the breaker's fields. */
function configVariables(): Set<string> {
  return new Set([
    ...Object.values(SERVICE_SETTINGS).map((s) => s.env),
    ...BREAKER_CONFIG_FIELDS.map((f) => f.env),
  ]);
}

Deno.test("compose passes the service only variables src/config.ts reads", async () => {
  const { compose } = await loadCompose();
  const read = configVariables();
  assert(
    read.has("DATABASE_URL") && read.has("BREAKER_FAILURE_RATE_THRESHOLD"),
    [...read].join(","),
  );
  const passed = Object.keys(serviceEnv(compose.services["payment-ingest"]!));
  assertEquals(passed.filter((v) => !read.has(v)), [], "typo, or a variable the service dropped");
});

/** Variables the compose stack deliberately leaves at the service's default. */
const LEFT_AT_DEFAULT = new Set([
  "HOST",
  "DATA_DIR",
  "DATABASE_SCHEMA",
  "DATABASE_POOL_SIZE",
  "KAFKA_CLIENT_ID",
  "OUTBOX_CLAIM_LEASE_MS",
  "OUTBOX_COMMIT_CONCURRENCY",
  "BODY_READ_TIMEOUT_MS",
  "MAX_INFLIGHT_PAYMENTS",
  "OUTBOX_COMMIT_BATCH_MAX",
  "OUTBOX_COMMIT_LINGER_MS",
  "KAFKA_LINGER_MS",
  "KAFKA_INLINE_PRODUCERS",
  "BODY_LIMIT_BYTES",
  // A test failpoint, never set in a deployment.
  "FAILPOINT",
]);

Deno.test("every variable src/config.ts reads is passed by compose or deliberately left at its default", async () => {
  const { compose } = await loadCompose();
  const passed = new Set(Object.keys(serviceEnv(compose.services["payment-ingest"]!)));
  const unhandled = [...configVariables()].filter((v) => !passed.has(v) && !LEFT_AT_DEFAULT.has(v));
  assertEquals(
    unhandled,
    [],
    "add it to docker-compose.yml and .env.example, or to LEFT_AT_DEFAULT",
  );
});

/** The default of a breaker field as the docs write it ("unset" when there is none). */
function documentedDefault(key: string): string {
  const value = key.includes(".")
    ? undefined
    : (DEFAULT_BREAKER_CONFIG as unknown as Record<string, unknown>)[key];
  return value === undefined ? "unset" : String(value);
}

Deno.test(".env.example sets every breaker variable to the breaker's default", async () => {
  const env = await loadEnvExample();
  const problems: string[] = [];
  for (const f of BREAKER_CONFIG_FIELDS) {
    if (!env.has(f.env)) {
      problems.push(`${f.env} missing`);
      continue;
    }
    const want = documentedDefault(f.key);
    const got = env.get(f.env) === "" ? "unset" : env.get(f.env);
    if (got !== want) problems.push(`${f.env}=${got}, the breaker's default is ${want}`);
  }
  const known = new Set(BREAKER_CONFIG_FIELDS.map((f) => f.env));
  for (const name of env.keys()) {
    if (name.startsWith("BREAKER_") && !known.has(name)) {
      problems.push(`${name} is not a breaker setting`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("CIRCUIT_BREAKER_GUIDE.md configuration table matches the breaker's fields and defaults", async () => {
  const guide = await readRepoText(FILES.guide);
  const section = guide.slice(guide.indexOf("\n## Configuration\n"));
  const rows = new Map(
    [...section.matchAll(/^\|\s*`([\w.]+)`\s*\|\s*`(BREAKER_\w+)`\s*\|\s*`?([^|`]+?)`?\s*\|/gm)]
      .map((m) => [m[2]!, { key: m[1]!, def: m[3]!.trim() }]),
  );
  const problems: string[] = [];
  for (const f of BREAKER_CONFIG_FIELDS) {
    const row = rows.get(f.env);
    if (!row) problems.push(`${f.env} missing from the table`);
    else {
      if (row.key !== f.key) problems.push(`${f.env}: setting ${row.key}, want ${f.key}`);
      if (row.def !== documentedDefault(f.key)) {
        problems.push(`${f.env}: default ${row.def}, want ${documentedDefault(f.key)}`);
      }
    }
  }
  assertEquals(rows.size, BREAKER_CONFIG_FIELDS.length, [...rows.keys()].join(", "));
  assertEquals(problems, []);
});
