import { assert, assertEquals } from "@std/assert";
import {
  alertCaseCounts,
  type AlertRule,
  loadAlertRules,
  loadAlertTests,
  markdownAnchors,
  type RuleFile,
  RUNBOOK_BASE,
} from "./alerts_model.ts";
import { FILES, readRepoText, repoPath } from "./paths.ts";
import { assertSucceeded, missingTool, requireTool, run } from "./tools.ts";
import { parseYaml, readRepoYaml, stringifyYaml } from "./yaml.ts";

const noPromtool = missingTool("promtool");

Deno.test({
  name: "promtool check config accepts prometheus.yml and its rule files",
  ignore: noPromtool,
  async fn() {
    requireTool("promtool", "prometheus");
    const r = await run("promtool", ["check", "config", FILES.prometheusConfig]);
    assertSucceeded(r, "promtool check config");
    assert(/SUCCESS: 1 rule files found/.test(r.stdout + r.stderr), r.stdout + r.stderr);
  },
});

Deno.test({
  name: "promtool check rules accepts alerts.yml",
  ignore: noPromtool,
  async fn() {
    requireTool("promtool", "prometheus");
    const r = await run("promtool", ["check", "rules", FILES.alertRules]);
    assertSucceeded(r, "promtool check rules");
    const rules = await loadAlertRules();
    assert(r.stdout.includes(`SUCCESS: ${rules.length} rules found`), r.stdout);
  },
});

Deno.test({
  name: "promtool test rules: alerts_test.yml passes",
  ignore: noPromtool,
  async fn() {
    requireTool("promtool", "prometheus");
    const r = await run("promtool", ["test", "rules", FILES.alertTests]);
    assertSucceeded(r, "promtool test rules");
  },
});

Deno.test("every alert has a firing and a not-firing case in alerts_test.yml", async () => {
  const rules = await loadAlertRules();
  const counts = alertCaseCounts(await loadAlertTests());
  const problems: string[] = [];
  for (const rule of rules) {
    const c = counts.get(rule.alert);
    if (!c || c.firing === 0) problems.push(`${rule.alert}: no case where it fires`);
    if (!c || c.notFiring === 0) problems.push(`${rule.alert}: no case where it must not fire`);
  }
  const known = new Set(rules.map((r) => r.alert));
  for (const name of counts.keys()) {
    if (!known.has(name)) problems.push(`alerts_test.yml tests unknown alert ${name}`);
  }
  assertEquals(problems, []);
});

Deno.test("alerts_test.yml loads alerts.yml and nothing else", async () => {
  const tests = await loadAlertTests();
  assertEquals(tests.rule_files, ["alerts.yml"]);
});

