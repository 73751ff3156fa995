import { assert, assertEquals } from "@std/assert";
import { BREAKER_STATES, METRICS } from "./metric_contract.ts";
import { FILES, readRepoText, repoPath } from "./paths.ts";
import { allPanels, metricNamesFromPromQL } from "./promql_names.ts";
import { readRepoYaml } from "./yaml.ts";

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: unknown;
  targets?: Array<{ expr?: string; datasource?: unknown }>;
  panels?: Panel[];
  fieldConfig?: {
    defaults?: {
      mappings?: Array<
        { type: string; options: Record<string, { color?: string; text?: string }> }
      >;
      thresholds?: { steps: Array<{ color: string; value: number | null }> };
      custom?: { thresholdsStyle?: { mode: string } };
    };
  };
  options?: { colorMode?: string };
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; datasource?: unknown; query?: unknown }> };
  annotations?: { list: Array<{ datasource?: unknown }> };
}

const GREYS = /^(#8e8e8e|#808080|gray|grey|#6e7079|#999999|text)$/i;

async function provisionedUid(): Promise<string> {
  const ds = await readRepoYaml<{ datasources: Array<{ uid: string; type: string }> }>(
    FILES.grafanaDatasources,
  );
  assertEquals(ds.datasources.length, 1);
  assertEquals(ds.datasources[0]!.type, "prometheus");
  return ds.datasources[0]!.uid;
}

async function loadDashboard(): Promise<Dashboard> {
  return JSON.parse(await readRepoText(FILES.overviewDashboard)) as Dashboard;
}

/** Every value stored under a `datasource` key anywhere in the document. */
function datasourceRefs(node: unknown, path = "$"): Array<{ path: string; ref: unknown }> {
  if (Array.isArray(node)) return node.flatMap((n, i) => datasourceRefs(n, `${path}[${i}]`));
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => [
    ...(k === "datasource" ? [{ path: `${path}.${k}`, ref: v }] : []),
    ...datasourceRefs(v, `${path}.${k}`),
  ]);
}

Deno.test("dashboards: every JSON under monitoring/grafana/dashboards parses and has a uid", async () => {
  const uids = new Set<string>();
  for await (const entry of Deno.readDir(repoPath(FILES.grafanaDashboardsDir))) {
    if (!entry.name.endsWith(".json")) continue;
    const d = JSON.parse(
      await Deno.readTextFile(repoPath(`${FILES.grafanaDashboardsDir}/${entry.name}`)),
    ) as Dashboard;
    assert(typeof d.uid === "string" && d.uid.length > 0, `${entry.name}: no uid`);
    assert(!uids.has(d.uid), `${entry.name}: duplicate uid ${d.uid}`);
    uids.add(d.uid);
  }
  assert(uids.has("payment-overview"));
});

Deno.test("payment-overview: schemaVersion, title and unique panel ids", async () => {
  const d = await loadDashboard();
  assert(
    Number.isInteger(d.schemaVersion) && d.schemaVersion >= 36,
    `schemaVersion ${d.schemaVersion}`,
  );
  assertEquals(d.title, "Payment Overview");
  const ids = allPanels(d.panels).map((p) => (p as Panel).id);
  assert(
    ids.every((id) => Number.isInteger(id) && id > 0),
    "every panel needs a positive integer id",
  );
  assertEquals(ids.length, new Set(ids).size, `duplicate panel ids in ${ids.join(",")}`);
});

Deno.test("payment-overview: every datasource reference is the provisioned Prometheus uid", async () => {
  const uid = await provisionedUid();
  const d = await loadDashboard();
  const refs = datasourceRefs(d);
  assert(
    refs.length > 20,
    `expected datasource references on panels and targets, found ${refs.length}`,
  );
  const wrong = refs.filter(({ ref }) =>
    JSON.stringify(ref) !== JSON.stringify({ type: "prometheus", uid })
  );
  assertEquals(wrong, []);
  for (const p of allPanels(d.panels) as Panel[]) {
    if (p.type === "row") continue;
    assert(p.datasource, `panel ${p.id} "${p.title}" has no datasource`);
    assert((p.targets ?? []).length > 0, `panel ${p.id} "${p.title}" has no query`);
  }
});

Deno.test("payment-overview: a Circuit Breaker State row with one green/grey tile per state", async () => {
  const d = await loadDashboard();
  const row = d.panels.find((p) => p.type === "row" && p.title === "Circuit Breaker State");
  if (!row) throw new Error('no row titled "Circuit Breaker State"');
  const tiles = d.panels.filter((p) => p.type === "stat" && p.gridPos.y === row.gridPos.y + 1);
  for (const state of BREAKER_STATES) {
    const tile = tiles.find((p) =>
      (p.targets ?? []).some((t) =>
        /resilience4j_circuitbreaker_state\{/.test(t.expr ?? "") &&
        (t.expr ?? "").includes(`state="${state}"`) &&
        (t.expr ?? "").includes('name="$breaker"')
      )
    );
    if (!tile) throw new Error(`no tile under the row for state ${state}`);
    assertEquals(tile.title, state.toUpperCase());
    assertEquals(tile.options?.colorMode, "background", `${state}: colour the tile background`);
    const mapping = tile.fieldConfig?.defaults?.mappings?.find((m) => m.type === "value");
    assertEquals(mapping?.options["1"]?.color, "green", `${state}: 1 must map to green`);
    assert(GREYS.test(mapping?.options["0"]?.color ?? ""), `${state}: 0 must map to grey`);
    const steps = tile.fieldConfig?.defaults?.thresholds?.steps ?? [];
    assert(GREYS.test(steps[0]?.color ?? ""), `${state}: base threshold must be grey`);
    assert(steps.some((s) => s.value === 1 && s.color === "green"), `${state}: 1 must be green`);
  }
  assertEquals(tiles.length, BREAKER_STATES.length, "one tile per state, nothing else on the row");
});

Deno.test("payment-overview: the operator panels are there", async () => {
  const d = await loadDashboard();
  const exprs = (allPanels(d.panels) as Panel[]).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p, expr: t.expr ?? "" }))
  );
  const uses = (metric: string) =>
    exprs.filter((e) => metricNamesFromPromQL(e.expr).includes(metric));
  for (
    const metric of [
      "resilience4j_circuitbreaker_failure_rate",
      "resilience4j_circuitbreaker_slow_call_rate",
      "resilience4j_circuitbreaker_not_permitted_calls_total",
      "resilience4j_circuitbreaker_calls_seconds_count",
      "resilience4j_circuitbreaker_buffered_calls",
      "resilience4j_circuitbreaker_slow_calls",
      "circuitbreaker_transitions_total",
      "outbox_pending_events",
      "outbox_oldest_pending_age_seconds",
      "outbox_dead_lettered_events",
      "outbox_accepted_total",
      "outbox_published_total",
      "http_requests_total",
      "http_request_duration_seconds_bucket",
      "kafka_publish_duration_seconds_bucket",
      "payment_consumer_lag",
      "payment_consumer_messages_total",
      "payment_consumer_duplicates_dropped_total",
      "payment_consumer_last_processed_timestamp_seconds",
      "settlement_events_applied_total",
      "settlement_lag_records",
      "settlement_lag_seconds",
      "settlement_exceptions_total",
      "settlement_duplicates_ignored_total",
      "settlement_held_events",
      "settlement_reconciliation_differences",
      "settlement_last_close_timestamp_seconds",
      "settlement_close_overdue_days",
    ]
  ) {
    assert(uses(metric).length > 0, `no panel queries ${metric}`);
  }
  for (const q of ["0.5", "0.99"]) {
    for (
      const h of ["http_request_duration_seconds_bucket", "kafka_publish_duration_seconds_bucket"]
    ) {
      assert(
        uses(h).some((e) => e.expr.startsWith(`histogram_quantile(${q},`)),
        `no p${Number(q) * 100} of ${h}`,
      );
    }
  }
  // Threshold lines on the rate panels: slow-call alert (30) and breaker threshold (50).
  const slow = uses("resilience4j_circuitbreaker_slow_call_rate")[0]!.panel;
  assertEquals(slow.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode, "line");
  const lines = (slow.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s) => s.value);
  assert(lines.includes(30) && lines.includes(50), `slow-call threshold lines: ${lines}`);
  const failure = uses("resilience4j_circuitbreaker_failure_rate")[0]!.panel;
  assertEquals(failure.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode, "line");
});

Deno.test("payment-overview: a breaker variable fed from resilience4j_circuitbreaker_state", async () => {
  const d = await loadDashboard();
  const v = d.templating.list.find((x) => x.name === "breaker");
  if (!v) throw new Error("no breaker variable");
  assert(JSON.stringify(v.query).includes("label_values(resilience4j_circuitbreaker_state, name)"));
  assert(
    JSON.stringify(d.panels).includes('name=\\"$breaker\\"'),
    "panels must filter on the breaker variable",
  );
});