Deno.test("alerts cover the required conditions", async () => {
  const rules = await loadAlertRules();
  const byName = new Map(rules.map((r) => [r.alert, r]));
  const required: Array<[string, RegExp, string | undefined]> = [
    [
      "CircuitBreakerSlowCallRateHigh",
      /resilience4j_circuitbreaker_slow_call_rate\)?\s*>\s*30\b/,
      "2m",
    ],
    ["CircuitBreakerOpenTooLong", /state=~"open\|forced_open"/, "5m"],
    [
      "OutboxOldestPendingEventTooOld",
      /outbox_oldest_pending_age_seconds\)?\s*>\s*300\b/,
      undefined,
    ],
    ["OutboxBacklogGrowing", /deriv\(outbox_pending_events\[10m\]\)/, undefined],
    [
      "KafkaConsumerLagHigh",
      /sum by \(group, topic\) \(max by \(group, topic, partition\) \(payment_consumer_lag\)\)/,
      "5m",
    ],
    // The consumer gone, not its lag series: an idle consumer may report none (issue 23).
    ["ConsumerLagMetricAbsent", /^absent\(up\{job="payment-consumer"\} == 1\)$/, "3m"],
    ["PaymentIngestDown", /absent\(up\{job="payment-ingest"\}\)/, undefined],
    [
      "SettlementReconciliationDifference",
      /^max by \(job\) \(settlement_reconciliation_differences\) > 0$/,
      "1m",
    ],
    // Every settlement replica reports the whole topic's lag: max over replicas, never a sum.
    ["SettlementLagHigh", /max by \(job\) \(settlement_lag_seconds\) > 300\b/, "5m"],
    ["SettlementLagHigh", /max by \(job\) \(settlement_lag_records\) > 1000\b/, "5m"],
    ["SettlementCloseMissed", /max by \(job\) \(settlement_close_overdue_days\) > 0\b/, "10m"],
    [
      "SettlementCloseMissed",
      /time\(\) - max by \(job\) \(settlement_last_close_timestamp_seconds > 0\) > 26 \* 3600/,
      "10m",
    ],
    ["SettlementDown", /absent\(up\{job="payment-settlement"\}\)/, undefined],
  ];
  for (const [name, pattern, forDuration] of required) {
    const rule = byName.get(name);
    if (!rule) throw new Error(`alert ${name} is missing`);
    assert(pattern.test(rule.expr), `${name}: expr ${rule.expr} does not match ${pattern}`);
    if (forDuration) assertEquals(rule.for, forDuration, `${name}: for`);
  }
  // The 5xx share of the ingest route only: every http_requests_total selector names it.
  const errors = byName.get("PaymentIngestHighErrorRate")!;
  const selectors = [...errors.expr.matchAll(/http_requests_total\{([^}]*)\}/g)].map((m) => m[1]!);
  assertEquals(selectors.length, 2, errors.expr);
  for (const sel of selectors) {
    assert(
      sel.includes('method="POST"') && sel.includes('route="/payments"'),
      `PaymentIngestHighErrorRate counts more than POST /payments: {${sel}}`,
    );
  }
});

Deno.test("every alert has a unique name, a severity, a summary, a description and a runbook", async () => {
  const rules = await loadAlertRules();
  const guide = markdownAnchors(await readRepoText(FILES.guide));
  const names = new Set<string>();
  const problems: string[] = [];
  for (const r of rules) {
    if (names.has(r.alert)) problems.push(`${r.alert}: duplicate name`);
    names.add(r.alert);
    if (!["critical", "warning", "info"].includes(r.labels?.severity ?? "")) {
      problems.push(`${r.alert}: severity label must be critical, warning or info`);
    }
    for (const a of ["summary", "description", "runbook_url"]) {
      if (!r.annotations?.[a]?.trim()) problems.push(`${r.alert}: annotation ${a} missing`);
    }
    const url = r.annotations?.runbook_url ?? "";
    if (!url.startsWith(RUNBOOK_BASE)) {
      problems.push(`${r.alert}: runbook_url must start with ${RUNBOOK_BASE}`);
    } else if (!guide.has(url.slice(RUNBOOK_BASE.length))) {
      problems.push(
        `${r.alert}: CIRCUIT_BREAKER_GUIDE.md has no heading #${url.slice(RUNBOOK_BASE.length)}`,
      );
    }
  }
  assertEquals(problems, []);
});

interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  static_configs?: Array<{ targets: string[] }>;
  dns_sd_configs?: Array<{ names: string[]; type?: string; port?: number }>;
  relabel_configs?: Array<{ target_label?: string; replacement?: string; action?: string }>;
}