Deno.test("payment-overview: the consumer lag panel counts each partition once across replicas", async () => {
  const d = await loadDashboard();
  const lag = (allPanels(d.panels) as Panel[]).flatMap((p) => p.targets ?? [])
    .map((t) => t.expr ?? "").filter((e) =>
      metricNamesFromPromQL(e).includes("payment_consumer_lag")
    );
  assert(lag.length > 0, "no panel queries payment_consumer_lag");
  for (const expr of lag) {
    assert(
      /max by \(group, topic, partition\) \(payment_consumer_lag/.test(expr),
      `every consumer replica reports every partition: take the max per partition first: ${expr}`,
    );
  }
});

Deno.test("payment-overview: the settlement panels sit in a Settlement row and count each replica's gauges once", async () => {
  const d = await loadDashboard();
  const row = d.panels.find((p) => p.type === "row" && p.title === "Settlement");
  if (!row) throw new Error('no row titled "Settlement"');
  const nextRow = Math.min(
    ...d.panels.filter((p) => p.type === "row" && p.gridPos.y > row.gridPos.y).map((p) =>
      p.gridPos.y
    ),
  );
  const settlement = new Set(
    METRICS.filter((m) => m.source === "payment-settlement").map((m) => m.name),
  );
  // Every replica reports these for the whole topic and ledger, or the closer's value: a sum over
  // replicas would multiply them.
  const perProcess = new Set([
    "settlement_held_events",
    "settlement_lag_records",
    "settlement_lag_seconds",
    "settlement_reconciliation_differences",
    "settlement_close_overdue_days",
    "settlement_last_close_timestamp_seconds",
    "settlement_last_clean_close_timestamp_seconds",
  ]);
  const problems: string[] = [];
  let found = 0;
  for (const p of allPanels(d.panels) as Panel[]) {
    for (const t of p.targets ?? []) {
      const names = metricNamesFromPromQL(t.expr ?? "");
      if (!names.some((n) => settlement.has(n))) continue;
      found++;
      if (!(p.gridPos.y > row.gridPos.y && p.gridPos.y < nextRow)) {
        problems.push(`panel ${p.id} "${p.title}" is outside the Settlement row`);
      }
      if (names.some((n) => perProcess.has(n)) && /\b(sum|count)\b/.test(t.expr ?? "")) {
        problems.push(`panel ${p.id} "${p.title}": take the max over replicas: ${t.expr}`);
      }
    }
  }
  assert(found >= 9, `only ${found} settlement queries`);
  assertEquals(problems, []);
});

Deno.test("payment-overview: an instance variable lists every payment-ingest replica; service panels filter by it", async () => {
  const d = await loadDashboard();
  const v = d.templating.list.find((x) => x.name === "instance") as
    | { query?: unknown; multi?: boolean; includeAll?: boolean; allValue?: string }
    | undefined;
  if (!v) throw new Error("no instance variable");
  assert(
    JSON.stringify(v.query).includes('label_values(up{job=\\"payment-ingest\\"}, instance)'),
    JSON.stringify(v.query),
  );
  assertEquals([v.multi, v.includeAll, v.allValue], [true, true, ".*"]);
  const service = new Set(
    METRICS.filter((m) => m.source === "payment-ingest").flatMap((m) =>
      m.type === "histogram" ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`] : [m.name]
    ),
  );
  const unfiltered = (allPanels(d.panels) as Panel[]).flatMap((p) =>
    (p.targets ?? []).filter((t) =>
      metricNamesFromPromQL(t.expr ?? "").some((n) => service.has(n)) &&
      !(t.expr ?? "").includes('instance=~"$instance"')
    ).map((t) => `panel ${p.id} "${p.title}": ${t.expr}`)
  );
  assertEquals(unfiltered, []);
});

Deno.test("payment-overview: panels fit the 24-column grid and do not overlap", async () => {
  const d = await loadDashboard();
  const panels = allPanels(d.panels) as Panel[];
  const problems: string[] = [];
  for (const p of panels) {
    const g = p.gridPos;
    if (g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1) {
      problems.push(`panel ${p.id} outside the grid`);
    }
  }
  for (let i = 0; i < panels.length; i++) {
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i]!.gridPos;
      const b = panels[j]!.gridPos;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
        problems.push(`panels ${panels[i]!.id} and ${panels[j]!.id} overlap`);
      }
    }
  }
  assertEquals(problems, []);
});