Deno.test("prometheus.yml discovers every service, consumer and settlement replica, scrapes kafka-exporter and itself, alerts to alertmanager", async () => {
  const cfg = await readRepoYaml<{
    rule_files: string[];
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    scrape_configs: ScrapeJob[];
  }>(FILES.prometheusConfig);
  assertEquals(cfg.rule_files, ["alerts.yml"]);
  const byName = new Map(cfg.scrape_configs.map((s) => [s.job_name, s]));
  const statics = (job: string) =>
    (byName.get(job)?.static_configs ?? []).flatMap((c) => c.targets);
  // `docker compose up --scale payment-ingest=3`: a static target would be one replica, chosen
  // by Docker's DNS round robin at each scrape; DNS discovery makes each replica a target.
  const discovered = [
    ["payment-ingest", 8080],
    ["payment-consumer", 8081],
    ["payment-settlement", 8082],
  ] as const;
  for (const [job, port] of discovered) {
    const s = byName.get(job);
    if (!s) throw new Error(`no ${job} job`);
    assertEquals(s.static_configs, undefined, `${job}: static targets would see one replica`);
    assertEquals(s.dns_sd_configs, [{ names: [job], type: "A", port, refresh_interval: "15s" }]);
    assertEquals(s.metrics_path ?? "/metrics", "/metrics");
    const service = (s.relabel_configs ?? []).find((r) => r.target_label === "service");
    assertEquals(service?.replacement, job, `${job}: keeps a service label`);
  }
  assertEquals(statics("kafka-exporter"), ["kafka-exporter:9308"]);
  assertEquals(statics("prometheus"), ["localhost:9090"]);
  assertEquals(
    cfg.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets)),
    [
      "alertmanager:9093",
    ],
  );
});

/** Writes alerts.yml with one rule's expr replaced, plus the unit tests, to a temporary folder. */
async function mutatedCopy(alert: string, expr: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "alerts-mutant-" });
  const file = parseYaml(await readRepoText(FILES.alertRules)) as RuleFile;
  let found = false;
  for (const g of file.groups) {
    for (const r of g.rules) {
      if ("alert" in r && (r as AlertRule).alert === alert) {
        r.expr = expr;
        found = true;
      }
    }
  }
  assert(found, `alert ${alert} not found`);
  await Deno.writeTextFile(`${dir}/alerts.yml`, stringifyYaml(file));
  await Deno.copyFile(repoPath(FILES.alertTests), `${dir}/alerts_test.yml`);
  return dir;
}

/** Failure blocks of `promtool test rules` output, one per failed alert_rule_test. */
function failedCases(
  output: string,
): Array<{ alertname: string; expectedNone: boolean; gotNone: boolean }> {
  return output.split(/\n(?=\s+name: )/).flatMap((block) => {
    const m = /alertname: ([^,\s]+),/.exec(block);
    if (!m) return [];
    return [{
      alertname: m[1]!,
      expectedNone: /exp:\[\],/.test(block),
      gotNone: /got:\[\]/.test(block),
    }];
  });
}

Deno.test({
  name: "alerts_test.yml catches each alert that never fires and each alert that always fires",
  ignore: noPromtool,
  async fn(t) {
    requireTool("promtool", "prometheus");
    const rules = await loadAlertRules();
    for (const rule of rules) {
      // A rule that returns nothing must break one of its firing cases (expected alerts, got
      // none); a rule that returns a series at every evaluation must break one of its
      // not-firing cases (expected none, got an alert).
      const mutants: Array<
        [string, string, (c: ReturnType<typeof failedCases>[number]) => boolean]
      > = [
        ["never fires", "vector(0) > 1", (c) => c.gotNone && !c.expectedNone],
        ["always fires", "vector(1)", (c) => c.expectedNone && !c.gotNone],
      ];
      for (const [kind, expr, caught] of mutants) {
        await t.step(`${rule.alert} ${kind}`, async () => {
          const dir = await mutatedCopy(rule.alert, expr);
          try {
            const r = await run("promtool", ["test", "rules", "alerts_test.yml"], { cwd: dir });
            assert(r.code !== 0, `promtool test rules still passes when ${rule.alert} ${kind}`);
            const cases = failedCases(r.stdout + r.stderr).filter((c) =>
              c.alertname === rule.alert
            );
            assert(
              cases.some(caught),
              `no test case of ${rule.alert} caught the mutant that ${kind}:\n${r.stderr}`,
            );
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        });
      }
    }
  },
});
